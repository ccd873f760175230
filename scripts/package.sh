#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the Debian package: a Release build under the /usr prefix in build/package-release,
# then cpack. Prints the .deb's path; install it with `apt install ./build/package/<file>`.
# Usage: scripts/package.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build/package-release -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr \
  -DBALLOOND_BUILD_TESTS=OFF -DBALLOOND_BUILD_BENCH=OFF >/dev/null
cmake --build build/package-release -j "$jobs"
cpack --config build/package-release/CPackConfig.cmake -G DEB -B build/package >/dev/null
ls build/package/balloond_*_amd64.deb
