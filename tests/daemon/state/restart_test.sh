#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# State across a crash, end to end on the simulated host: pin one VM and exclude another with
# balloonctl, wait until a guest whose balloon driver is stuck is flagged, SIGKILL the daemon,
# start it again with the same config, and check that the pin, the exclusion and the flag are
# back and that no VM's target is below its floor. A corrupt state file is then moved aside and
# the daemon still starts. Usage: state_restart_test.sh BALLOOND BALLOONCTL
set -euo pipefail
balloond=$1
ctl_bin=$2
. "$(dirname "$0")/../../harness.sh"

passed=0
ctl() { "$ctl_bin" --socket "$work/control.sock" "$@"; }
start() {
  : >"$work/log"
  "$balloond" --config "$work/balloond.yaml" 2>"$work/log" &
  pid=$!
  wait_for "control-listening"
}

mkdir "$work/state"
cat >"$work/balloond.yaml" <<EOF
tick_s: 0.2
default_floor_mib: 256
state_dir: $work/state
control:
  socket: $work/control.sock
channel:
  type: sim
  sim:
    total_mib: 8192
    vms:
      - name: pinned
        max_mib: 2048
        actual_mib: 2048
        workload: {phases: [{kind: constant, mib: 300}]}
      - name: stuck1
        max_mib: 2048
        actual_mib: 2048
        workload: {phases: [{kind: constant, mib: 200}]}
        driver: {model: stuck}
      - name: other
        max_mib: 2048
        actual_mib: 2048
        workload: {phases: [{kind: constant, mib: 250}]}
policy:
  name: margin
  params: {margin: 0.2, hysteresis: 0.05}
acks:
  stuck_after_s: 1
  uncooperative_window_s: 4
EOF

start
wait_for "target-set vm=stuck1"
ctl vm-set pinned --pin 1000 >/dev/null || fail "vm-set --pin"
ctl vm-set other --exclude >/dev/null || fail "vm-set --exclude"
wait_for "vm-state vm=stuck1 .*to=(stuck|uncooperative)"
sleep 0.5  # a tick or two, so the state file has caught up
[ -f "$work/state/state.json" ] || fail "no state file in $work/state"
kill -KILL "$pid"
wait "$pid" 2>/dev/null || true
pid=""
passed=$((passed + 1))

start
wait_for "state-restored vms=3 overrides=2"
wait_for "vm-restored vm=stuck1"
grep -q "vm-added" "$work/log" && fail "a restored VM was treated as new"
ctl --json vm-list >"$work/list.json" || fail "vm-list"
ctl --json vm-get stuck1 >"$work/stuck1.json" || fail "vm-get stuck1"
python3 - "$work/list.json" "$work/stuck1.json" <<'PY' || fail "the restored state is wrong"
import json, sys
vms = {v["name"]: v for v in json.load(open(sys.argv[1]))["arguments"]["vms"]}
stuck1 = json.load(open(sys.argv[2]))["arguments"]
def check(ok, what):
    if not ok:
        print("FAIL:", what)
        sys.exit(1)
check(vms["pinned"]["runtime_override"].get("pin_kib") == 1000 * 1024,
      "pin not restored: %s" % vms["pinned"]["runtime_override"])
check(vms["other"]["runtime_override"].get("excluded") is True,
      "exclusion not restored: %s" % vms["other"]["runtime_override"])
check(vms["other"]["state"] == "excluded", "other is %s" % vms["other"]["state"])
check(stuck1["state"] in ("stuck", "uncooperative"),
      "stuck1's flag not restored: %s (%s)" % (stuck1["state"], stuck1.get("state_reason")))
check(len(stuck1["decisions"]) >= 2, "stuck1's decision history lost: %s" % stuck1["decisions"])
for v in vms.values():
    check(v["target_kib"] >= v["floor_kib"],
          "%s: target %d below floor %d" % (v["name"], v["target_kib"], v["floor_kib"]))
PY
passed=$((passed + 1))

# The pin is applied again (the simulated host restarted with every guest at its max).
for _ in $(seq 50); do
  ctl --json vm-get pinned | grep -q '"target_kib":1024000' && break
  sleep 0.1
done
ctl --json vm-get pinned | grep -q '"target_kib":1024000' || fail "the pin is not in force"
passed=$((passed + 1))

# A clean stop writes the state; a corrupt file is moved aside and the daemon starts fresh.
kill -TERM "$pid"
wait "$pid" || fail "exit status $? after SIGTERM"
pid=""
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$work/state/state.json" ||
  fail "the state file is not valid JSON after a clean stop"
printf '{"version": 1, "vms": {' >"$work/state/state.json"
start
wait_for "state-corrupt .*moved_to=$work/state/state.json.corrupt-[0-9]+ starting=fresh"
ls "$work/state"/state.json.corrupt-* >/dev/null || fail "the corrupt file is gone"
wait_for "vm-added vm=stuck1"
ctl vm-list >/dev/null || fail "vm-list after a corrupt state file"
passed=$((passed + 1))

echo "state_restart_test: $passed passed, 0 failed"
