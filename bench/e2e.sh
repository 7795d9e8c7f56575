#!/usr/bin/env bash
# End-to-end benchmark: a real `keel` broker with the Kafka transport, driven
# over loopback by keel-load (librdkafka). Builds nothing: run
# `bash scripts/build.sh` first. Prints a markdown table (median of RUNS runs,
# with min..max) and the exact commands used.
#
#   bash bench/e2e.sh
#   BUILD_DIR=/tmp/build-x RUNS=1 COUNT_100B_ACKS1=1000000 bash bench/e2e.sh
#
# Environment (defaults size each produce run at roughly 10-20 s on the
# 2-core reference machine; the consume topic is 1 GiB):
#   BUILD_DIR          build tree holding kernel/keel, plugins/, bench/load/keel-load (build/)
#   RUNS               runs per scenario (3)
#   SCENARIOS          groups to run, space-separated ("produce idempotent latency consume"):
#                      produce = 100 B and 1 KiB, acks=1 and acks=all; idempotent = the
#                      acks=all ones with and without enable.idempotence (keel-load
#                      --idempotent), both with 5 requests in flight, runs alternating;
#                      wire-idempotent = the same comparison with keel-wire-load (no
#                      client library: the broker's cost alone; not in the default list)
#   COUNT_100B_ACKS1   messages of 100 B, acks=1   (20000000)
#   COUNT_100B_ACKSALL messages of 100 B, acks=all (20000000)
#   COUNT_1K_ACKS1     messages of 1 KiB, acks=1   (6000000)
#   COUNT_1K_ACKSALL   messages of 1 KiB, acks=all (4000000)
#   CONSUME_BYTES      size of the topic consumed from its start (1073741824)
#   WIRE_REQUESTS_100B requests of 5000 x 100 B in wire-idempotent (4000)
#   WIRE_REQUESTS_1K   requests of 900 x 1 KiB in wire-idempotent (4000)
#   LATENCY_RATE       open-loop rate of the latency scenarios, msgs/s (20000)
#   LATENCY_SECONDS    length of each latency run (10)
#   WORK_PARENT        where the temporary data directory goes (${TMPDIR:-/tmp})
#   BROKER_ARGS        extra broker arguments, split on spaces
#                      (e.g. "--set transports.kafka.max_in_flight=1000")
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$(cd "${BUILD_DIR:-$root/build}" 2>/dev/null && pwd)" || {
  echo "e2e.sh: build directory '${BUILD_DIR:-$root/build}' not found; run 'bash scripts/build.sh' first" >&2
  exit 2
}
runs="${RUNS:-3}"
scenarios=" ${SCENARIOS:-produce idempotent latency consume} "
for group in $scenarios; do
  case "$group" in
    produce | idempotent | wire-idempotent | latency | consume) ;;
    *)
      echo "e2e.sh: unknown scenario group '$group' in SCENARIOS (produce, idempotent, wire-idempotent, latency, consume)" >&2
      exit 2
      ;;
  esac
done
# Whether SCENARIOS names group $1.
wanted() { [[ "$scenarios" == *" $1 "* ]]; }
count_100b_acks1="${COUNT_100B_ACKS1:-20000000}"
count_100b_acksall="${COUNT_100B_ACKSALL:-20000000}"
count_1k_acks1="${COUNT_1K_ACKS1:-6000000}"
count_1k_acksall="${COUNT_1K_ACKSALL:-4000000}"
consume_bytes="${CONSUME_BYTES:-1073741824}"
latency_rate="${LATENCY_RATE:-20000}"
wire_requests_100b="${WIRE_REQUESTS_100B:-4000}"
wire_requests_1k="${WIRE_REQUESTS_1K:-4000}"
latency_seconds="${LATENCY_SECONDS:-10}"
read -r -a broker_args <<<"${BROKER_ARGS:-}"

keel="$build/kernel/keel"
load="$build/bench/load/keel-load"
wire="$build/bench/wire/keel-wire-load"
for f in "$keel" "$load" "$wire"; do
  if [ ! -x "$f" ]; then
    echo "e2e.sh: $f is missing; run 'bash scripts/build.sh' (keel-load needs librdkafka-dev)" >&2
    exit 2
  fi
done
command -v python3 >/dev/null || { echo "e2e.sh: python3 is needed to summarise the results" >&2; exit 2; }

# The broker gets core 0 and the client core 1, so neither steals the
# other's CPU; with one core they share it and the table says so.
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
  server_pin=(taskset -c 0)
  client_pin=(taskset -c 1)
  pinning="broker on core 0, client on core 1 (taskset)"
else
  server_pin=()
  client_pin=()
  pinning="not pinned ($(nproc) core(s))"
fi

work="$(mktemp -d "${WORK_PARENT:-${TMPDIR:-/tmp}}/keel-e2e.XXXXXX")"
results="$work/results.tsv"
commands="$work/commands.txt"
: >"$results"
: >"$commands"
broker_pid=""
client_pid=""

stop_broker() {
  [ -n "$broker_pid" ] || return 0
  kill -TERM "$broker_pid" 2>/dev/null || true
  # A clean stop flushes and writes recovery markers; give it 30 s.
  for _ in $(seq 300); do
    kill -0 "$broker_pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$broker_pid" 2>/dev/null || true
  wait "$broker_pid" 2>/dev/null || true
  broker_pid=""
}

# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
  if [ -n "$client_pid" ]; then
    kill -TERM "$client_pid" 2>/dev/null || true
    wait "$client_pid" 2>/dev/null || true
  fi
  stop_broker
  rm -rf "$work"
}
trap cleanup EXIT
trap 'echo "e2e.sh: interrupted" >&2; exit 130' INT
trap 'echo "e2e.sh: terminated" >&2; exit 143' TERM

config="$work/keel.toml"
cat >"$config" <<EOF
[broker]
data_dir = "$work/data"
plugin_path = ["$build/plugins"]
auto_create_topics = true
log_level = "info"

[topic_defaults]
partitions = 1
flush_mode = "every-batch"

[topics.bench]
partitions = 1

[transports.kafka]
listen = "127.0.0.1:0"
EOF

port=""
# Starts the broker on an empty data directory and learns the port it bound
# (listen port 0 picks a free one, so nothing races for a port).
start_broker() {
  rm -rf "$work/data"
  : >"$work/keel.log"
  "${server_pin[@]}" "$keel" --config "$config" "${broker_args[@]}" >"$work/keel.log" 2>&1 &
  broker_pid=$!
  for _ in $(seq 300); do
    if ! kill -0 "$broker_pid" 2>/dev/null; then
      echo "e2e.sh: keel exited during start-up; its log:" >&2
      cat "$work/keel.log" >&2
      broker_pid=""
      exit 1
    fi
    if grep -q "broker ready" "$work/keel.log"; then
      port="$(sed -n 's/.*Kafka protocol listening on .*:\([0-9][0-9]*\) (advertised.*/\1/p' "$work/keel.log" | head -n 1)"
      [ -n "$port" ] && return 0
    fi
    sleep 0.1
  done
  echo "e2e.sh: keel did not become ready within 30 s; its log:" >&2
  cat "$work/keel.log" >&2
  exit 1
}

clk_tck="$(getconf CLK_TCK)"
# utime + stime of every broker thread, in seconds (fields 14 and 15 of
# /proc/<pid>/stat; the comm field is skipped by cutting at its ")").
server_cpu() {
  sed 's/^.*) //' "/proc/$broker_pid/stat" | awk -v hz="$clk_tck" '{ printf "%.2f", ($12 + $13) / hz }'
}

# Runs keel-load in the background so a signal reaches the traps at once,
# then appends "scenario <tab> run <tab> server cpu <tab> status <tab> json".
run_client() {
  local scenario="$1" run="$2" program="$3"
  shift 3
  local cmd=("${client_pin[@]}" "$program" "$@")
  if [ "$run" = 1 ]; then
    printf '# %s\n%s\n' "$scenario" "${cmd[*]}" | sed "s/127.0.0.1:$port/127.0.0.1:\$PORT/" >>"$commands"
  fi
  local cpu0 cpu1 status=0
  cpu0="$(server_cpu)"
  "${cmd[@]}" >"$work/client.out" 2>"$work/client.err" &
  client_pid=$!
  wait "$client_pid" || status=$?
  client_pid=""
  cpu1="$(server_cpu)"
  printf '  [%s, run %s] %s\n' "$scenario" "$run" "$(head -n 1 "$work/client.out")"
  if [ "$status" != 0 ]; then
    echo "  [$scenario run $run] keel-load exited with $status:" >&2
    sed 's/^/    /' "$work/client.err" | tail -n 20 >&2
  fi
  local json
  json="$(grep '^{' "$work/client.out" | tail -n 1 || true)"
  [ -n "$json" ] || json='{}'
  printf '%s\t%s\t%s\t%s\t%s\n' "$scenario" "$run" "$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { printf "%.2f", b - a }')" \
    "$status" "$json" >>"$results"
}

produce_scenario() {
  local scenario="$1"
  shift
  for run in $(seq "$runs"); do
    start_broker
    run_client "$scenario" "$run" "$load" produce --brokers "127.0.0.1:$port" --topic bench "$@"
    stop_broker
  done
}

echo "Keel end-to-end benchmark: $runs run(s) per scenario, $pinning"
echo "build: $build   data: $work/data ($(df -T "$work" | awk 'NR == 2 { print $2 }'))"
echo "commit: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)   kernel: $(uname -r)   cpu:$(
  sed -n 's/^model name[[:space:]]*://p' /proc/cpuinfo | head -n 1)"

if wanted produce; then
  produce_scenario "produce 100 B acks=1" --size 100 --count "$count_100b_acks1" --acks 1
  produce_scenario "produce 100 B acks=all" --size 100 --count "$count_100b_acksall" --acks all
  produce_scenario "produce 1 KiB acks=1" --size 1024 --count "$count_1k_acks1" --acks 1
  produce_scenario "produce 1 KiB acks=all" --size 1024 --count "$count_1k_acksall" --acks all
fi
# Runs "<scenario> plain" and "<scenario> idempotent" alternately, RUNS
# times each, each on a fresh broker: a machine whose load drifts disturbs
# both alike. $1 = scenario, $2 = client program with its mode if it has one
# (split on spaces), the rest its arguments (--idempotent is added for the
# second variant).
paired_runs() {
  local scenario="$1" program variant extra
  read -r -a program <<<"$2"
  shift 2
  for run in $(seq "$runs"); do
    for variant in plain idempotent; do
      extra=()
      [ "$variant" = idempotent ] && extra=(--idempotent)
      start_broker
      run_client "$scenario $variant" "$run" "${program[@]}" --brokers "127.0.0.1:$port" --topic bench "$@" "${extra[@]}"
      stop_broker
    done
  done
}
if wanted idempotent; then
  # What idempotence costs, alone: librdkafka caps an idempotent producer at
  # 5 requests in flight, so the plain runs it is compared with get the same
  # cap.
  paired_runs "produce 100 B acks=all inflight 5" "$load produce" --size 100 --count "$count_100b_acksall" --acks all \
    --inflight 5
  paired_runs "produce 1 KiB acks=all inflight 5" "$load produce" --size 1024 --count "$count_1k_acksall" --acks all \
    --inflight 5
fi
if wanted wire-idempotent; then
  # The broker's cost of idempotence alone: keel-wire-load sends the same
  # pre-built batches in both variants (see bench/wire/keel_wire_load.cpp).
  paired_runs "wire produce 100 B x 5000 acks=all inflight 5" "$wire" --size 100 --records 5000 \
    --requests "$wire_requests_100b" --inflight 5 --acks all
  paired_runs "wire produce 1 KiB x 900 acks=all inflight 5" "$wire" --size 1024 --records 900 \
    --requests "$wire_requests_1k" --inflight 5 --acks all
fi
if wanted latency; then
  latency_count=$((latency_rate * latency_seconds))
  produce_scenario "latency 100 B acks=1 @ $latency_rate msg/s" --size 100 --count "$latency_count" --acks 1 \
    --rate "$latency_rate"
  produce_scenario "latency 100 B acks=all @ $latency_rate msg/s" --size 100 --count "$latency_count" \
    --acks all --rate "$latency_rate"
fi

if wanted consume; then
  # Consume: fill one topic once, then read it from the start RUNS times. The
  # data was just written, so reads come from the page cache.
  consume_scenario="consume 1 KiB from start ($((consume_bytes / 1048576)) MiB)"
  start_broker
  fill=("${client_pin[@]}" "$load" produce --brokers "127.0.0.1:$port" --topic bench --size 1024
    --count "$((consume_bytes / 1024))" --acks 1 --warmup 0)
  printf '# fill the consume topic\n%s\n' "${fill[*]}" | sed "s/127.0.0.1:$port/127.0.0.1:\$PORT/" >>"$commands"
  "${fill[@]}" >"$work/client.out" 2>"$work/client.err" &
  client_pid=$!
  fill_status=0
  wait "$client_pid" || fill_status=$?
  client_pid=""
  if [ "$fill_status" != 0 ]; then
    echo "e2e.sh: filling the consume topic failed (exit $fill_status):" >&2
    cat "$work/client.err" >&2
    exit 1
  fi
  head -n 1 "$work/client.out" | sed "s/^/  [fill] /"
  for run in $(seq "$runs"); do
    run_client "$consume_scenario" "$run" "$load" consume --brokers "127.0.0.1:$port" --topic bench --from beginning
  done
  stop_broker
fi

summary_status=0
python3 - "$results" "$runs" <<'EOF' || summary_status=$?
import json, statistics, sys

rows = {}
for line in open(sys.argv[1]):
    scenario, run, server_cpu, status, data = line.rstrip("\n").split("\t", 4)
    rows.setdefault(scenario, []).append((int(status), float(server_cpu), json.loads(data)))

def cell(values, fmt):
    if not values:
        return "n/a"
    med = statistics.median(values)
    if len(values) == 1:
        return fmt.format(med)
    return (fmt + " ({}..{})").format(med, fmt.format(min(values)), fmt.format(max(values)))

print()
print("| Scenario | msgs/s | MB/s | p50 ms | p99 ms | p99.9 ms | client CPU s | broker CPU s | failed runs |")
print("|---|---|---|---|---|---|---|---|---|")
failed_any = False
for scenario, runs in rows.items():
    ok = [(cpu, d) for status, cpu, d in runs if status == 0 and d]
    failed = len(runs) - len(ok)
    failed_any |= failed > 0
    lat = [d["latency_us"] for _, d in ok if "latency_us" in d]
    ms = lambda key: [l[key] / 1000 for l in lat]
    print("| {} | {} | {} | {} | {} | {} | {} | {} | {} |".format(
        scenario,
        cell([d["msgs_per_s"] for _, d in ok], "{:,.0f}"),
        cell([d["mb_per_s"] for _, d in ok], "{:.1f}"),
        cell(ms("p50"), "{:.2f}"), cell(ms("p99"), "{:.2f}"), cell(ms("p999"), "{:.2f}"),
        cell([d["client_cpu_s"] for _, d in ok], "{:.2f}"),
        cell([cpu for cpu, _ in ok], "{:.2f}"),
        "{}/{}".format(failed, len(runs))))
# Alternating plain/idempotent runs: the ratio of each pair of runs made
# back to back, which drift in the machine's load disturbs less than the
# ratio of medians.
for scenario, runs in rows.items():
    if not scenario.endswith(" idempotent") or scenario[:-len("idempotent")] + "plain" not in rows:
        continue
    plain = {r: d for r, (status, _, d) in enumerate(rows[scenario[:-len("idempotent")] + "plain"]) if status == 0 and d}
    ratios = [d["msgs_per_s"] / plain[r]["msgs_per_s"] for r, (status, _, d) in enumerate(runs)
              if status == 0 and d and r in plain]
    if ratios:
        print()
        print("{}: idempotent/plain throughput per pair of runs: {} (median {:.3f}, geometric mean {:.3f})".format(
            scenario[:-len(" idempotent")], " ".join("{:.3f}".format(x) for x in ratios),
            statistics.median(ratios), statistics.geometric_mean(ratios)))
print()
print("Median of the runs, (min..max) in brackets. MB = 10^6 bytes of message payload.")
first = next((d for rs in rows.values() for status, _, d in rs if status == 0 and d.get("mode") == "produce"), None)
if first:
    print("Producer settings (librdkafka defaults unless the command sets them): linger.ms={} batch.size={}"
          " max.in.flight={} queue.buffering.max.messages={} compression={}.".format(
              first["linger_ms"], first["batch_size"], first["inflight"], first["queue_max_messages"],
              first["compression"]))
print("Throughput excludes the warm-up (first 10% of messages acknowledged). Latency is"
      " enqueue->acknowledgement in closed-loop runs (so it mostly measures librdkafka's queue"
      " depth) and scheduled-send->acknowledgement in the open-loop latency runs. Client CPU covers"
      " the measured window; broker CPU covers the whole client run (utime+stime from /proc).")
sys.exit(1 if failed_any else 0)
EOF

echo
echo "Broker: ${server_pin[*]} $keel --config keel.toml ${broker_args[*]}   (a fresh data directory for every produce run)"
echo '```toml'
sed "s|$work|\$WORK|g" "$config"
echo '```'
echo "Clients (\$PORT is the port the broker picked):"
echo '```sh'
cat "$commands"
echo '```'
exit "$summary_status"
