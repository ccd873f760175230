#!/usr/bin/env bash
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

scripts/build.sh >/dev/null
log=build/demo.log
echo "demo: balloond on the simulated host (config $config; daemon log in $log)"
args=(--config "$config" --view)
[ -n "$duration" ] && args+=(--duration "$duration")
exec build/daemon/balloond "${args[@]}" 2>"$log"
