#!/usr/bin/env bash
# What a segment roll costs the appends, two builds of the broker side by
# side, alternating run by run so both see the same machine load. Written
# for the roll's fdatasync moving to the flusher thread (07a87df), used
# again for the roll becoming a swap (a21ff90: the new segment's directory
# fsync, the old one's index seal and the producer snapshot off the append
# path).
#
# One broker (core 1) and keel-load (core 0, librdkafka), closed loop,
# acks=1, a topic with flush_mode "os" and SEGMENT_BYTES segments (default
# 256 MiB, so each run rolls several times); the broker logs how long each
# roll held the partition's appends ("rolled to new segment ... in X ms"),
# summarised after each run. Incremental writeback is on (the default,
# 1 MiB) unless --writeback-bytes says otherwise: the sync a roll does is
# what writeback left dirty, so `--writeback-bytes 0` shows a disk that
# writeback cannot keep up with (a whole segment dirty at each roll).
# --retention-bytes N (0: none, the default) gives the topic size retention
# at N bytes, checked every 500 ms, so that retention deletes segments and
# rolls write over spares as a long-running topic does; --fill S first
# produces for S seconds (not measured) so that the log reaches it.
#
#   bash bench/roll_sync_ab.sh --before DIR [--after DIR] [--size BYTES]
#                              [--window N] [--segment-bytes N]
#                              [--writeback-bytes N] [--retention-bytes N]
#                              [--before-topic LINE] [--fill S]
#                              [--duration S] [--rounds N] [--trace-loop]
#
# --before is a build tree of the older version (e.g. a worktree of the
# commit before, built with `cmake --build DIR --target keel
# keel_builtin_plugins`); --after defaults to this tree's build/.
# --before-topic LINE adds a line to the topic's settings in the "before"
# runs only, e.g. 'recycle_segments = false' (no spares, recycled or
# prepared): an A/B of one build, and --before then defaults to --after.
# --trace-loop records the Kafka loop thread's switches (perf, as root)
# and prints its waits over 5 ms by cause (bench/loop_waits.py), e.g. on
# the inode's i_data_sem.
# Asserts nothing; prints one line per run, the machine's longest stall on
# each core meanwhile (keel-hiccup), the rolls and how many wrote over a
# spare. Needs taskset.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$root/build"
before=""
before_topic=""
trace_loop=""
size=1024
window=1000
segment_bytes=$((256 << 20))
writeback=1048576
retention_bytes=0
fill=0
duration=12
rounds=3
while [[ $# -gt 0 ]]; do
  case "$1" in
    --before) before="$2"; shift 2 ;;
    --after) build="$2"; shift 2 ;;
    --size) size="$2"; shift 2 ;;
    --window) window="$2"; shift 2 ;;
    --segment-bytes) segment_bytes="$2"; shift 2 ;;
    --writeback-bytes) writeback="$2"; shift 2 ;;
    --retention-bytes) retention_bytes="$2"; shift 2 ;;
    --fill) fill="$2"; shift 2 ;;
    --before-topic) before_topic="$2"; shift 2 ;;
    --trace-loop) trace_loop=1; shift ;;
    --duration) duration="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    -h|--help) sed -n '2,39p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "roll_sync_ab.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
if [[ -z "$before" && -n "$before_topic" ]]; then before="$build"; fi
work="$(mktemp -d /tmp/keel-roll-sync-ab.XXXXXX)"
# shellcheck source=ab_common.sh
source "$root/bench/ab_common.sh"  # its EXIT trap stops the broker, removes $work

run() {  # $1: label, $2: build tree of the broker, $3: a topic setting line or ""
  rm -rf "$work/data" && mkdir -p "$work/data"
  local retention="" check=""
  if ((retention_bytes > 0)); then
    retention=$'retention = ["size"]\n\n[topics.bench.plugins.size]\nretention_bytes = '"$retention_bytes"
    check="retention_check_ms = 500"
  fi
  cat > "$work/keel.toml" <<EOF
[broker]
data_dir = "$work/data"
plugin_path = ["$2/plugins"]
writeback_bytes = $writeback
$check

[topics.bench]
partitions = 1
flush_mode = "os"
segment_bytes = $segment_bytes
$3
$retention

[transports.kafka]
listen = "127.0.0.1:0"
EOF
  keel="$2/kernel/keel"
  start_broker
  if ((fill > 0)); then
    taskset -c 0 "$load" produce --brokers "127.0.0.1:$port" --topic bench --size "$size" --acks 1 \
      --linger-ms 0 --set "queue.buffering.max.messages=$window" --duration "$fill" > /dev/null 2>&1 ||
      broker_failed "keel-load (fill)"
  fi
  closed_loop_rolls "$1"
  echo "    $(grep -c 'written over a spare' "$work/keel.log") rolls wrote over a spare" \
    "($(grep -c 'prepared a spare segment' "$work/keel.log") prepared);" \
    "$(grep -c 'retention deletes segment' "$work/keel.log") segments deleted"
  sed -n 's/.*prepared a spare segment file of [0-9]* bytes in \([0-9.]*\) ms.*/\1/p' "$work/keel.log" |
    ms_summary "spares prepared in" ""
  stop_broker
}

for _ in $(seq "$rounds"); do
  run "before" "$before" "$before_topic"
  run "after " "$build" ""
done
