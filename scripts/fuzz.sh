#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs every libFuzzer target (tests/fuzz/) for SECONDS each (default 60), one after another on
# all cores (-fork), and prints per target the executions, the corpus size and the crashes
# found. Builds the asan-ubsan preset first. New corpus entries stay in build-asan/; crashes go
# to build-asan/tests/fuzz/<target>/artifacts/. Exits non-zero if any target crashed.
# BALLOOND_FUZZ_JOBS sets the processes per target (default: all cores); BALLOOND_FUZZ_MAX_RUNS
# also stops a target after that many executions (e.g. 10000000: "10 million or SECONDS").
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
scripts/deps.sh
jobs=${BALLOOND_FUZZ_JOBS:-$(nproc 2>/dev/null || echo 2)}
max_runs=${BALLOOND_FUZZ_MAX_RUNS:-}
cmake --preset asan-ubsan >/dev/null
cmake --build --preset asan-ubsan -j "$jobs" >/dev/null
fuzz=build-asan/tests/fuzz
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for bin in "$fuzz"/fuzz_*; do targets+=("${bin##*/fuzz_}"); done
fi
# Seeds beyond corpus/<target>: the project's own example files, where they fit.
declare -A extra=([config]=config/examples [scenario]=tests/scenarios)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
printf '%-16s %12s %8s %10s %8s\n' target execs seconds corpus crashes
failed=0
for t in "${targets[@]}"; do
  work=$fuzz/$t
  mkdir -p "$work/corpus" "$work/artifacts"
  log=$work/fuzz.log
  set +e
  "$fuzz/fuzz_$t" -max_total_time="$seconds" -print_final_stats=1 -close_fd_mask=3 \
    -fork="$jobs" ${max_runs:+-runs="$max_runs"} -ignore_crashes=1 -artifact_prefix="$work/artifacts/" \
    "$work/corpus" "tests/fuzz/corpus/$t" ${extra[$t]:+"${extra[$t]}"} >"$log" 2>&1
  set -e
  # -fork prints running totals ("#N: cov: ... corp: M/...; exec/s ..."): the last one counts.
  execs=$(grep -oE '^#[0-9]+' "$log" | tail -n 1 | tr -d '#')
  took=$(grep -oE ' time: [0-9]+s' "$log" | tail -n 1 | grep -oE '[0-9]+')
  corpus=$(find "$work/corpus" -type f | wc -l)
  crashes=$(find "$work/artifacts" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
  printf '%-16s %12s %8s %10s %8s\n' "$t" "${execs:-?}" "${took:-?}" "$corpus" "$crashes"
  [ "$crashes" -eq 0 ] || failed=1
done
exit $failed
