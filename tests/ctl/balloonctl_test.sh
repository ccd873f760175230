#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# balloonctl against a running balloond on the simulated host: every subcommand, human and
# --json output, exit codes, and a daemon that is missing or does not answer.
# Usage: balloonctl_test.sh BALLOOND BALLOONCTL SRC_DIR
set -euo pipefail
balloond=$1
ctl_bin=$2
src=$3
. "$(dirname "$0")/../harness.sh"

passed=0
ok() { passed=$((passed + 1)); }

# Runs balloonctl; sets $out (stdout+stderr) and $rc.
ctl() {
  rc=0
  out=$("$ctl_bin" --socket "$work/control.sock" "$@" 2>&1) || rc=$?
}
# expect RC PATTERN ARGS...: exit code RC and output matching PATTERN (grep -E).
expect() {
  local want=$1 pattern=$2
  shift 2
  ctl "$@"
  [ "$rc" -eq "$want" ] || fail "balloonctl $*: exit $rc, want $want; output: $out"
  grep -qE -- "$pattern" <<<"$out" || fail "balloonctl $*: no '$pattern' in: $out"
  ok
}

# The margin rule from the first report (no 10 s first-sight hold): decisions within seconds.
sed -e 's/^tick_s: 1$/tick_s: 0.2/' -e 's/hysteresis: 0.05}/hysteresis: 0.05, peak_window_s: 0}/' \
  "$src/config/examples/demo.yaml" >"$work/balloond.yaml"
printf 'control:\n  socket: %s/control.sock\n  idle_timeout_s: 5\n' "$work" >>"$work/balloond.yaml"
"$balloond" --config "$work/balloond.yaml" 2>"$work/log" &
pid=$!
wait_for "control-listening"
wait_for "target-set vm=idle1"
sleep 0.5  # a few more ticks, so idle1 has decisions

expect 0 "^  vm-set NAME \\[--pin MIB\\]" help
expect 0 "^  top \\[--count N\\]" help
expect 0 "exit status: 0 ok" help
expect 2 "unknown subcommand 'vm-frobnicate'" vm-frobnicate
expect 2 "vm-get: expected one VM name" vm-get
expect 2 "takes no arguments" vm-list extra

expect 0 "^vm-set +mutating" list-commands
expect 0 "^snapshot-get +read-only" list-commands
expect 0 "channel: +sim \(connected\)" status-get
expect 0 "^VMs: +[0-9]+ " status-get
expect 0 '"result":0' --json status-get
expect 0 "^idle1 +1024 " vm-list
expect 0 "^db1 +6144 " vm-list
expect 0 '"vms":\[' --json vm-list
expect 0 "^idle1: (settled|converging)" vm-get idle1
expect 0 "last 2 decisions:" vm-get idle1 --decisions 2
expect 0 "available-above-margin" vm-get idle1 --decisions 2
expect 3 "no VM named 'ghost'" vm-get ghost
expect 3 '"result":3' --json vm-get ghost

expect 0 "override set" vm-set idle1 --pin 600
expect 0 "runtime override \(until cleared\): pin 600 MiB" vm-get idle1
sleep 0.5
expect 0 '"target_kib":614400' --json vm-get idle1
expect 0 "^idle1 .*\[runtime override\]" vm-list
expect 0 "override set" vm-set web1 --floor 2000 --ceiling 2500
expect 0 "floor 2000 MiB ceiling 2500 MiB" vm-get web1
expect 0 "override set" vm-set spiky --exclude
sleep 0.5
expect 0 "^spiky .* excluded " vm-list
expect 0 "overrides cleared" vm-set idle1 --clear
expect 1 "pin_mib must be at most the VM's max \(1024 MiB\)" vm-set idle1 --pin 5000
expect 3 "no VM named 'ghost'" vm-set ghost --pin 1
expect 2 "nothing to set" vm-set idle1

expect 0 '"policy"' config-get
expect 0 '"result":0' --json config-get
expect 0 ": ok$" config-test
cp "$work/balloond.yaml" "$work/bad.yaml"
sed -i 's/^tick_s: 0.2$/tick_s: 0/' "$work/bad.yaml"
expect 1 "bad.yaml:[0-9]+:[0-9]+: tick_s: must be between 0.05 and 60, got 0" \
  config-test "$work/bad.yaml"
expect 0 "reloaded .*balloond.yaml" config-reload
wait_for "config-reloaded policy=margin"

expect 3 "no reclaim has been requested" reclaim-get
expect 1 "^reclaim 1: cannot-free \(0 of 100000 MiB freed\)" reclaim 100000
expect 1 "floors leave only [0-9]+ MiB to give of the 100000 MiB asked" reclaim-get
expect 2 "reclaim: expected the MiB to free" reclaim
ctl reclaim 256 --wait
[ "$rc" -eq 0 ] || fail "reclaim 256 --wait: exit $rc: $out"
grep -qE "^reclaim 2: in-progress" <<<"$out" || fail "reclaim: no plan first: $out"
grep -qE "^  plan: [a-z0-9]+ +gives +[0-9]+ MiB" <<<"$out" || fail "reclaim: no plan: $out"
grep -qE "^reclaim 2: success \([0-9]+ of 256 MiB freed\)" <<<"$out" || fail "reclaim: $out"
ok
expect 0 '"outcome":"success"' --json reclaim-get

expect 0 "^paused; [0-9]+ VMs given their max" daemon-pause --restore
expect 1 "the daemon is paused: daemon-resume first" reclaim 64
expect 0 "PAUSED" status-get
expect 0 '"paused":true' --json status-get
expect 0 "^running$" daemon-resume
expect 0 '"vms":\[' --json snapshot-get
expect 0 '"time_s"' snapshot-get
# snapshot-get is the offline-evaluation input: balloond --evaluate replays it.
"$ctl_bin" --socket "$work/control.sock" snapshot-get >"$work/dump.json" || fail "snapshot-get"
"$balloond" --evaluate "$work/dump.json" --config "$work/balloond.yaml" >"$work/eval.json" 2>&1 ||
  fail "balloond --evaluate of snapshot-get's output: $(cat "$work/eval.json")"
grep -q '"decisions"' "$work/eval.json" || fail "no decisions from --evaluate: $(cat "$work/eval.json")"
ok

ctl top --count 2
[ "$rc" -eq 0 ] || fail "top: exit $rc: $out"
[ "$(grep -c '^channel:' <<<"$out")" -eq 2 ] || fail "top --count 2: want 2 refreshes: $out"
ok
t0=$(date +%s%N)
ctl top --count 3
elapsed_ms=$((($(date +%s%N) - t0) / 1000000))
[ "$elapsed_ms" -ge 1900 ] && [ "$elapsed_ms" -lt 5000 ] ||
  fail "top --count 3 took $elapsed_ms ms, want about 2 s (one refresh per second)"
ok

# A daemon that does not answer (stopped), and one that is not there.
kill -STOP "$pid"
ctl --timeout 0.5 status-get
[ "$rc" -eq 6 ] || fail "stopped daemon: exit $rc, want 6: $out"
grep -q "no answer from the daemon" <<<"$out" || fail "stopped daemon: $out"
ok
kill -CONT "$pid"
expect 0 "channel:" status-get

kill -TERM "$pid"
wait "$pid" || fail "daemon exit status $?"
pid=""
[ ! -e "$work/control.sock" ] || fail "the socket was left behind"
ok
expect 5 "No such file or directory \(is balloond running\? see --socket\)" status-get

echo "balloonctl_test: $passed passed, 0 failed"
