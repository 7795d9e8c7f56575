#!/usr/bin/env bash
# Builds the broker, keel-tool, the plugins and the integration clients with
# clang under a sanitizer, in its own build directory (the normal gcc build
# in build/ is untouched; build-asan/ also holds the fuzzers, see
# scripts/configure-sanitizer-build.sh), and runs the integration suite
# against it:
#   bash scripts/sanitize.sh asan   # ASan + UBSan, in build-asan/
#   bash scripts/sanitize.sh tsan   # TSan, in build-tsan/
# Extra arguments go to ctest (e.g. -R kafka_data). Any sanitizer report
# stops the process that made it with a non-zero status and the report on
# its stderr, which the harness puts in the failing test's output, so the
# test fails.
set -euo pipefail

kind="${1:-}"
shift || true
case "$kind" in
  asan | tsan) ;;
  *)
    echo "usage: scripts/sanitize.sh asan|tsan [ctest arguments...]" >&2
    exit 2
    ;;
esac

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$root/build-$kind"
bash "$root/scripts/configure-sanitizer-build.sh" "$kind"
# What the integration tests run; the unit-test executable is not needed.
targets=(keel keel-tool keel_builtin_plugins keel_codec)
if grep -q '^RDKAFKA_FOUND:INTERNAL=1' "$build/CMakeCache.txt"; then
  targets+=(keel_it_idempotent_producer)
fi
cmake --build "$build" -j2 --target "${targets[@]}"

# halt_on_error: the first report ends the process (non-zero exit), so a
# test cannot pass over it. Leak checking stays on for ASan: the broker
# exits cleanly at the end of each test.
common="halt_on_error=1:print_stacktrace=1"
export ASAN_OPTIONS="$common:abort_on_error=0:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1"
export UBSAN_OPTIONS="$common"
export TSAN_OPTIONS="$common:second_deadlock_stack=1"
exec ctest --test-dir "$build" -L integration --output-on-failure -j2 --timeout 900 "$@"
