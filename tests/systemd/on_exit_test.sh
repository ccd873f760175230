#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# on_exit end to end on the simulated host: with `restore`, SIGTERM gives every managed VM its
# max back (target-set ... reason=on-exit-restore) and leaves an excluded one alone; with `keep`
# (the default), nothing is pushed on the way out. Usage: on_exit_test.sh BALLOOND
set -euo pipefail
balloond=$1
. "$(dirname "$0")/../harness.sh"

# Two idle VMs the policy shrinks at once, and an excluded one that starts below its max.
write_config() {
  cat >"$work/balloond.yaml" <<YAML
tick_s: 0.2
channel:
  type: sim
  sim:
    total_mib: 8192
    vms:
      - name: a
        max_mib: 2048
        workload: {cache_mib: 64, phases: [{kind: constant, mib: 200}]}
      - name: b
        max_mib: 1536
        workload: {cache_mib: 64, phases: [{kind: constant, mib: 150}]}
      - name: c
        max_mib: 1024
        actual_mib: 768
        workload: {cache_mib: 64, phases: [{kind: constant, mib: 150}]}
policy:
  name: margin
  params: {margin: 0.2, hysteresis: 0.05}
vms:
  - {match: c, excluded: true}
control:
  socket: $work/control.sock
YAML
  [ -n "$1" ] && echo "on_exit: $1" >>"$work/balloond.yaml"
  return 0
}

# Runs until both a and b were shrunk, then SIGTERM; expects exit status 0.
run_and_stop() {
  : >"$work/log"
  "$balloond" --config "$work/balloond.yaml" 2>"$work/log" &
  pid=$!
  wait_for "target-set vm=a .*reason=available-above-margin"
  wait_for "target-set vm=b .*reason=available-above-margin"
  kill -TERM "$pid"
  status=0
  wait "$pid" || status=$?
  pid=""
  [ "$status" -eq 0 ] || { echo "FAIL: exit status $status after SIGTERM"; cat "$work/log"; exit 1; }
  grep -q "daemon-stopping reason=SIGTERM" "$work/log" || { echo "FAIL: no clean stop"; exit 1; }
}

# The part of the log after the stop began.
after_stop() { sed -n '/daemon-stopping/,$p' "$work/log"; }

write_config restore
run_and_stop
for vm_max in a:2048 b:1536; do
  vm=${vm_max%:*} max=${vm_max#*:}
  after_stop | grep -q "target-set vm=$vm from_mib=[0-9]* to_mib=$max reason=on-exit-restore" ||
    { echo "FAIL: $vm not restored to $max MiB on exit"; cat "$work/log"; exit 1; }
done
if after_stop | grep -q "target-set vm=c "; then
  echo "FAIL: the excluded VM c was pushed on exit"; cat "$work/log"; exit 1
fi
after_stop | grep -q "on-exit-restore vms=2" ||
  { echo "FAIL: no on-exit-restore vms=2 summary"; cat "$work/log"; exit 1; }
# And no policy push after the restore: the restored sizes are the last word.
last=$(grep "target-set vm=[ab] " "$work/log" | tail -2)
if echo "$last" | grep -qv "reason=on-exit-restore"; then
  echo "FAIL: a push after the restore: $last"; exit 1
fi
echo "restore: a and b back to their max on SIGTERM, excluded c untouched"

for setting in keep ""; do
  write_config "$setting"
  run_and_stop
  if after_stop | grep -q "target-set\|on-exit-restore"; then
    echo "FAIL: on_exit '${setting:-default}' pushed on the way out"; cat "$work/log"; exit 1
  fi
  echo "${setting:-default (keep)}: nothing pushed on SIGTERM"
done
echo "on_exit_test: 3 passed, 0 failed"
