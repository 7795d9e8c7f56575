# Shared by the A/B scripts (bench/recycle_ab.sh, bench/preallocate_ab.sh,
# bench/writeback_ab.sh, bench/roll_sync_ab.sh, bench/event_loop_ab.sh):
# one broker on core 1, the client on core 0, issue 14's window-1 bound,
# and the medians at the end. Source it after setting:
#   build  the build tree (kernel/keel, bench/wire/keel-wire-load, ...)
#   before (optional) the other build tree, checked for kernel/keel
#   work   a scratch directory the caller removes
# Functions set or read: pid, port (the running broker), duration, size,
# window, trace_loop (closed_loop_rolls: non-empty records the Kafka loop
# threads' switches with perf and prints their waits, bench/loop_waits.py).
# Sourcing it sets an EXIT trap that stops the broker and removes $work.

keel="$build/kernel/keel"
wire="$build/bench/wire/keel-wire-load"
load="$build/bench/load/keel-load"
for f in "$keel" "$wire" "$load"; do
  [[ -x "$f" ]] || { echo "$(basename "$0"): $f is missing: build first (bash scripts/build.sh)" >&2; exit 1; }
done
pid=""
port=""

ab_cleanup() {
  stop_broker
  rm -rf "$work"
}
trap ab_cleanup EXIT
trap 'exit 130' INT TERM

# Polls (every 50 ms) until the command succeeds; fails after $1 seconds.
wait_for() {
  local until=$((SECONDS + $1))
  shift
  until "$@"; do
    ((SECONDS < until)) || return 1
    sleep 0.05
  done
}

broker_failed() {
  echo "$(basename "$0"): $1 failed; the broker log ends:" >&2
  tail -n 20 "$work/keel.log" >&2
  exit 1
}

# Starts the broker on $work/keel.toml (log in $work/keel.log) and waits
# until it is ready; sets pid and port.
start_broker() {
  taskset -c 1 "$keel" --config "$work/keel.toml" > "$work/keel.log" 2>&1 &
  pid=$!
  port=""
  for _ in $(seq 200); do
    port="$(sed -n 's/.*Kafka protocol listening on [^ ]*:\([0-9]*\) (advertised.*/\1/p' "$work/keel.log")"
    grep -q "broker ready" "$work/keel.log" && [[ -n "$port" ]] && break
    sleep 0.05
  done
  [[ -n "$port" ]] || { echo "the broker did not start:" >&2; cat "$work/keel.log" >&2; exit 1; }
}

stop_broker() {
  [[ -n "$pid" ]] || return 0
  kill "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null || true
  pid=""
}

# Prints "msgs/s p50 p99 p99.9 max" (us) of $duration s of acks=all with
# keel-wire-load: $1 records a request, $2 requests in flight.
measure_wire() {
  local out
  out="$(taskset -c 0 "$wire" --brokers "127.0.0.1:$port" --topic bench --size "$size" --acks all \
    --records "$1" --inflight "$2" --duration "$duration")" || broker_failed "keel-wire-load"
  sed -n 's/^wire produce:.*: \([0-9]*\) msgs\/s.* p50 \([0-9]*\) p99 \([0-9]*\) p99\.9 \([0-9]*\) max \([0-9]*\);.*/\1 \2 \3 \4 \5/p' \
    <<< "$out"
}

# The same with librdkafka (keel-load), queue.buffering.max.messages=1000:
# the row issue 14's closed-loop p99.9 target was measured with.
measure_rdkafka() {
  local out
  out="$(taskset -c 0 "$load" produce --brokers "127.0.0.1:$port" --topic bench --size "$size" --acks all \
    --linger-ms 0 --set queue.buffering.max.messages=1000 --warmup 20000 --duration "$duration" 2>&1)" ||
    broker_failed "keel-load"
  sed -n 's/^produce.*: \([0-9]*\) msgs\/s.* p50 \([0-9]*\) p99 \([0-9]*\) p99\.9 \([0-9]*\) max \([0-9]*\);.*/\1 \2 \3 \4 \5/p' \
    <<< "$out"
}

# Issue 14's bound for the durable window-1 p50, on this machine now: the
# loopback TCP round trip p50, plus fio's 4 KiB write + fdatasync p50 (the
# command bench/compare measures the machine with), plus 50 us. Prints
# "RTT SYNC BOUND" (us), "-" where a tool is missing (apt-get install fio).
machine_bound() {
  local rtt_bin="$build/bench/peers/keel-tcp-rtt"
  [[ -x "$rtt_bin" ]] && command -v fio > /dev/null || { echo "- - -"; return; }
  rm -f "$work/rtt-port"  # a later round must not read the last round's port
  taskset -c 1 "$rtt_bin" serve > "$work/rtt-port" &
  local srv=$!
  wait_for 5 test -s "$work/rtt-port"
  local rtt sync
  rtt="$(taskset -c 0 "$rtt_bin" ping "$(head -n 1 "$work/rtt-port")" 20000 |
    sed -n 's/.* us p50 \([0-9.]*\) .*/\1/p' | head -n 1)"
  kill "$srv" 2>/dev/null; wait "$srv" 2>/dev/null || true
  mkdir -p "$work/fio"
  sync="$(taskset -c 1 fio --name=limit --rw=write --bs=4k --size=64M --fdatasync=1 --ioengine=psync \
    --time_based --runtime=3 --directory="$work/fio" --output-format=json 2> /dev/null |
    python3 -c 'import json, sys; print(round(json.load(sys.stdin)["jobs"][0]["sync"]["lat_ns"]["percentile"]["50.000000"] / 1000))')"
  rm -rf "$work/fio"
  echo "$rtt $sync $(awk -v a="$rtt" -v b="$sync" 'BEGIN { printf "%.0f", a + b + 50 }')"
}

# "median (min-max)" of column $2 of the lines of $work/results whose first
# word is $1 (the mean of the middle two for an even count).
stat_of() {
  awk -v m="$1" -v c="$2" '$1 == m { print $c }' "$work/results" | sort -n |
    awk '{ v[NR] = $1 } END {
      if (!NR) { print "-"; exit }
      med = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
      printf "%.0f (%s-%s)", med, v[1], v[NR] }'
}

# Measures and prints issue 14's bound for round $1; keeps it for ab_table.
ab_bound() {
  read -r b_rtt b_sync b_bound <<< "$(machine_bound)"
  echo "round $1: window-1 durable bound = TCP RTT p50 $b_rtt + fio 4 KiB fdatasync p50 $b_sync + 50 = $b_bound us"
  if [[ "$b_bound" != "-" ]]; then echo "bound $b_bound" >> "$work/results"; fi
}

# Each figure's median over the rounds, from the lines "off|on FIGURE..."
# the caller appended to $work/results. $1: what is compared ("recycle",
# "preallocate"); the rest: the figures' names, in the results' order.
ab_table() {
  local what="$1"
  shift
  echo
  echo "median (min-max) over $rounds round(s) of $duration s, latency in us:"
  if grep -q '^bound ' "$work/results"; then
    echo "window-1 durable bound (issue 14): $(stat_of bound 2)"
  fi
  printf '%-16s | %-24s | %-24s\n' "" "$what off" "$what on"
  local col=2 figure
  for figure in "$@"; do
    printf '%-16s | %-24s | %-24s\n' "$figure" "$(stat_of off "$col")" "$(stat_of on "$col")"
    col=$((col + 1))
  done
}

# Reads one figure in ms per line; prints "    <count> $1 min / median /
# max ms", or "    $2" when there is none (nothing if $2 is empty).
ms_summary() {
  sort -g | awk -v what="$1" -v none="$2" '{v[NR] = $1}
    END {if (NR) printf "    %d %s %.1f / %.1f / %.1f ms (min / median / max)\n", NR, what, v[1], v[int((NR + 1) / 2)], v[NR];
         else if (none != "") print "    " none}'
}

# keel-load (librdkafka) closed loop, acks=1, $window messages queued, for
# $duration s after a 1 s warm-up, against the running broker. Prints
# "$1 load=<loadavg>: <its result>", the longest stall of the machine's own
# on each core meanwhile (keel-hiccup, when built: a run's max can be the
# machine's, not the broker's), then how long the rolls the broker logged
# held the partition's appends.
closed_loop_rolls() {
  local args=(produce --brokers "127.0.0.1:$port" --topic bench --size "$size" --acks 1 --linger-ms 0
              --set "queue.buffering.max.messages=$window")
  taskset -c 0 "$load" "${args[@]}" --duration 1 > /dev/null 2>&1  # warm-up
  local hiccup="$build/bench/peers/keel-hiccup" meters=() core
  if [[ -x "$hiccup" ]]; then
    for core in 0 1; do
      taskset -c "$core" "$hiccup" --duration "$duration" > "$work/hiccup-$core" 2>&1 &
      meters+=($!)
    done
  fi
  local tracer=""
  if [[ -n "${trace_loop:-}" ]]; then
    # The Kafka loop threads' switches on the broker's core, a little
    # longer than the run (bench/loop_waits.py reads them).
    perf record -e sched:sched_switch \
      --filter 'prev_comm ~ "kafka-loop-*" || next_comm ~ "kafka-loop-*"' \
      -g -C 1 -o "$work/switches.data" -- sleep "$duration.6" > /dev/null 2>&1 &
    tracer=$!
  fi
  local line
  line="$(taskset -c 0 "$load" "${args[@]}" --duration "$duration" 2>&1 | grep '^produce')" ||
    broker_failed "keel-load"
  echo "$1 load=$(cut -d' ' -f1 /proc/loadavg): ${line#*closed-loop: }"
  if ((${#meters[@]})); then
    wait "${meters[@]}" || true
    local stalls=()
    for core in 0 1; do
      stalls+=("core $core $(sed -n 's/.*"max":\([0-9]*\)}.*/\1/p' "$work/hiccup-$core" |
        awk '{ printf "%.1f ms", $1 / 1000 }')")
    done
    echo "    the machine's longest stall meanwhile (keel-hiccup): ${stalls[0]}, ${stalls[1]}"
  fi
  if [[ -n "$tracer" ]]; then
    wait "$tracer" || true
    perf script -i "$work/switches.data" -F time,event,trace,ip,sym 2> /dev/null |
      python3 "$(dirname "${BASH_SOURCE[0]}")/loop_waits.py"
  fi
  # How long each roll held the partition's appends.
  sed -n 's/.*rolled to new segment .* in \([0-9.]*\) ms (.*/\1/p' "$work/keel.log" |
    ms_summary "rolls held appends" "no roll"
  # The slowest roll's parts, as the broker logged them.
  sed -n 's/.*rolled to new segment .* in \([0-9.]*\) ms (\(.*\)); the old one.*/\1 \2/p' "$work/keel.log" |
    sort -g | tail -n 1 | sed 's/^[0-9.]* /    the slowest: /'
}

# Scripts that compare two builds set `before` (their --before DIR).
if [[ -v before ]] && [[ -z "$before" || ! -x "$before/kernel/keel" ]]; then
  echo "$(basename "$0"): --before must name a build tree holding kernel/keel (see --help)" >&2
  exit 2
fi
