#!/usr/bin/env bash
# The Kafka transport's event loops and the sync on the request's thread,
# before and after, side by side: two builds of the broker, alternating run
# by run so both see the same machine load.
#
# "Before" is one io_context run by all `threads` threads, with every
# acks=all sync on the flusher thread; "after" is one event loop per
# thread, answers written before the next read, and a lone acks=all
# request to an idle every-batch partition synced on its own thread
# (KEEL_PRODUCE_SYNC_HERE).
#
# One broker (core 1, the transport's default 2 threads), the client on
# core 0, a topic with flush_mode "every-batch". Each run measures, for
# --duration seconds each:
#   - window 1 (keel-wire-load, one request of one --size record in
#     flight): acks=1, then acks=all;
#   - --producers (default 8) keel-wire-load processes at window 1, acks=all,
#     at once: their msgs/s summed and the median of their p50s. Lone
#     producers sharing an event loop must keep the flusher's group commit
#     (a sync on the loop's thread would hold the others' requests unread);
#   - closed loop, acks=all: keel-wire-load with 1000-record requests, 5 in
#     flight, and keel-load (librdkafka) with 1000 messages queued, the
#     row issue 14's closed-loop target uses. A request that synced on its
#     own thread while others queued behind it would show here.
# Each round starts with issue 14's window-1 durable bound (RTT + fio's
# 4 KiB fdatasync + 50 us).
#
#   bash bench/event_loop_ab.sh --before DIR [--after DIR] [--size BYTES]
#                               [--producers N] [--duration S] [--rounds N]
#
# --before is a build tree of the earlier version (e.g. a worktree of the
# commit before, built with `cmake --build DIR --target keel
# keel_builtin_plugins`); --after defaults to this tree's build/. Asserts
# nothing; prints one line per run and the medians. Needs taskset (and fio
# for the bound).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$root/build"
before=""
size=100
duration=8
rounds=3
producers=8
while [[ $# -gt 0 ]]; do
  case "$1" in
    --before) before="$2"; shift 2 ;;
    --after) build="$2"; shift 2 ;;
    --size) size="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --producers) producers="$2"; shift 2 ;;
    -h|--help) sed -n '2,35p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "event_loop_ab.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
work="$(mktemp -d /tmp/keel-event-loop-ab.XXXXXX)"
# shellcheck source=ab_common.sh
source "$root/bench/ab_common.sh"  # its EXIT trap stops the broker, removes $work

# Prints "p50 p99 p99.9" (us) of window-1 requests with acks $1.
window1() {
  local out
  out="$(taskset -c 0 "$wire" --brokers "127.0.0.1:$port" --topic bench --size "$size" --acks "$1" \
    --records 1 --inflight 1 --duration "$duration")" || broker_failed "keel-wire-load"
  sed -n 's/^wire produce:.* p50 \([0-9]*\) p99 \([0-9]*\) p99\.9 \([0-9]*\) max.*/\1 \2 \3/p' <<< "$out"
}

# Prints "msgs/s p50" of $producers window-1 acks=all producers at once:
# the sum of their rates, the median of their p50s (us).
many_window1() {
  local i pids=()
  for i in $(seq "$producers"); do
    taskset -c 0 "$wire" --brokers "127.0.0.1:$port" --topic bench --size "$size" --acks all \
      --records 1 --inflight 1 --duration "$duration" > "$work/many.$i" &
    pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i" || broker_failed "keel-wire-load"; done
  cat "$work"/many.* | sed -n 's/^wire produce:.*: \([0-9]*\) msgs\/s.* p50 \([0-9]*\) p99.*/\1 \2/p' |
    sort -k2 -n | awk '{ s += $1; p[NR] = $2 } END { printf "%d %d\n", s, p[int((NR + 1) / 2)] }'
  rm -f "$work"/many.*
}

run() {  # $1: off|on, $2: label, $3: build tree of the broker
  rm -rf "$work/data" && mkdir -p "$work/data"
  cat > "$work/keel.toml" <<EOT
[broker]
data_dir = "$work/data"
plugin_path = ["$3/plugins"]

[topics.bench]
partitions = 1
flush_mode = "every-batch"

[transports.kafka]
listen = "127.0.0.1:0"
EOT
  keel="$3/kernel/keel"
  start_broker
  local w1_one w1_all many wire_all rdk_all
  w1_one="$(window1 1)"
  w1_all="$(window1 all)"
  many="$(many_window1)"
  wire_all="$(measure_wire 1000 5)"
  rdk_all="$(measure_rdkafka)"
  stop_broker
  echo "$2 load=$(cut -d' ' -f1 /proc/loadavg): window-1 acks=1 p50/p99/p99.9 $w1_one; acks=all $w1_all;" \
    "$producers producers at window 1, acks=all, msgs/s p50 $many;" \
    "wire 1000x5 acks=all msgs/s p50 p99 p99.9 max $wire_all; librdkafka 1000 queued acks=all $rdk_all"
  # shellcheck disable=SC2086
  set -- "$1" $w1_one $w1_all $many $wire_all $rdk_all
  echo "$*" >> "$work/results"
}

for r in $(seq "$rounds"); do
  ab_bound "$r"
  run off "before (one shared io_context, syncs on the flusher)" "$before"
  run on "after  (a loop per thread, lone syncs on it)" "$build"
done
ab_table "loops+sync-here" "w1-acks1-p50" "w1-acks1-p99" "w1-acks1-p99.9" "w1-all-p50" "w1-all-p99" "w1-all-p99.9" \
  "many-msgs/s" "many-p50" \
  "wire-msgs/s" "wire-p50" "wire-p99" "wire-p99.9" "wire-max" "rdk-msgs/s" "rdk-p50" "rdk-p99" "rdk-p99.9" \
  "rdk-max"
