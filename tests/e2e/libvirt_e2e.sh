#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# End-to-end: balloond's libvirt channel against a real libvirtd and real QEMU guests (TCG).
#
# Boots three tiny guests (tests/e2e/build_guest.sh) named bd-e2e-<pid>-*, runs balloond on
# qemu:///system, and checks:
#   1. idle:    an idle guest is reclaimed toward its floor, and BALLOON_CHANGE acks are observed
#   2. grow:    a guest whose workload grows gets memory back before the workload is OOM-killed
#   3. restart: libvirtd killed (SIGKILL) and restarted mid-run: balloond reconnects and keeps
#               every VM's state (no VM removed or added again)
#   4. destroy: a guest destroyed while balloond is pushing targets to it is handled cleanly
#   5. nodrv:   a guest with a balloon device but no driver is reported as no-driver, left alone
#   6. crash:   balloond SIGKILLed mid-run and started again with the same config: the pin and
#               the exclusion set with balloonctl and the no-driver flag come back from
#               state_dir at the first tick, and no guest goes below its floor meanwhile
#               (run after 3 and before 4, on the guests already booted)
# Starts virtlogd and libvirtd when they are not running and stops only what it started; destroys
# only its own guests, by name. Every wait is bounded. Needs root; exits 77 (skip) without it.
# Usage: libvirt_e2e.sh BALLOOND_BINARY BALLOONCTL_BINARY SOURCE_DIR WORK_DIR
set -uo pipefail

balloond=$1
balloonctl=$2
src=$3
work=$4
uri=qemu:///system
prefix="bd-e2e-$$"
t0=$(date +%s)

skip() {
  echo "SKIP: $*"
  exit 77
}
log() { echo "[e2e +$(($(date +%s) - t0))s] $*"; }

[ "$(id -u)" -eq 0 ] || skip "needs root to run libvirtd (qemu:///system) and QEMU guests"
for b in libvirtd virtlogd virsh qemu-system-x86_64 gcc cpio python3; do
  command -v "$b" >/dev/null 2>&1 || skip "'$b' is not installed (scripts/deps.sh installs it)"
done
for d in /dev/null /dev/urandom /dev/ptmx; do
  [ -c "$d" ] || skip "no access to $d (needed by libvirtd and QEMU)"
done

mkdir -p "$work"
guest=$(bash "$src/tests/e2e/build_guest.sh" "$work/guest" | tail -n 1) || {
  echo "FAIL: cannot build the guest image"
  exit 1
}
run=/var/lib/libvirt/images/$prefix
daemon_log=$work/balloond.log
view_log=$work/view.log
state_dir=$work/state  # emptied at each run: a run starts without the last run's overrides
daemon_pid=""
watch_pid=""
failures=0
domains=()

cleanup() {
  set +e
  if [ -n "$watch_pid" ]; then
    kill "$watch_pid" 2>/dev/null
    wait "$watch_pid" 2>/dev/null
  fi
  if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
    kill "$daemon_pid"
    for _ in $(seq 50); do kill -0 "$daemon_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$daemon_pid" 2>/dev/null
  fi
  for d in "${domains[@]}"; do
    virsh_ domstate "$d" >/dev/null 2>&1 && virsh_ destroy "$d" >/dev/null 2>&1
  done
  libvirt_stop_started
  rm -rf "$run"
}
trap cleanup EXIT

# shellcheck source=tests/e2e/lib.sh
. "$src/tests/e2e/lib.sh"
# shellcheck source=tests/e2e/libvirt_host.sh
. "$src/tests/e2e/libvirt_host.sh"

libvirt_ensure || {
  echo "FAIL: libvirtd did not start"
  exit 1
}

mkdir -p "$run" && chmod 755 "$run"
cp "$guest/vmlinuz" "$guest/initrd.gz" "$run/"
chmod 644 "$run"/*

# start_guest NAME CMDLINE-EXTRA: a transient 512 MiB TCG guest with a virtio balloon device
# (no stats period: balloond turns it on) and its serial console in $run/$prefix-NAME.console.
start_guest() {
  local name=$prefix-$1
  guest_xml "$name" 512 "$run" "$2" >"$run/$1.xml"
  domains+=("$name")
  virsh_ create "$run/$1.xml" >/dev/null || return 1
}

actual_mib() {
  virsh_ dommemstat "$prefix-$1" 2>/dev/null | awk '$1 == "actual" {print int($2 / 1024)}'
}
below() { local a; a=$(actual_mib "$1"); [ -n "$a" ] && [ "$a" -le "$2" ]; }
in_log() { grep -qE "$1" "$daemon_log"; }
in_console() { grep -qE "$2" "$run/$prefix-$1.console" 2>/dev/null; }
count_log() { grep -cE "$1" "$daemon_log"; }
last_ack_mib() {
  grep -E "balloon-ack vm=$prefix-$1 " "$daemon_log" | tail -n 1 | sed -E 's/.*actual_mib=([0-9]+).*/\1/'
}
# The guest is below $2 MiB and the latest BALLOON_CHANGE ack says where it is (within 1 MiB).
acked_below() {
  local a l
  a=$(actual_mib "$1")
  l=$(last_ack_mib "$1")
  [ -n "$a" ] && [ -n "$l" ] && [ "$a" -le "$2" ] && [ $((a - l)) -le 1 ] && [ $((l - a)) -le 1 ]
}

cat >"$work/balloond.yaml" <<YAML
tick_s: 1
default_floor_mib: 128
channel:
  type: libvirt
  libvirt:
    uri: "$uri"
    set_stats_period: true
    stats_period_s: 1
    reconnect_max_s: 4
policy: {name: margin, params: {margin: 0.2, hysteresis: 0.05}}
guards:
  inflate_step_mib: 64
  deflate_step_mib: 512
  min_change_mib: 8
  need_margin_mib: 64
  grow_holdoff_s: 5
  host_reserve_mib: 1024
vms:
  - {match: "*", excluded: true}          # never touch guests this test did not start
  - {match: "$prefix-*", excluded: false}
control: {socket: "$work/control.sock"}   # not the system's /run/balloond
state_dir: "$state_dir"                   # not the system's /var/lib/balloond
YAML
rm -rf "$state_dir" && mkdir -p "$state_dir"
: >"$daemon_log"
: >"$view_log"

# Logs are appended to: step 6 starts a second balloond after killing the first.
start_daemon() {
  "$balloond" --config "$work/balloond.yaml" --view >>"$view_log" 2>>"$daemon_log" &
  daemon_pid=$!
}
ctl() { timeout 10 "$balloonctl" --socket "$work/control.sock" "$@"; }

log "booting guests $prefix-{idle,grow,nodrv}"
start_guest idle "wl=hold=16" || { echo "FAIL: cannot start a guest"; exit 1; }
start_guest grow "wl=delay=40:grow=16,16,2,320"
start_guest nodrv "noballoon wl=hold=16"

start_daemon
log "balloond pid=$daemon_pid log=$daemon_log"

# --- 1. idle reclaim, with acknowledgements.
if wait_for "idle guest below 256 MiB" 120 below idle 256 && sleep 4 &&
  wait_for "idle guest's ack to match" 20 acked_below idle 256; then
  acks=$(count_log "balloon-ack vm=$prefix-idle ")
  last_ack=$(last_ack_mib idle)
  now=$(actual_mib idle)
  log "idle: actual ${now} MiB (from 512), ${acks} acks, last ack ${last_ack} MiB"
  in_log "stats-period-enabled vm=$prefix-idle period_s=1" && [ "$acks" -ge 2 ]
  check "$([ $? = 0 ] && echo ok)" "1. idle guest reclaimed 512 -> ${now} MiB, ${acks} BALLOON_CHANGE acks observed"
else
  check fail "1. idle guest reclaimed"
fi

# --- 5. no driver: reported and left alone (acks.no_driver_after_s, 30 s after it was first seen).
if wait_for "nodrv reported" 120 in_log "vm-state vm=$prefix-nodrv from=[a-z-]+ to=no-driver reason=\"never reported stats or moved"; then
  sleep 2
  pushes=$(count_log "target-set vm=$prefix-nodrv ")
  state=$(grep -E "^$prefix-nodrv " "$view_log" | tail -n 1 | awk '{print $7}')
  log "nodrv: actual $(actual_mib nodrv) MiB, pushes ${pushes}, view state ${state}"
  [ "$pushes" -eq 0 ] && [ "$(actual_mib nodrv)" -eq 512 ] && [ "$state" = no-driver ]
  check "$([ $? = 0 ] && echo ok)" "5. guest without a balloon driver reported as no-driver and left alone"
else
  check fail "5. guest without a balloon driver reported as no-driver"
fi

# --- 2. a growing workload gets memory back before an OOM kill.
if wait_for "grow workload done" 150 in_console grow "workload-done mib=320|Out of memory|Killed process"; then
  sleep 1
  min_to=$(grep -E "target-set vm=$prefix-grow " "$daemon_log" | sed -E 's/.*to_mib=([0-9]+).*/\1/' | sort -n | head -n 1)
  grows=$(grep -E "target-set vm=$prefix-grow " "$daemon_log" | awk '{for (i = 1; i <= NF; i++) {if ($i ~ /^from_mib=/) f = substr($i, 10); if ($i ~ /^to_mib=/) t = substr($i, 8)} if (t + 0 > f + 0) n++} END {print n + 0}')
  log "grow: squeezed down to ${min_to} MiB, then ${grows} grow pushes; now $(actual_mib grow) MiB"
  ! in_console grow "Out of memory|Killed process" && in_console grow "workload-done mib=320" &&
    [ -n "$min_to" ] && [ "$min_to" -lt 320 ] && [ "$grows" -ge 1 ]
  check "$([ $? = 0 ] && echo ok)" "2. growing workload (to 320 MiB) got memory back from ${min_to} MiB, no OOM kill"
else
  check fail "2. growing workload finished"
fi

# --- 3. kill and restart libvirtd mid-run.
if [ "$started_libvirtd" = 1 ] && [ -f /run/libvirtd.pid ]; then
  added_before=$(count_log "vm-added vm=$prefix-")
  kill -9 "$(cat /run/libvirtd.pid)"
  log "restart: libvirtd killed"
  wait_for "balloond to notice" 30 in_log "libvirt-disconnected"
  sleep 3
  start_libvirtd
  if wait_for "reconnect" 120 in_log "libvirt-connected .*reconnects=1"; then
    sleep 4
    added_after=$(count_log "vm-added vm=$prefix-")
    removed=$(count_log "vm-removed vm=$prefix-")
    failed=$(count_log "tick-failed")
    log "restart: ${failed} failed ticks while away, vm-added ${added_before} -> ${added_after}, vm-removed ${removed}"
    kill -0 "$daemon_pid" && [ "$added_after" -eq "$added_before" ] && [ "$removed" -eq 0 ] &&
      [ "$(grep -cE "^$prefix-" <(tail -n 8 "$view_log"))" -ge 3 ]
    check "$([ $? = 0 ] && echo ok)" "3. libvirtd killed and restarted: reconnected, no per-VM state lost"
  else
    check fail "3. balloond reconnected after libvirtd restarted"
  fi
else
  log "restart: SKIPPED (libvirtd was already running before this test, not ours to kill)"
fi

# --- 6. crash: SIGKILL balloond mid-run and start it again with the same config.
# idle is pinned, grow (its workload done) excluded, and nodrv flagged no-driver (step 5); all
# three are in the state file before the kill. After the restart they must be back at the first
# tick (the no-driver flag would take the tracker 30 s and the channel 60 s to learn again), and
# no guest's actual may go below its floor from before the kill until the checks are done.
floor_mib=128
pin_mib=288
state_file=$state_dir/state.json
crash_guests=(idle grow nodrv)
since() { tail -n +$((mark + 1)) "$daemon_log" | grep -qE "$1"; }
count_since() { tail -n +$((mark + 1)) "$daemon_log" | grep -cE "$1"; }
near() { local a; a=$(actual_mib "$1"); [ -n "$a" ] && [ $((a - $2)) -le 1 ] && [ $(($2 - a)) -le 1 ]; }
actuals() { local g; for g in "${crash_guests[@]}"; do printf '%s=%s ' "$g" "$(actual_mib "$g")"; done; }
# The state file holds the pin, the exclusion and the no-driver flag.
state_written() {
  python3 - "$state_file" "$prefix" "$pin_mib" <<'PY'
import json, sys
vms = json.load(open(sys.argv[1]))["vms"]
p, pin = sys.argv[2], int(sys.argv[3]) * 1024
ok = (vms[p + "-idle"].get("runtime_override", {}).get("pin_kib") == pin
      and vms[p + "-grow"].get("runtime_override", {}).get("excluded") is True
      and vms[p + "-nodrv"].get("state") == "no-driver")
sys.exit(0 if ok else 1)
PY
}
# vm-list (JSON in $1) shows the three guests; restored_ok checks what came back.
listed() { ctl --json vm-list >"$1" 2>/dev/null && grep -q "\"$prefix-nodrv\"" "$1"; }
restored_ok() {
  python3 - "$1" "$prefix" "$pin_mib" <<'PY'
import json, sys
vms = {v["name"]: v for v in json.load(open(sys.argv[1]))["arguments"]["vms"]}
p, pin = sys.argv[2], int(sys.argv[3]) * 1024
idle, grow, nodrv = vms[p + "-idle"], vms[p + "-grow"], vms[p + "-nodrv"]
bad = []
if idle["runtime_override"].get("pin_kib") != pin or idle["target_kib"] != pin:
    bad.append("idle: pin %s, target %d" % (idle["runtime_override"], idle["target_kib"]))
if grow["runtime_override"].get("excluded") is not True or grow["state"] != "excluded":
    bad.append("grow: %s, state %s" % (grow["runtime_override"], grow["state"]))
if nodrv["state"] != "no-driver":
    bad.append("nodrv: state %s (%s)" % (nodrv["state"], nodrv["state_reason"]))
for v in (idle, grow, nodrv):
    if v["target_kib"] < v["floor_kib"]:
        bad.append("%s: target %d below floor %d" % (v["name"], v["target_kib"], v["floor_kib"]))
print("; ".join("%s %s (%s)" % (n.rsplit("-", 1)[1], v["state"], v["target_kib"] // 1024)
                for n, v in sorted(vms.items()) if n.startswith(p)))
if bad:
    print("wrong after restart: " + "; ".join(bad))
sys.exit(1 if bad else 0)
PY
}
watch_floor() {
  local g
  while :; do
    for g in "${crash_guests[@]}"; do echo "$(date +%s.%N) $g $(actual_mib "$g")"; done
    sleep 0.2
  done
}

crash_ok=1
ctl vm-set "$prefix-idle" --pin "$pin_mib" >/dev/null && ctl vm-set "$prefix-grow" --exclude >/dev/null || crash_ok=0
log "crash: idle pinned at ${pin_mib} MiB, grow excluded (balloonctl: $([ $crash_ok = 1 ] && echo ok || echo failed))"
if [ $crash_ok = 1 ] && wait_for "idle at its pin" 30 near idle "$pin_mib" &&
  wait_for "the state file to hold the pin, the exclusion and the no-driver flag" 15 state_written; then
  watch_floor >"$work/floor.log" 2>/dev/null &
  watch_pid=$!
  before=$(actuals)
  kill -9 "$daemon_pid"
  wait "$daemon_pid" 2>/dev/null
  mark=$(wc -l <"$daemon_log")
  log "crash: balloond killed (SIGKILL); actual MiB ${before}"
  sleep 3
  after=$(actuals)
  [ "$after" = "$before" ] || crash_ok=0
  log "crash: 3 s later, nothing running: actual MiB ${after}"
  restart_t=$(date +%s.%N)
  start_daemon
  log "crash: balloond restarted, pid=$daemon_pid"
  if wait_for "state loaded" 20 since "state-restored vms=3 overrides=2 paused=false" &&
    wait_for "the first vm-list" 20 listed "$work/vm-list.1.json"; then
    first_s=$(python3 -c "import time; print('%.1f' % (time.time() - $restart_t))")
    log "crash: ${first_s} s after restart: $(restored_ok "$work/vm-list.1.json" | tr '\n' ' ')"
    restored_ok "$work/vm-list.1.json" >/dev/null || crash_ok=0
    sleep 5  # a few ticks: the flags must hold, not only come back for one tick
    listed "$work/vm-list.2.json" || crash_ok=0
    log "crash: 5 s later: $(restored_ok "$work/vm-list.2.json" | tr '\n' ' ')"
    restored_ok "$work/vm-list.2.json" >/dev/null || crash_ok=0
    added=$(count_since "vm-added vm=$prefix-")
    restored=$(count_since "vm-restored vm=$prefix-")
    nodrv_pushes=$(count_since "target-set vm=$prefix-nodrv ")
    nodrv_moves=$(count_since "vm-state vm=$prefix-nodrv ")
    log "crash: vm-restored ${restored}, vm-added ${added}, pushes to nodrv ${nodrv_pushes}, nodrv state changes ${nodrv_moves}"
    [ "$restored" -eq 3 ] && [ "$added" -eq 0 ] && [ "$nodrv_pushes" -eq 0 ] && [ "$nodrv_moves" -eq 0 ] ||
      crash_ok=0
  else
    crash_ok=0
  fi
  kill "$watch_pid" 2>/dev/null
  wait "$watch_pid" 2>/dev/null
  watch_pid=""
  # Every sample of every guest, from before the kill to the end of the checks.
  if ! awk -v floor="$floor_mib" -v g="${crash_guests[*]}" '
      BEGIN { n = split(g, names, " ") }
      $3 != "" { k[$2]++; if (!($2 in lo) || $3 < lo[$2]) lo[$2] = $3; if ($3 > hi[$2]) hi[$2] = $3 }
      END {
        bad = 0
        for (i = 1; i <= n; i++) {
          x = names[i]
          printf "%s %d samples %s..%s MiB; ", x, k[x], lo[x], hi[x]
          if (!(x in lo) || lo[x] < floor) bad = 1
        }
        print ""
        exit bad
      }' "$work/floor.log" >"$work/floor.summary"; then
    crash_ok=0
  fi
  log "crash: actual during the restart window: $(cat "$work/floor.summary")"
  kill -0 "$daemon_pid" || crash_ok=0
  check "$([ $crash_ok = 1 ] && echo ok)" "6. balloond SIGKILLed and restarted: pin, exclusion and no-driver flag restored, no guest below ${floor_mib} MiB"
else
  check fail "6. pin and exclusion set, and written to the state file"
fi

# --- 4. destroy a VM while balloond is pushing targets to it.
virsh_ destroy "$prefix-grow" >/dev/null 2>&1
start_guest victim "wl=hold=16"
if wait_for "a push to the victim" 90 in_log "target-set vm=$prefix-victim "; then
  virsh_ destroy "$prefix-victim" >/dev/null
  mark=$(wc -l <"$daemon_log")
  log "destroy: victim destroyed right after balloond's first push to it"
  if wait_for "victim removed" 20 in_log "vm-removed vm=$prefix-victim"; then
    sleep 3
    bad=$(tail -n +$((mark + 1)) "$daemon_log" | grep -cE "push-failed|tick-failed| error |critical")
    vanished=$(count_log "push-vanished vm=$prefix-victim")
    log "destroy: push-vanished ${vanished}, unexpected errors ${bad}"
    kill -0 "$daemon_pid" && [ "$bad" -eq 0 ] && in_log "vm-lifecycle vm=$prefix-victim event=stopped"
    check "$([ $? = 0 ] && echo ok)" "4. VM destroyed mid-push: removed cleanly, daemon carries on"
  else
    check fail "4. destroyed VM removed"
  fi
else
  check fail "4. balloond pushed to the victim"
fi

log "done in $(($(date +%s) - t0)) s, ${failures} failure(s)"
if [ "$failures" -ne 0 ]; then
  echo "--- balloond log (last 60 lines)"
  tail -n 60 "$daemon_log"
  exit 1
fi
exit 0
