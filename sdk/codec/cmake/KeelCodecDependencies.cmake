# The system codec libraries behind Keel::codec. Included both when Keel is
# built (which requires them) and from the installed KeelSDKConfig.cmake only
# when a plugin asks for the `codec` component, so a plugin that does not
# link Keel::codec needs neither pkg-config nor the codec dev packages.
# liblz4 ships no CMake package on Debian 12, so all three non-zlib codecs
# come from pkg-config for one consistent way to find them.
#
# Sets KEEL_CODEC_DEPENDENCIES_FOUND, and KEEL_CODEC_DEPENDENCIES_MISSING to
# the list of what was not found. Never fails by itself: the includer decides.
set(KEEL_CODEC_DEPENDENCIES_MISSING "")
find_package(ZLIB QUIET)
if(NOT ZLIB_FOUND)
  list(APPEND KEEL_CODEC_DEPENDENCIES_MISSING zlib)
endif()
find_package(PkgConfig QUIET)
if(NOT PKG_CONFIG_FOUND)
  list(APPEND KEEL_CODEC_DEPENDENCIES_MISSING pkg-config)
else()
  foreach(_keel_codec_dep IN ITEMS snappy liblz4 libzstd)
    string(TOUPPER "KEEL_CODEC_${_keel_codec_dep}" _keel_codec_prefix)
    if(NOT TARGET PkgConfig::${_keel_codec_prefix})
      # GLOBAL: the static Keel::codec carries these into every target that
      # links it, in any directory.
      pkg_check_modules(${_keel_codec_prefix} QUIET IMPORTED_TARGET GLOBAL ${_keel_codec_dep})
      if(NOT ${_keel_codec_prefix}_FOUND)
        list(APPEND KEEL_CODEC_DEPENDENCIES_MISSING ${_keel_codec_dep})
      endif()
    endif()
  endforeach()
  unset(_keel_codec_dep)
  unset(_keel_codec_prefix)
endif()
if(KEEL_CODEC_DEPENDENCIES_MISSING)
  set(KEEL_CODEC_DEPENDENCIES_FOUND FALSE)
else()
  set(KEEL_CODEC_DEPENDENCIES_FOUND TRUE)
endif()
# What to install on Debian/Ubuntu; named in the messages of both includers.
set(KEEL_CODEC_DEPENDENCIES_HINT "apt-get install pkg-config zlib1g-dev libsnappy-dev liblz4-dev libzstd-dev")
