#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs balloond on its built-in simulated host, in real time, with the demo config: 8 VMs with
# mixed workloads on an overcommitted 16 GiB host. Prints the live per-VM view every second and
# a summary at the end. Stops on Ctrl-C or after --duration SECONDS.
# Usage: scripts/demo.sh [--duration SECONDS] [--config FILE]
set -euo pipefail
cd "$(dirname "$0")/.."

duration=""
config=config/examples/demo.yaml
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration="${2:?--duration needs SECONDS}"; shift 2 ;;
    --config) config="${2:?--config needs FILE}"; shift 2 ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) echo "demo: unknown argument '$1'" >&2; exit 2 ;;
  esac
done

echo "demo: building (the first run installs packages and compiles: a few minutes)"
mkdir -p build
scripts/build.sh >build/demo-build.log 2>&1 || { cat build/demo-build.log; exit 1; }
log=build/demo.log
# The demo's control socket lives in build/, so it needs no root and no /run.
cfg=build/demo.yaml
sock=$PWD/build/demo.sock
if grep -q '^control:' "$config"; then
  cp "$config" "$cfg"
else
  { cat "$config"; printf '\ncontrol: {socket: %s}\n' "$sock"; } >"$cfg"
fi
echo "demo: balloond on the simulated host (config $config; daemon log in $log)"
echo "demo: in another terminal: build/ctl/balloonctl --socket $sock top"
args=(--config "$cfg" --view)
[ -n "$duration" ] && args+=(--duration "$duration")
exec build/daemon/balloond "${args[@]}" 2>"$log"
