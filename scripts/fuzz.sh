#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan+UBSan, in build-asan/; the gcc
# build in build/ is untouched) and runs each for a bounded time:
#   bash scripts/fuzz.sh                       # every target, 30 s each (what CI runs)
#   bash scripts/fuzz.sh 600 kafka_request     # one target, 10 minutes
# Targets are tests/fuzz/<name>.cpp. Each run starts from the checked-in
# seeds (tests/fuzz/corpus/<name>/, replayed first, so a saved crash input
# there is a regression test) plus what earlier runs found
# (build-asan/fuzz-corpus/<name>/). Any crash, sanitizer report, leak,
# timeout or out-of-memory fails the script; the input that caused it is
# saved in build-asan/fuzz-artifacts/<name>/ and its path printed. Targets
# run two at a time (the reference machine has 2 cores); KEEL_FUZZ_JOBS
# changes that.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${1:-30}"
shift || true
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ]; then
  echo "usage: scripts/fuzz.sh [seconds-per-target] [target...]" >&2
  exit 2
fi
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in "$root"/tests/fuzz/*.cpp; do
    grep -q LLVMFuzzerTestOneInput "$f" && targets+=("$(basename "$f" .cpp)")
  done
fi

# The fuzzers share build-asan/ with the ASan integration tests.
build="$root/build-asan"
bash "$root/scripts/configure-sanitizer-build.sh" asan
cmake --build "$build" -j2 --target "${targets[@]/#/fuzz_}"

# UBSan reports must stop the run like ASan's do.
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export ASAN_OPTIONS="detect_leaks=1:strict_string_checks=1"

run_one() {
  local t="$1"
  local corpus="$build/fuzz-corpus/$t" artifacts="$build/fuzz-artifacts/$t" log="$build/fuzz-logs/$t.log"
  mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
  local dict=()
  case "$t" in
    config) dict=(-dict="$root/tests/fuzz/toml.dict") ;;
    http_request) dict=(-dict="$root/tests/fuzz/json.dict") ;;
  esac
  # -malloc_limit_mb: a single allocation this large from inputs of at most
  # -max_len bytes is an allocation bomb, reported as a crash.
  if "$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -malloc_limit_mb=512 -max_len=16384 -print_final_stats=1 "${dict[@]}" \
    -artifact_prefix="$artifacts/" "$corpus" "$root/tests/fuzz/corpus/$t" >"$log" 2>&1; then
    echo "fuzz: $t: no failure in ${seconds}s ($(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$log" |
      grep -o '[0-9]*$') inputs, corpus $(find "$corpus" -type f | wc -l) files)"
  else
    echo "fuzz: $t FAILED; input saved as:" >&2
    grep -h 'Test unit written to' "$log" | sed 's/.*written to /  /' >&2 || true
    echo "---- $log (tail) ----" >&2
    tail -n 60 "$log" >&2
    return 1
  fi
}

jobs_max="${KEEL_FUZZ_JOBS:-2}"
status_dir="$(mktemp -d)"
trap 'rm -rf "$status_dir"' EXIT
for t in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do sleep 0.2; done
  (run_one "$t" || touch "$status_dir/$t") &
done
wait
if [ -n "$(ls -A "$status_dir")" ]; then
  echo "fuzz: failed: $(ls "$status_dir" | tr '\n' ' ')" >&2
  exit 1
fi
echo "fuzz: ${#targets[@]} targets, ${seconds}s each, no failure"
