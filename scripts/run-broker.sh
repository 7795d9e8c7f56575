#!/usr/bin/env bash
# Installs the dependencies (needs root on a fresh machine), builds, and runs
# the broker in the foreground on config/keel.toml with its data in ./data.
# Extra arguments go to the broker, e.g.:
#   bash scripts/run-broker.sh --log-level debug
#   bash scripts/run-broker.sh --set topic_defaults.partitions=3
# Stop it with Ctrl-C (SIGINT) or SIGTERM: both shut down cleanly.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/install-deps.sh
bash scripts/build.sh
exec build/kernel/keel --config config/keel.toml "$@"
