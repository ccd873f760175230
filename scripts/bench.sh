#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds balloond Release into build-bench/, runs the benchmarks and prints one table: each figure
# of balloond's own cost, its value on this machine and its goal. Writes the raw results to
# build-bench/results/ and redraws bench/tick_cost.png (tick CPU against VM count).
# Usage: scripts/bench.sh [--guests]
#   --guests  also run bench/idle_guests.sh: 8 real TCG guests under libvirtd, the whole daemon's
#             CPU per tick and peak RSS (needs root; about 4 minutes). Without it that row says
#             "not run".
# Takes about 3 minutes without --guests on 2 cores (plus the build).
set -euo pipefail
cd "$(dirname "$0")/.."
guests=false
for a in "$@"; do
  case "$a" in
    --guests) guests=true ;;
    *) echo "usage: scripts/bench.sh [--guests]" >&2; exit 2 ;;
  esac
done
scripts/deps.sh python3-matplotlib
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-bench -j "$jobs" --target balloond balloonctl balloond_bench \
  balloond_policy_bench balloond_limits_bench >/dev/null
out=build-bench/results
mkdir -p "$out"
run() {  # NAME BINARY [ARGS...]: one benchmark binary, its results as JSON
  local name=$1
  shift
  echo "bench: $name" >&2
  "$@" --benchmark_format=json --benchmark_out="$out/$name.json" --benchmark_out_format=json \
    >/dev/null
}
run policy build-bench/bench/balloond_policy_bench --benchmark_min_time=0.5
run tick build-bench/bench/balloond_bench --benchmark_min_time=0.5 --benchmark_filter=BM_ControllerTick
run limits build-bench/bench/balloond_limits_bench
rm -f "$out/guests.txt"
if $guests; then
  echo "bench: idle guests (about 4 minutes)" >&2
  bench/idle_guests.sh build-bench/daemon/balloond build-bench/ctl/balloonctl \
    build-bench/idle-guests | tee "$out/guests.log" | grep '^idle_guests ' >"$out/guests.txt" || true
fi
/usr/bin/python3 bench/plot_tick_cost.py "$out" bench/tick_cost.png
/usr/bin/python3 bench/report.py "$out"
