#!/usr/bin/env bash
# Installs the dependencies (needs root on a fresh machine), builds everything
# including the tests, and runs, in this order:
#   1. every libFuzzer target for a bounded time under ASan+UBSan
#      (scripts/fuzz.sh; KEEL_CI_FUZZ_SECONDS per target, default 30);
#   2. the integration tests of hostile input and damaged data against an
#      ASan+UBSan build of the broker (scripts/sanitize.sh asan; the set is
#      KEEL_CI_SANITIZE_TESTS; skipped with KEEL_CI_SANITIZE=0);
#   3. the whole suite with ctest on the normal build: the unit tests and the
#      integration tests that start the real broker.
# Every step runs even when an earlier one failed; the exit status is
# non-zero if any failed. ctest's summary of step 3 comes last.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/install-deps.sh
bash scripts/build.sh -DKEEL_BUILD_TESTS=ON

failed=()
step() {
  local name="$1" start=$SECONDS
  shift
  echo "==== $name"
  if "$@"; then
    echo "==== $name: passed in $((SECONDS - start)) s"
  else
    echo "==== $name: FAILED after $((SECONDS - start)) s"
    failed+=("$name")
  fi
}
step fuzz bash scripts/fuzz.sh "${KEEL_CI_FUZZ_SECONDS:-30}"
if [ "${KEEL_CI_SANITIZE:-1}" != 0 ]; then
  # The integration tests that drive hostile input and damaged data through
  # the broker, crashes (also over recycled segment files), replication between
  # three brokers, and authorization (hostile ACL requests; the ACL store under
  # concurrent checks); the whole integration suite under ASan is
  # `bash scripts/sanitize.sh asan` (longer than CI's time budget allows).
  step "integration under ASan+UBSan" bash scripts/sanitize.sh asan \
    -R "${KEEL_CI_SANITIZE_TESTS:-kafka_bad_input|http_test|storage_damage|kafka_data|crash_recovery|recycle_crash|malformed_input_log|cluster_replication|authz_test}"
fi
step "unit and integration tests" ctest --test-dir build --output-on-failure -j2 --timeout 600
if [ ${#failed[@]} -gt 0 ]; then
  echo "run-tests: failed: ${failed[*]}" >&2
  exit 1
fi
