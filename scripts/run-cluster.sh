#!/usr/bin/env bash
# Runs a local Keel cluster in the foreground: its own etcd and N brokers
# (default 3), each broker's output in its log file and on the terminal with
# a [broker-N] prefix. Ctrl-C (SIGINT) or SIGTERM stops the brokers (SIGTERM,
# clean shutdown), then etcd. See --help.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# etcd on 2389/2390, not etcd's usual 2379/2380: Debian's etcd-server
# package enables a system etcd.service there, which this cluster must not
# share.
etcd_client_port=2389
etcd_peer_port=2390
kafka_base=9092
http_base=8080
brokers=3
data_dir="$root/cluster-data"
build=1
stop_timeout=30

usage() {
  cat <<EOF
Usage: bash scripts/run-cluster.sh [options]

Builds Keel if needed (as scripts/run-broker.sh does), then runs in the
foreground one etcd and N brokers forming one cluster (cluster_id "local").

  -n, --brokers N     number of brokers, 1 to 8 (default 3)
  -d, --data-dir DIR  where everything is kept (default ./cluster-data):
                        DIR/etcd             etcd's data
                        DIR/etcd.log         etcd's log
                        DIR/broker-N         broker N's data
                        DIR/broker-N.toml    broker N's generated config
                        DIR/broker-N.log     broker N's log (also shown here,
                                             prefixed with [broker-N])
      --no-build      skip scripts/install-deps.sh and scripts/build.sh
  -h, --help          this text

Ports, all on 127.0.0.1 (each is checked first; a port in use stops the
script before anything starts, naming the port):
  etcd      client 2389, peer 2390 (not 2379/2380, which Debian's
            etcd.service may hold)
  broker N  Kafka 909(1+N): 9092, 9093, 9094, ...; HTTP 80(79+N): 8080,
            8081, 8082, ...

Clients bootstrap from any broker, e.g.
  kcat -b 127.0.0.1:9092,127.0.0.1:9093,127.0.0.1:9094 -L

Ctrl-C or SIGTERM stops every broker with SIGTERM (clean shutdown, up to
${stop_timeout}s each, then SIGKILL), then etcd. A broker that dies meanwhile
(e.g. kill -9 of a pid printed at start) is reported and the rest keep
running; the script ends when every broker has exited. Data is kept across
runs: remove the data directory for a fresh cluster.
EOF
}

die() {
  echo "run-cluster: $*" >&2
  exit 1
}

while [ $# -gt 0 ]; do
  case "$1" in
    -n | --brokers)
      [ $# -ge 2 ] || die "$1 needs a number"
      brokers="$2"
      shift 2
      ;;
    --brokers=*)
      brokers="${1#*=}"
      shift
      ;;
    -d | --data-dir)
      [ $# -ge 2 ] || die "$1 needs a directory"
      data_dir="$(realpath -m "$2")"
      shift 2
      ;;
    --data-dir=*)
      data_dir="$(realpath -m "${1#*=}")"
      shift
      ;;
    --no-build)
      build=0
      shift
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    *)
      die "unknown option '$1' (see --help)"
      ;;
  esac
done
[[ "$brokers" =~ ^[1-8]$ ]] || die "--brokers must be a number from 1 to 8, not '$brokers'"

cd "$root"

# ---- the ports: all free, or nothing starts
port_in_use() {
  # Binding is the test that matters (what the broker and etcd will do);
  # SO_REUSEADDR as they use it, so a port in TIME_WAIT counts as free.
  ! python3 - "$1" <<'PY' 2>/dev/null
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
PY
}

check_port() {
  local port="$1" what="$2"
  if port_in_use "$port"; then
    echo "run-cluster: port $port ($what) is already in use on 127.0.0.1; nothing was started." >&2
    local holder
    holder="$(ss -Hltnp "sport = :$port" 2>/dev/null | head -n 3 || true)"
    [ -n "$holder" ] && echo "run-cluster: listening there: $holder" >&2
    echo "run-cluster: stop what holds port $port (another run-cluster or run-broker?) and try again." >&2
    exit 1
  fi
}

check_port "$etcd_client_port" "etcd client"
check_port "$etcd_peer_port" "etcd peer"
for ((i = 1; i <= brokers; i++)); do
  check_port $((kafka_base + i - 1)) "broker $i Kafka"
  check_port $((http_base + i - 1)) "broker $i HTTP"
done

etcd_bin="$(command -v etcd || true)"
[ -n "$etcd_bin" ] || die "etcd is not installed: run 'sudo bash scripts/install-deps.sh' (Debian package etcd-server)"

if [ "$build" = 1 ]; then
  bash scripts/install-deps.sh
  bash scripts/build.sh
fi
keel="$root/build/kernel/keel"
[ -x "$keel" ] || die "$keel is missing: build first (bash scripts/build.sh) or drop --no-build"

mkdir -p "$data_dir"

# ---- processes, and stopping them
etcd_pid=""
broker_pids=()
tail_pids=()
stopping=0

stop_all() {
  stopping=1
  trap '' INT TERM
  local i pid
  for i in "${!broker_pids[@]}"; do
    pid="${broker_pids[$i]}"
    if kill -TERM "$pid" 2>/dev/null; then
      kill -CONT "$pid" 2>/dev/null || true # in case someone stopped it
    fi
  done
  for i in "${!broker_pids[@]}"; do
    pid="${broker_pids[$i]}"
    local waited=0
    while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt $((stop_timeout * 10)) ]; do
      sleep 0.1 # polling the broker's exit, up to stop_timeout
      waited=$((waited + 1))
    done
    if kill -0 "$pid" 2>/dev/null; then
      echo "run-cluster: broker $((i + 1)) (pid $pid) did not stop within ${stop_timeout}s: SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
  if [ -n "$etcd_pid" ] && kill -0 "$etcd_pid" 2>/dev/null; then
    kill -TERM "$etcd_pid" 2>/dev/null || true
    kill -CONT "$etcd_pid" 2>/dev/null || true
    wait "$etcd_pid" 2>/dev/null || true
  fi
  # The tails end with their broker (tail --pid); this only covers one
  # that has not noticed yet.
  for pid in "${tail_pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  echo "run-cluster: stopped; data and logs are in $data_dir"
}
trap 'stop_all; exit 0' INT TERM
trap 'if [ "$stopping" = 0 ]; then stop_all; fi' EXIT

# ---- etcd
echo "run-cluster: starting etcd on 127.0.0.1:$etcd_client_port (peer $etcd_peer_port), data in $data_dir/etcd, log $data_dir/etcd.log"
# setsid: its own process group, so the terminal's Ctrl-C reaches only this
# script, which stops the brokers before etcd.
setsid "$etcd_bin" --name keel-local --data-dir "$data_dir/etcd" \
  --listen-client-urls "http://127.0.0.1:$etcd_client_port" \
  --advertise-client-urls "http://127.0.0.1:$etcd_client_port" \
  --listen-peer-urls "http://127.0.0.1:$etcd_peer_port" \
  --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer_port" \
  --initial-cluster "keel-local=http://127.0.0.1:$etcd_peer_port" \
  --initial-cluster-state new --initial-cluster-token keel-local \
  --logger zap --log-outputs stderr >>"$data_dir/etcd.log" 2>&1 </dev/null &
etcd_pid=$!

deadline=$((SECONDS + 30))
until curl -sf -o /dev/null -X POST -d '{"key":"a2VlbA=="}' "http://127.0.0.1:$etcd_client_port/v3/kv/range"; do
  kill -0 "$etcd_pid" 2>/dev/null || die "etcd exited during start-up; the end of $data_dir/etcd.log:
$(tail -n 20 "$data_dir/etcd.log")"
  [ "$SECONDS" -lt "$deadline" ] || die "etcd did not answer on 127.0.0.1:$etcd_client_port within 30 s; see $data_dir/etcd.log"
  sleep 0.1 # polling etcd's readiness, up to the deadline
done
echo "run-cluster: etcd ready (pid $etcd_pid)"

# ---- brokers
bootstrap=""
for ((i = 1; i <= brokers; i++)); do
  kafka_port=$((kafka_base + i - 1))
  http_port=$((http_base + i - 1))
  config="$data_dir/broker-$i.toml"
  log="$data_dir/broker-$i.log"
  cat >"$config" <<EOF
# Generated by scripts/run-cluster.sh (rewritten at each run).
[broker]
data_dir = "$data_dir/broker-$i"
plugin_path = ["$root/build/plugins"]
auto_create_topics = true
log_level = "info"

[cluster]
broker_id = $i
cluster_id = "local"
coordinator = "etcd"
advertised_host = "127.0.0.1"
default_replication_factor = $((brokers < 3 ? brokers : 3))

[topic_defaults]
# acks=all needs two copies of three: one broker may die without loss.
min_insync_replicas = $((brokers >= 3 ? 2 : 1))

[cluster.etcd]
endpoints = "127.0.0.1:$etcd_client_port"
prefix = "/keel/"
session_ttl_ms = 3000

[transports.kafka]
listen = "127.0.0.1:$kafka_port"

[transports.http]
listen = "127.0.0.1:$http_port"
EOF
  # The terminal copy starts at the log's current end (the file is kept
  # across runs) and ends when the broker does.
  : >>"$log" # exists before tail looks: tail --pid gives up on a missing file once the broker is gone
  start_byte=$(($(stat -c %s "$log") + 1))
  setsid "$keel" --config "$config" >>"$log" 2>&1 </dev/null &
  pid=$!
  broker_pids+=("$pid")
  tail -c +"$start_byte" -F --pid="$pid" "$log" 2>/dev/null | sed -u "s/^/[broker-$i] /" &
  tail_pids+=($!)
  echo "run-cluster: broker $i (pid $pid): Kafka 127.0.0.1:$kafka_port, HTTP 127.0.0.1:$http_port, data $data_dir/broker-$i, log $log"
  bootstrap+="${bootstrap:+,}127.0.0.1:$kafka_port"
done
echo "run-cluster: bootstrap servers: $bootstrap   (Ctrl-C stops the cluster)"

# ---- supervise: report a broker or etcd that exits; end when no broker is left
declare -A names=(["$etcd_pid"]="etcd")
for i in "${!broker_pids[@]}"; do
  names["${broker_pids[$i]}"]="broker $((i + 1))"
done
running=("${broker_pids[@]}" "$etcd_pid")
while [ ${#running[@]} -gt 0 ]; do
  exited=""
  set +e
  wait -n -p exited "${running[@]}"
  code=$?
  set -e
  if [ -z "$exited" ]; then
    [ "$code" -gt 128 ] && continue # a signal: its trap ran
    break                           # nothing left to wait for
  fi
  echo "run-cluster: ${names[$exited]} (pid $exited) exited with status $code" >&2
  remaining=()
  for pid in "${running[@]}"; do
    [ "$pid" = "$exited" ] || remaining+=("$pid")
  done
  running=("${remaining[@]}")
  left=0
  for pid in "${broker_pids[@]}"; do
    kill -0 "$pid" 2>/dev/null && left=$((left + 1))
  done
  if [ "$left" = 0 ]; then
    echo "run-cluster: no broker is running any more" >&2
    stop_all
    exit 1
  fi
done
