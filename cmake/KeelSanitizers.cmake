# Sanitizer and fuzzer builds (clang only), each in its own build directory
# so that the normal gcc build is untouched:
#   -DKEEL_SANITIZE=address   ASan + UBSan for everything (scripts/sanitize.sh asan)
#   -DKEEL_SANITIZE=thread    TSan for everything (scripts/sanitize.sh tsan)
#   -DKEEL_BUILD_FUZZERS=ON   the libFuzzer targets in tests/fuzz, with ASan +
#                             UBSan and coverage instrumentation (scripts/fuzz.sh)
# Whether a report fails the run is decided at run time by ASAN_OPTIONS,
# UBSAN_OPTIONS and TSAN_OPTIONS (halt_on_error), which the scripts set.
set(KEEL_SANITIZE "" CACHE STRING "Sanitize the whole build: address (ASan+UBSan) or thread (TSan); clang only")
set_property(CACHE KEEL_SANITIZE PROPERTY STRINGS "" address thread)
if(KEEL_BUILD_FUZZERS AND NOT KEEL_SANITIZE)
  set(KEEL_SANITIZE address)
endif()
if(KEEL_BUILD_FUZZERS AND NOT KEEL_SANITIZE STREQUAL "address")
  message(FATAL_ERROR "KEEL_BUILD_FUZZERS needs KEEL_SANITIZE=address (the fuzzers run under ASan+UBSan)")
endif()

if(KEEL_SANITIZE)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang" OR NOT CMAKE_C_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "KEEL_SANITIZE and KEEL_BUILD_FUZZERS need clang: configure a separate build "
                        "directory with -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14")
  endif()
  if(KEEL_SANITIZE STREQUAL "address")
    set(_keel_sanitizers -fsanitize=address,undefined)
  elseif(KEEL_SANITIZE STREQUAL "thread")
    set(_keel_sanitizers -fsanitize=thread)
  else()
    message(FATAL_ERROR "KEEL_SANITIZE=${KEEL_SANITIZE}: expected address or thread")
  endif()
  # Frame pointers give whole stacks in reports at no real cost here.
  add_compile_options(${_keel_sanitizers} -fno-omit-frame-pointer)
  add_link_options(${_keel_sanitizers})
endif()
if(KEEL_BUILD_FUZZERS)
  # Coverage for libFuzzer in every library the targets link; only the
  # targets themselves link libFuzzer's main (-fsanitize=fuzzer).
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
