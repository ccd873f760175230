#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the asan-ubsan preset (clang with AddressSanitizer and UndefinedBehaviorSanitizer, no
# benchmarks, the libFuzzer targets) into build-asan/ and runs the unit tests, the scenarios and
# each fuzz target (a fixed seed, BALLOOND_FUZZ_RUNS executions) under it. Any sanitizer report
# fails the run. Usage: scripts/sanitize.sh [extra ctest args]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
jobs=$(nproc 2>/dev/null || echo 2)
cmake --preset asan-ubsan >/dev/null
cmake --build --preset asan-ubsan -j "$jobs"
# Leaks fail a test too, but for what libvirt's client keeps for the process by design.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/sanitizers/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --preset asan-ubsan -L 'unit|scenario|fuzz' -j "$jobs" "$@"
