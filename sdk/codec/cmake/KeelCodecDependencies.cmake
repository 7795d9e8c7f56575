# The system codec libraries behind Keel::codec. Included both when Keel is
# built and from the installed KeelSDKConfig.cmake, so an out-of-tree plugin
# linking Keel::codec gets the same imported targets. liblz4 ships no CMake
# package on Debian 12, so all three non-zlib codecs come from pkg-config
# for one consistent way to find them.
include(CMakeFindDependencyMacro)
find_dependency(ZLIB)
find_dependency(PkgConfig)
foreach(_keel_codec_dep IN ITEMS snappy liblz4 libzstd)
  string(TOUPPER "KEEL_CODEC_${_keel_codec_dep}" _keel_codec_prefix)
  if(NOT TARGET PkgConfig::${_keel_codec_prefix})
    # GLOBAL: the static Keel::codec carries these into every target that
    # links it, in any directory.
    pkg_check_modules(${_keel_codec_prefix} REQUIRED IMPORTED_TARGET GLOBAL ${_keel_codec_dep})
  endif()
endforeach()
unset(_keel_codec_dep)
unset(_keel_codec_prefix)
