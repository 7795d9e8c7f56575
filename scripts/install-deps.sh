#!/usr/bin/env bash
# Installs, from Debian 12's archive, everything Keel needs to build, test and
# benchmark. Idempotent: packages already present are skipped, so a second run
# costs one dpkg query.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake pkg-config clang-format
  # kernel and SDK
  libboost-dev libboost-filesystem-dev libboost-program-options-dev libboost-system-dev
  libtomlplusplus-dev libspdlog-dev libfmt-dev
  # security: SCRAM's PBKDF2/HMAC/SHA-2 (libcrypto), TLS later; the openssl
  # CLI makes the tests' certificates
  libssl-dev openssl
  # Kafka record codecs
  zlib1g-dev libsnappy-dev liblz4-dev libzstd-dev
  # HTTP transport
  nlohmann-json3-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  librdkafka-dev kcat python3 python3-kafka curl
  # idempotent_producer_test installs kafkajs from npm (see npm below)
  nodejs
  # cluster coordination: etcd (the etcd coordinator's store; its tests start
  # their own etcd on free loopback ports) and etcdctl for operators and
  # cross-checks. Debian enables an etcd.service on 2379 that nothing of Keel
  # relies on.
  etcd-server etcd-client
  # power-loss tests: the keel-lazyfs FUSE file system
  libfuse3-dev fuse3
  # the HTTP console (plugins/transport/http/console): Chart.js, embedded into
  # the plugin at build time; its browser test drives headless Chromium
  libjs-chart.js chromium chromium-driver python3-selenium
  # fuzzing and sanitizer builds (scripts/fuzz.sh, scripts/sanitize.sh)
  clang-14 libfuzzer-14-dev libclang-rt-14-dev
)

# Debian's nodejs 18 comes without npm, which is the separate `npm` package;
# a Node.js from elsewhere (NodeSource's nodejs bundles npm and conflicts
# with Debian's npm package) is kept as it is.
if ! command -v npm >/dev/null; then
  packages+=(npm)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "install-deps: run as root (or with sudo) to install them" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
