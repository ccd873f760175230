#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Configures and builds balloond into build/ (Release with debug info). Usage: scripts/build.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$jobs"
