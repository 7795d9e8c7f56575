#!/usr/bin/env bash
# Durable latency on a fresh topic with and without preallocated segment
# files (topic setting preallocate), side by side.
#
# Runs one broker (core 1) and the client (core 0) against one topic of one
# partition, flush_mode "every-batch", the default segment_bytes (1 GiB),
# no retention, alternating preallocate = false (off) and true (on) for
# ROUNDS rounds, each run on a fresh data directory, as bench/compare's
# runs are. Each round first measures issue 14's window-1 bound (TCP RTT
# p50 + fio's 4 KiB fdatasync p50 + 50 us), then runs both modes' window-1
# rows before either mode's closed-loop rows (a closed-loop run's
# gigabytes, written and synced, slow the disk's syncs for a while after:
# measured, they erased the difference). DURATION s each, acks=all:
#   w1-100    keel-wire-load, one 100 B record a request, window 1
#   w1-1k     the same with 1 KiB records
#   w1000     keel-wire-load closed loop, 10 requests of 100 1 KiB records
#             in flight (the log rolls every few seconds at full speed)
#   rdk1000   keel-load (librdkafka), 1 KiB, queue.buffering.max.messages=1000
# Ends with each mode's median over the rounds, and min-max.
#
#   bash bench/preallocate_ab.sh [--build-dir DIR] [--duration S] [--rounds N]
#
# Asserts nothing. Needs a built tree (bash scripts/build.sh), taskset, and
# fio for the bound.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$root/build"
duration=5
rounds=3
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build-dir) build="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "preallocate_ab.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done

work="$(mktemp -d /tmp/keel-preallocate-ab.XXXXXX)"
# shellcheck source=ab_common.sh
source "$root/bench/ab_common.sh"  # its EXIT trap stops the broker, removes $work
grep -q preallocate "$keel" ||
  { echo "preallocate_ab.sh: $keel does not know preallocate: build first" >&2; exit 1; }

# A fresh data directory and broker with preallocate off|on ($1).
start_fresh() {
  local on=false
  [[ "$1" == on ]] && on=true
  rm -rf "$work/data" && mkdir -p "$work/data"
  sync  # the previous run's deletions reach the disk before this one measures
  cat > "$work/keel.toml" <<TOML
[broker]
data_dir = "$work/data"
plugin_path = ["$build/plugins"]

[topics.bench]
partitions = 1
flush_mode = "every-batch"
preallocate = $on

[transports.kafka]
listen = "127.0.0.1:0"
TOML
  start_broker
}

warnings() {
  grep -E '^[^ ]+ (warning|error|critical)' "$work/keel.log" | head -n 5 | sed 's/^/    broker: /' || true
}

# Window 1 (both sizes), on a fresh log: sets w1_$1 to "p50 p99 p50 p99".
window_one() {
  start_fresh "$1"
  local _m p50s p99s p50k p99k
  size=100
  read -r _m p50s p99s _ <<< "$(measure_wire 1 1)"
  size=1024
  read -r _m p50k p99k _ <<< "$(measure_wire 1 1)"
  echo "preallocate=$1 round $2 load=$(cut -d' ' -f1 /proc/loadavg) (us): w1-100 p50 $p50s p99 $p99s |" \
    "w1-1k p50 $p50k p99 $p99k"
  printf -v "w1_$1" '%s %s %s %s' "$p50s" "$p99s" "$p50k" "$p99k"
  warnings
  stop_broker
}

# Closed loop, 1 KiB, on a fresh log (after the window-1 runs of both
# modes: gigabytes written and synced slow the disk's next syncs); writes
# the round's results line.
closed_loop() {
  start_fresh "$1"
  size=1024
  local big_msgs big_p99 big_p999 big_max rdk_msgs rdk_p99 rdk_p999 rdk_max _p
  read -r big_msgs _p big_p99 big_p999 big_max <<< "$(measure_wire 100 10)"
  read -r rdk_msgs _p rdk_p99 rdk_p999 rdk_max <<< "$(measure_rdkafka)"
  echo "preallocate=$1 round $2 load=$(cut -d' ' -f1 /proc/loadavg)" \
    "rolls=$(grep -c "rolled to new segment" "$work/keel.log" || true) (us):" \
    "w1000 $big_msgs msgs/s p99 $big_p99 p99.9 $big_p999 max $big_max |" \
    "rdk1000 $rdk_msgs msgs/s p99 $rdk_p99 p99.9 $rdk_p999 max $rdk_max"
  local w1="w1_$1"
  echo "$1 ${!w1} $big_msgs $big_p99 $big_p999 $rdk_msgs $rdk_p99 $rdk_p999" >> "$work/results"
  warnings
  stop_broker
  rm -rf "$work/data"
}

for round in $(seq "$rounds"); do
  ab_bound "$round"
  window_one off "$round"
  window_one on "$round"
  closed_loop off "$round"
  closed_loop on "$round"
done
ab_table preallocate "w1-100 p50" "w1-100 p99" "w1-1k p50" "w1-1k p99" "w1000 msgs/s" "w1000 p99" \
  "w1000 p99.9" "rdk1000 msgs/s" "rdk1000 p99" "rdk1000 p99.9"
