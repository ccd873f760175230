#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the asan-ubsan preset (clang with AddressSanitizer and UndefinedBehaviorSanitizer, no
# benchmarks, the libFuzzer targets) into build-asan/ and runs the unit tests, the scenarios and
# each fuzz target (BALLOOND_FUZZ_SECONDS each, 20 by default) under it. Any sanitizer report
# fails the run. Usage: scripts/sanitize.sh [extra ctest args]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
jobs=$(nproc 2>/dev/null || echo 2)
cmake --preset asan-ubsan >/dev/null
cmake --build --preset asan-ubsan -j "$jobs"
# Leaks fail a test too; libvirt's client keeps a few process-wide allocations by design.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --preset asan-ubsan -L 'unit|scenario|fuzz' -j "$jobs" "$@"
