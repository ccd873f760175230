#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs what is missing, builds, and runs the whole test suite with ctest; then builds the
# sanitizer tree (clang, AddressSanitizer and UndefinedBehaviorSanitizer: the asan-ubsan preset)
# and runs the unit tests, the scenarios and each fuzz target briefly under it.
# Exits non-zero on any failure. Usage: scripts/test.sh [extra ctest args for the first run]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
jobs=$(nproc 2>/dev/null || echo 2)
ctest --test-dir build --output-on-failure -j "$jobs" "$@"
scripts/sanitize.sh
