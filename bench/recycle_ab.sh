#!/usr/bin/env bash
# Durable latency with and without recycled segment files, side by side.
#
# Runs one broker (core 1) and the client (core 0) against one topic of one
# partition, flush_mode "every-batch", 64 MiB segments and retention
# "size" at 256 MiB (retention_check_ms 1000 unless --retention-check-ms:
# each retention pass keeps as many spares as the partition rolled since
# the previous one, so rolls find spares whatever the check's period),
# alternating recycle_segments = false (off) and true (on) for ROUNDS
# rounds, so both see the same machine load (preallocate = false in both:
# recycling alone). Each run, on a fresh data directory: prefills ~1 GiB
# (acks=1, 500 records a request) so that the log rolls and retention
# deletes segments (on: keeps spares and rolls into them); waits for
# retention, rolls once more (on: into a spare, checked by inode) and
# prints the rolls, deletions, spares kept and reused (broker log). Then,
# DURATION s each, all acks=all with 1 KiB values:
#   w1        keel-wire-load, one record a request, window 1: p50/p99/p99.9
#             (each round first measures issue 14's bound for its p50:
#             TCP RTT p50 + fio's 4 KiB fdatasync p50 + 50 us)
#   w1000     keel-wire-load closed loop, 10 requests of 100 records in
#             flight (1000 records; one record a request with 1000 in
#             flight measures the per-request cost instead): msgs/s, latency
#   rdk1000   keel-load (librdkafka), queue.buffering.max.messages=1000:
#             the row issue 14's p99.9 target was measured with
# the log rolling and retention deleting (on: recycling) meanwhile. Ends
# with each mode's median over the rounds, and min-max.
#
#   bash bench/recycle_ab.sh [--build-dir DIR] [--duration S] [--rounds N]
#                            [--retention-check-ms MS]
#
# Asserts nothing; prints one line per run (and its counts below it). Needs
# a built tree with recycle_segments (bash scripts/build.sh) and taskset.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$root/build"
duration=10
rounds=3
check_ms=1000
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build-dir) build="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --retention-check-ms) check_ms="$2"; shift 2 ;;
    -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "recycle_ab.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
segment_bytes=67108864     # 64 MiB: a roll every ~0.3 s at full speed
retention_bytes=268435456  # 256 MiB: four segments kept
prefill_bytes=1073741824   # ~1 GiB: a dozen rolls and deletions first
size=1024
fill_records=500           # ~0.5 MB a request, below max_batch_bytes

work="$(mktemp -d /tmp/keel-recycle-ab.XXXXXX)"
part="$work/data/bench-0"
# shellcheck source=ab_common.sh
source "$root/bench/ab_common.sh"  # its EXIT trap stops the broker, removes $work
# An unknown topic key stops the broker at start-up: say why up front.
grep -q recycle_segments "$keel" ||
  { echo "recycle_ab.sh: $keel does not know recycle_segments: build first" >&2; exit 1; }

count() { grep -c -- "$1" "$work/keel.log" || true; }
rolls() { count "rolled to new segment"; }
deletes() { count "retention deletes segment"; }
kept() { count "its file kept to become a later segment"; }
reused() { count "(written over a spare file)"; }
# The newest spare: the one the next roll takes (names sort by offset).
spare() { compgen -G "$part/spare-*.segment" | sort | tail -n 1 || true; }
spares() { { compgen -G "$part/spare-*.segment" || true; } | wc -l; }
has_spare() { [[ -n "$(spare)" ]]; }
counts() { echo "$(rolls) rolls ($(reused) into a spare), $(deletes) deletions, $(kept) spares kept"; }
# "median M, max X ms" of the rolls after the first $1, as the broker timed them.
roll_times() {
  grep -o "rolled to new segment .* in [0-9.]* ms" "$work/keel.log" | tail -n +$(($1 + 1)) |
    sed 's/.* in \([0-9.]*\) ms$/\1/' | sort -n |
    awk '{ v[NR] = $1 } END { if (NR) printf "median %s, max %s ms", v[int((NR + 1) / 2)], v[NR] }'
}

# Retention has nothing left to delete: the "size" strategy deletes the
# oldest segment while the others still hold retention_bytes. A reused
# active file's size says nothing of its data, so the active segment's
# bytes are its records (the log end, from what was sent, less its base
# offset, the file's name) at the closed segments' bytes per record: every
# request before the measurements is the same batch.
appended=0
caught_up() {
  local files=("$part"/0*.log) total=0 i n base prev_base s
  n=${#files[@]}
  ((n >= 2)) || return 0
  for ((i = 1; i < n - 1; i++)); do
    s="$(stat -c %s "${files[i]}" 2>/dev/null || echo 0)"
    total=$((total + s))
  done
  base=$((10#$(basename "${files[n - 1]}" .log)))
  prev_base=$((10#$(basename "${files[n - 2]}" .log)))
  s="$(stat -c %s "${files[n - 2]}" 2>/dev/null || echo 0)"
  ((base > prev_base)) && total=$((total + s * (appended - base) / (base - prev_base)))
  ((total < retention_bytes))
}
# Requests of acks=1 batches, as fast as they go.
fill() {  # $1: requests
  taskset -c 0 "$wire" --brokers "127.0.0.1:$port" --topic bench --size "$size" --acks 1 \
    --records "$fill_records" --inflight 5 --warmup 0 --requests "$1" > /dev/null || broker_failed "keel-wire-load"
  appended=$((appended + $1 * fill_records))
}
# One request at a time until the log rolls (so the active segment then
# holds one batch); sets rolled_to to the new segment's file.
roll_once_more() {
  local before tries=0
  before="$(rolls)"
  while [[ "$(rolls)" == "$before" ]]; do
    ((tries++ < 2 * segment_bytes / (fill_records * size))) ||
      { echo "recycle_ab.sh: no roll after $tries requests" >&2; exit 1; }
    fill 1
  done
  rolled_to="$(grep -o "rolled to new segment '[^']*'" "$work/keel.log" | tail -n 1 | sed "s/.*'\(.*\)'/\1/")"
}
run() {  # $1: off|on, $2: round
  local mode="$1" recycle=false
  [[ "$mode" == on ]] && recycle=true
  rm -rf "$work/data" && mkdir -p "$work/data"
  appended=0
  cat > "$work/keel.toml" <<EOF
[broker]
data_dir = "$work/data"
plugin_path = ["$build/plugins"]
retention_check_ms = $check_ms

[topics.bench]
partitions = 1
flush_mode = "every-batch"
segment_bytes = $segment_bytes
retention = ["size"]
recycle_segments = $recycle
# Recycling alone: a segment that finds no spare grows as it did before
# preallocation (bench/preallocate_ab.sh measures that).
preallocate = false

[topics.bench.plugins.size]
retention_bytes = $retention_bytes

[transports.kafka]
listen = "127.0.0.1:0"
EOF
  start_broker

  local t0=$SECONDS notes=()
  fill $(((prefill_bytes + fill_records * size - 1) / (fill_records * size)))
  # Retention runs every check_ms: during the prefill it has deleted (on: and
  # kept a spare) several times over.
  wait_for 20 caught_up || notes+=("retention had not caught up 20 s after the prefill")
  [[ "$(deletes)" -gt 0 ]] || notes+=("NO retention deletion after the prefill")
  if [[ "$mode" == on ]]; then
    [[ "$(kept)" -gt 0 ]] || notes+=("NO spare kept during the prefill")
    # A roll may have taken the spare with no deletion since (the log then
    # holds just retention_bytes): one more roll makes one.
    wait_for 5 has_spare || { roll_once_more; wait_for 20 caught_up; wait_for 5 has_spare; } ||
      notes+=("no spare file to roll into")
  fi
  local spare_inode="" how=", into a new file"
  has_spare && spare_inode="$(stat -c %i "$(spare)")"
  roll_once_more
  if [[ -n "$spare_inode" ]]; then
    if [[ "$(stat -c %i "$rolled_to")" == "$spare_inode" ]]; then
      how=", into the spare's file"
    else
      how=", NOT into the spare's file"
      notes+=("the last roll did not reuse the spare (inode $spare_inode)")
    fi
  fi
  wait_for 20 caught_up || notes+=("retention had not caught up 20 s before measuring")
  local setup
  setup="$(counts); the last roll$how; spares ready: $(spares)"
  local setup_s=$((SECONDS - t0)) r=() u=() d=() k=()
  r+=("$(rolls)") u+=("$(reused)") d+=("$(deletes)") k+=("$(kept)")

  local w1 w1k rdk _msgs
  read -r _msgs w1_p50 w1_p99 w1_p999 w1_max <<< "$(measure_wire 1 1)"
  r+=("$(rolls)") u+=("$(reused)") d+=("$(deletes)") k+=("$(kept)")
  read -r w1k_msgs w1k_p50 w1k_p99 w1k_p999 w1k_max <<< "$(measure_wire 100 10)"
  r+=("$(rolls)") u+=("$(reused)") d+=("$(deletes)") k+=("$(kept)")
  read -r rdk_msgs rdk_p50 rdk_p99 rdk_p999 rdk_max <<< "$(measure_rdkafka)"
  r+=("$(rolls)") u+=("$(reused)") d+=("$(deletes)") k+=("$(kept)")
  w1="p50 $w1_p50 p99 $w1_p99 p99.9 $w1_p999 max $w1_max"
  w1k="$w1k_msgs msgs/s p50 $w1k_p50 p99 $w1k_p99 p99.9 $w1k_p999 max $w1k_max"
  rdk="$rdk_msgs msgs/s p50 $rdk_p50 p99 $rdk_p99 p99.9 $rdk_p999 max $rdk_max"
  echo "recycle=$mode round $2 load=$(cut -d' ' -f1 /proc/loadavg) (us): w1 $w1 | w1000 $w1k | rdk1000 $rdk"
  echo "$mode $w1_p50 $w1_p99 $w1_p999 $w1k_msgs $w1k_p50 $w1k_p99 $w1k_p999 $rdk_msgs $rdk_p50 $rdk_p99 $rdk_p999" \
    >> "$work/results"
  echo "    setup ${setup_s} s: $setup"
  local phase i=0
  for phase in w1 w1000 rdk1000; do
    echo "    during $phase: $((r[i + 1] - r[i])) rolls ($((u[i + 1] - u[i])) into a spare)," \
      "$((d[i + 1] - d[i])) deletions, $((k[i + 1] - k[i])) spares kept"
    i=$((i + 1))
  done
  echo "    rolls while measuring: $(roll_times "${r[0]}")"
  for n in "${notes[@]}"; do echo "    NOTE: $n"; done
  # Anything the broker found worth a warning.
  grep -E '^[^ ]+ (warning|error|critical)' "$work/keel.log" | head -n 5 | sed 's/^/    broker: /' || true
  stop_broker
}

for round in $(seq "$rounds"); do
  ab_bound "$round"
  run off "$round"
  run on "$round"
done
ab_table recycle "w1 p50" "w1 p99" "w1 p99.9" "w1000 msgs/s" "w1000 p50" "w1000 p99" "w1000 p99.9" \
  "rdk1000 msgs/s" "rdk1000 p50" "rdk1000 p99" "rdk1000 p99.9"
