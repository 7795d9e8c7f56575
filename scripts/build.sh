#!/usr/bin/env bash
# Configures (first run only) and builds Keel in build/ at the repository
# root. Incremental: a second run rebuilds only what changed, and CMake
# re-runs its own configure step when a CMakeLists.txt changed.
#   bash scripts/build.sh                          # broker, plugins, tests, benchmarks
#   bash scripts/build.sh -DKEEL_BUILD_BENCH=OFF   # cache options; later runs keep them
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$root/build"
cache="$build/CMakeCache.txt"

# Re-running cmake's configure step costs seconds: do it only when there is
# no cache yet or an option given here differs from the cached value.
configure=0
[ -f "$cache" ] || configure=1
for arg in "$@"; do
  if [ "$configure" = 1 ]; then
    break
  elif [[ "$arg" =~ ^-D([A-Za-z0-9_]+)(:[A-Z]+)?=(.*)$ ]]; then
    cached="$(sed -n "s/^${BASH_REMATCH[1]}:[A-Z]*=//p" "$cache" | head -n 1)"
    [ "$cached" = "${BASH_REMATCH[3]}" ] || configure=1
  else
    configure=1
  fi
done
if [ "$configure" = 1 ]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@"
fi
# Two jobs: the reference machine (and CI) has 2 cores.
cmake --build "$build" -j2
