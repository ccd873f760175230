#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# One fuzz target as a test: a fixed seed and a fixed number of runs from its seeds alone, in a
# fresh scratch corpus, so the test sees the same inputs on every machine (deterministic, unlike
# scripts/fuzz.sh, which keeps its corpus and runs by time). Fails on any crash, leak, timeout or
# sanitizer report; the input that failed is kept in ARTIFACTS.
# Usage: run_fuzz_test.sh BINARY RUNS ARTIFACTS SEED_DIR...
set -euo pipefail
binary=$1
runs=$2
artifacts=$3
shift 3
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$artifacts"
seeds=()
for dir in "$@"; do
  [ -d "$dir" ] && seeds+=("$dir")  # a seed folder git did not keep (empty) is no seed
done
exec "$binary" -seed=1 -runs="$runs" -timeout=10 -print_final_stats=1 -close_fd_mask=3 \
  -artifact_prefix="$artifacts/" "$scratch" "${seeds[@]}"
