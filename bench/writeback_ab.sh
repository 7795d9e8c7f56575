#!/usr/bin/env bash
# The segment-roll tail, with and without incremental writeback, side by side.
#
# Runs one broker (core 1) and keel-load (core 0) closed loop, acks=1, a
# topic with flush_mode "os" and the default 1 GiB segments, alternating
# [broker] writeback_bytes = 0 (off) and 1048576 (the default) for ROUNDS
# rounds, so both see the same machine load. Each run writes several GiB,
# so each crosses several segment rolls; the broker logs how long each roll
# took ("rolled to new segment ... in X ms"), printed after each run.
#
#   bash bench/writeback_ab.sh [--build-dir DIR] [--size BYTES] [--window N]
#                              [--duration S] [--rounds N]
#
# Asserts nothing; prints one line per run (and the machine's longest stall
# on each core meanwhile, keel-hiccup). Needs a built tree
# (bash scripts/build.sh) and taskset.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$root/build"
size=1024
window=1000
duration=12
rounds=3
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build-dir) build="$2"; shift 2 ;;
    --size) size="$2"; shift 2 ;;
    --window) window="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "writeback_ab.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
work="$(mktemp -d /tmp/keel-writeback-ab.XXXXXX)"
# shellcheck source=ab_common.sh
source "$root/bench/ab_common.sh"  # its EXIT trap stops the broker, removes $work

run() {  # $1: writeback_bytes
  rm -rf "$work/data" && mkdir -p "$work/data"
  cat > "$work/keel.toml" <<EOF
[broker]
data_dir = "$work/data"
plugin_path = ["$build/plugins"]
writeback_bytes = $1

[topics.bench]
partitions = 1
flush_mode = "os"

[transports.kafka]
listen = "127.0.0.1:0"
EOF
  start_broker
  closed_loop_rolls "writeback_bytes=$1"
  stop_broker
}

for _ in $(seq "$rounds"); do
  run 0
  run 1048576
done
