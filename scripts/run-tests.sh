#!/usr/bin/env bash
# Installs the dependencies (needs root on a fresh machine), builds everything
# including the tests, and runs the whole suite with ctest: the unit tests and
# the integration tests that start the real broker. Exits with ctest's status.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/install-deps.sh
bash scripts/build.sh -DKEEL_BUILD_TESTS=ON
exec ctest --test-dir build --output-on-failure -j2 --timeout 600
