#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Prints a scenario with COUNT VMs (default 2000) run for SECONDS (default 600) on the simulated
# host, each VM with its own floor_mib (so each is one `vms:` entry that matters), for timing the
# controller at scale: scripts/many_vms_scenario.sh 2000 600 >/tmp/s.yaml &&
# time build/daemon/balloond --scenario /tmp/s.yaml
# Usage: scripts/many_vms_scenario.sh [COUNT] [SECONDS]
set -euo pipefail
count=${1:-2000}
seconds=${2:-600}
cat <<YAML
name: $count VMs for $seconds s
clock: {tick_s: 1, max_s: $seconds}
host: {total_mib: $((count * 1024)), reserve_mib: 1024}
vms:
YAML
for ((i = 0; i < count; i++)); do
  echo "  - {name: vm$i, max_mib: 2048, floor_mib: $((200 + i % 7 * 16)), workload: {phases: [{kind: periodic, low_mib: 100, high_mib: 1200, period_s: $((30 + i % 17))}]}}"
done
cat <<YAML
expect:
  invariants: [no_target_below_floor, no_target_above_ceiling]
YAML
