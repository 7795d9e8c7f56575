#!/usr/bin/env bash
# Configures the clang sanitizer build directory of one kind, if it is not
# configured yet (used by scripts/sanitize.sh and scripts/fuzz.sh):
#   bash scripts/configure-sanitizer-build.sh asan   # build-asan/: ASan+UBSan
#   bash scripts/configure-sanitizer-build.sh tsan   # build-tsan/: TSan
# build-asan/ also holds the libFuzzer targets (KEEL_BUILD_FUZZERS adds
# libFuzzer's coverage instrumentation to everything in it), so that the
# fuzzers and the broker the ASan integration tests run share one build:
# CI builds each file once under ASan instead of twice.
set -euo pipefail

kind="${1:-}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
case "$kind" in
  asan) options=(-DKEEL_SANITIZE=address -DKEEL_BUILD_FUZZERS=ON) ;;
  tsan) options=(-DKEEL_SANITIZE=thread -DKEEL_BUILD_FUZZERS=OFF) ;;
  *)
    echo "usage: scripts/configure-sanitizer-build.sh asan|tsan" >&2
    exit 2
    ;;
esac
build="$root/build-$kind"
cache="$build/CMakeCache.txt"
# A build-asan/ from before the fuzzers moved in lacks them: configure again.
if [ -f "$cache" ] && { [ "$kind" != asan ] || grep -q '^KEEL_BUILD_FUZZERS:BOOL=ON' "$cache"; }; then
  exit 0
fi
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 "${launcher[@]}" \
  "${options[@]}" -DKEEL_BUILD_TESTS=ON -DKEEL_BUILD_BENCH=OFF
