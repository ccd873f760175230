#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# End-to-end: balloond's QMP channel against real QEMU processes (TCG) and no libvirt, started the
# way Proxmox VE's qemu-server starts them: `-name`, a balloon with id balloon0, and a QMP socket
# <vmid>.qmp (`-qmp unix:...,server=on,wait=off`). balloond starts first and finds the guests as
# their sockets appear. Checks:
#   1. idle:      an idle guest (vmid 101, shared socket) is shrunk toward its floor, and its state
#                 settles (acknowledgements from query-balloon)
#   2. exclusive: a guest on a socket dedicated to balloond (201) is shrunk, and BALLOON_CHANGE
#                 events arrive as acknowledgements
#   3. nodrv:     a guest with a balloon device but no driver (103) becomes no-driver, left alone
#   4. grow:      a guest whose workload grows (102) gets memory back, with no OOM kill
#   5. second:    a second QMP client (like `qm` or pvestatd) opens 102's shared socket every
#                 second throughout 1-4 and never waits for QEMU's greeting longer than the
#                 deadline
#   6. killed:    101's QEMU SIGKILLed (its socket file stays behind): the VM is gone cleanly
#   7. restarted: QEMU started again on the same socket: the VM is back, its stats on again
# Destroys only the QEMU processes it started, by pid. Every wait is bounded. Needs QEMU and
# python3 (scripts/deps.sh installs them); exits 77 (skip) without them.
# Usage: qmp_e2e.sh BALLOOND_BINARY BALLOONCTL_BINARY SOURCE_DIR WORK_DIR [GUEST_DIR]
# (GUEST_DIR: where the guest image is built and cached, default WORK_DIR/guest)
set -uo pipefail

balloond=$1
balloonctl=$2
src=$3
work=$4
guest_dir=${5:-$work/guest}
deadline_s=0.5
t0=$(date +%s)

skip() {
  echo "SKIP: $*"
  exit 77
}
log() { echo "[qmp-e2e +$(($(date +%s) - t0))s] $*"; }

for b in qemu-system-x86_64 gcc cpio python3; do
  command -v "$b" >/dev/null 2>&1 || skip "'$b' is not installed (scripts/deps.sh installs it)"
done

mkdir -p "$work"
work=$(cd "$work" && pwd)
guest=$(bash "$src/tests/e2e/build_guest.sh" "$guest_dir" | tail -n 1) || {
  echo "FAIL: cannot build the guest image"
  exit 1
}
# Socket paths must fit sun_path (108 bytes): the sockets live under a short temporary folder.
run=$(mktemp -d /tmp/bd-qmp-e2e.XXXXXX)
mkdir -p "$run/shared" "$run/excl"
daemon_log=$work/balloond.log
timeline=$work/timeline.txt
second_log=$work/second-client.txt
daemon_pid=""
watch_pid=""
second_pid=""
failures=0
declare -A qemu_pid=()

cleanup() {
  set +e
  for p in "$watch_pid" "$second_pid"; do
    [ -n "$p" ] && kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
  done
  if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
    kill "$daemon_pid"
    for _ in $(seq 50); do kill -0 "$daemon_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$daemon_pid" 2>/dev/null
  fi
  for vm in "${!qemu_pid[@]}"; do
    kill -9 "${qemu_pid[$vm]}" 2>/dev/null
  done
  rm -rf "$run"
}
trap cleanup EXIT

# shellcheck source=tests/e2e/lib.sh
. "$src/tests/e2e/lib.sh"

# start_qemu VMID SOCKET-DIR CMDLINE-EXTRA: a 512 MiB TCG guest as qemu-server would start it
# (one QMP socket named by vmid, balloon0, -name), its serial console in $run/VMID.console.
start_qemu() {
  local vm=$1 dir=$2
  qemu-system-x86_64 -accel tcg -machine pc -m 512 -smp 1 -nodefaults -display none \
    -name "bd-qmp-e2e-$vm,debug-threads=on" \
    -kernel "$guest/vmlinuz" -initrd "$guest/initrd.gz" \
    -append "console=ttyS0 panic=-1 quiet $3" -serial "file:$run/$vm.console" \
    -qmp "unix:$run/$dir/$vm.qmp,server=on,wait=off" \
    -device virtio-balloon-pci,id=balloon0 \
    -pidfile "$run/$vm.pid" -daemonize || return 1
  qemu_pid[$vm]=$(cat "$run/$vm.pid")
}

ctl() { timeout 10 "$balloonctl" --socket "$work/control.sock" "$@"; }
# vm_field VMID FIELD: one field of the VM in balloonctl's vm-list (actual and target in MiB).
vm_field() {
  ctl --json vm-list 2>/dev/null | python3 -c '
import json, sys
vm, field = sys.argv[1], sys.argv[2]
for v in json.load(sys.stdin)["arguments"]["vms"]:
    if v["name"] == vm:
        x = v[field]
        print(x // 1024 if field.endswith("_kib") else x)
' "$1" "$2"
}
below() { local a; a=$(vm_field "$1" actual_kib); [ -n "$a" ] && [ "$a" -le "$2" ]; }
state_is() { [ "$(vm_field "$1" state)" = "$2" ]; }
listed() { [ -n "$(vm_field "$1" state)" ]; }
in_log() { grep -qE "$1" "$daemon_log"; }
count_log() { grep -cE "$1" "$daemon_log"; }
in_console() { grep -qE "$2" "$run/$1.console" 2>/dev/null; }
# Seconds since the test started at the first log line matching $1 (balloond's ISO timestamps).
log_time() {
  local stamp
  stamp=$(grep -m 1 -E "$1" "$daemon_log" | cut -d' ' -f1)
  [ -n "$stamp" ] && python3 -c "import datetime, sys; print('%.1f' % (datetime.datetime.fromisoformat(sys.argv[1]).timestamp() - $t0))" "$stamp"
}

cat >"$work/balloond.yaml" <<YAML
tick_s: 1
default_floor_mib: 128
channel:
  type: qmp
  qmp:
    sockets:
      - {glob: "$run/shared/[0-9]*.qmp", mode: shared, name_from: socket}
      - {glob: "$run/excl/*.qmp", mode: exclusive, name_from: socket}
    deadline_s: $deadline_s
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
control: {socket: "$work/control.sock"}   # not the system's /run/balloond
state_dir: "$work/state"                  # not the system's /var/lib/balloond
YAML
rm -rf "$work/state" && mkdir -p "$work/state"
: >"$daemon_log"

"$balloond" --config "$work/balloond.yaml" >/dev/null 2>>"$daemon_log" &
daemon_pid=$!
log "balloond pid=$daemon_pid log=$daemon_log sockets=$run"
wait_for "the control socket" 20 test -S "$work/control.sock" || {
  echo "FAIL: balloond did not start"
  tail -n 20 "$daemon_log"
  exit 1
}

# Every half second: each VM's actual, target and state, for the timings and the picture.
watch_vms() {
  while :; do
    ctl --json vm-list 2>/dev/null | python3 -c '
import json, sys, time
now = time.time() - float(sys.argv[1])
for v in json.load(sys.stdin)["arguments"]["vms"]:
    print("%.1f %s %d %d %s" % (now, v["name"], v["actual_kib"] // 1024, v["target_kib"] // 1024, v["state"]))
' "$t0"
    sleep 0.5
  done
}
watch_vms >"$timeline" 2>/dev/null &
watch_pid=$!

log "starting QEMU 101 (idle), 102 (grow), 103 (no driver) on shared sockets, 201 on an exclusive one"
start_qemu 101 shared "wl=hold=16" || { echo "FAIL: cannot start QEMU"; exit 1; }
start_qemu 102 shared "wl=delay=40:grow=16,16,2,320"
start_qemu 103 shared "noballoon wl=hold=16"
start_qemu 201 excl "wl=hold=16"
grow_t0=$(date +%s)

# The second client: connects to 102's socket every second, waits for QEMU's greeting, asks
# qmp_capabilities and query-balloon, and leaves. One line per session: the wait for the greeting
# (the time balloond's session held the socket, plus QEMU's own answer) and the whole session.
cat >"$work/second_client.py" <<'PY'
import json, socket, sys, time
path = sys.argv[1]
while True:
    start = time.monotonic()
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(path)  # blocking, as qm's: waits while QEMU's backlog is full
            s.settimeout(10)
            with s.makefile("rw") as f:
                greeting = json.loads(f.readline())
                greeted = time.monotonic()
                assert "QMP" in greeting
                for command in ("qmp_capabilities", "query-balloon"):
                    f.write(json.dumps({"execute": command}) + "\n")
                    f.flush()
                    reply = json.loads(f.readline())
                    while "event" in reply:
                        reply = json.loads(f.readline())
                    assert "return" in reply, reply
        print("%.3f %.3f ok" % (greeted - start, time.monotonic() - start), flush=True)
    except Exception as e:  # every failure is a line of the log
        took = time.monotonic() - start
        print("%.3f %.3f failed %s" % (took, took, type(e).__name__), flush=True)
    time.sleep(max(0.0, 1.0 - (time.monotonic() - start)))
PY
wait_for "102's socket" 10 test -S "$run/shared/102.qmp"
python3 "$work/second_client.py" "$run/shared/102.qmp" >"$second_log" 2>&1 &
second_pid=$!

# --- 1. idle: shrunk toward its floor, state settles.
if wait_for "101 below 256 MiB" 120 below 101 256 && wait_for "101 settled" 30 state_is 101 settled; then
  found=$(log_time "qmp-vm-found vm=101 ")
  shrunk=$(awk '$2 == "101" && $3 <= 256 {print $1; exit}' "$timeline")
  log "idle: 101 found at +${found}s, below 256 MiB at +${shrunk}s, now $(vm_field 101 actual_kib) MiB, $(vm_field 101 state)"
  in_log "stats-period-enabled vm=101 period_s=1"
  check "$([ $? = 0 ] && echo ok)" "1. idle guest shrunk 512 -> $(vm_field 101 actual_kib) MiB in $(python3 -c "print('%.1f' % ($shrunk - $found))") s and settled"
else
  check fail "1. idle guest shrunk and settled"
fi

# --- 2. exclusive: BALLOON_CHANGE events are heard.
if wait_for "201 below 256 MiB" 60 below 201 256 && wait_for "two acks from 201" 20 \
  sh -c "[ \$(grep -cE 'balloon-ack vm=201 ' '$daemon_log') -ge 2 ]"; then
  acks=$(count_log "balloon-ack vm=201 ")
  log "exclusive: 201 at $(vm_field 201 actual_kib) MiB, ${acks} BALLOON_CHANGE acks, state $(vm_field 201 state)"
  in_log "qmp-vm-found vm=201 .*mode=exclusive" && ! in_log "balloon-ack vm=10[0-9] "
  check "$([ $? = 0 ] && echo ok)" "2. exclusive socket: shrunk, ${acks} BALLOON_CHANGE events heard (none on shared sockets)"
else
  check fail "2. exclusive socket: shrunk and BALLOON_CHANGE events heard"
fi

# --- 3. no driver: reported and left alone.
if wait_for "103 no-driver" 120 state_is 103 no-driver; then
  pushes=$(count_log "target-set vm=103 ")
  log "nodrv: 103 at $(vm_field 103 actual_kib) MiB, ${pushes} pushes, state no-driver ($(vm_field 103 state_reason))"
  [ "$pushes" -eq 0 ] && [ "$(vm_field 103 actual_kib)" -eq 512 ]
  check "$([ $? = 0 ] && echo ok)" "3. guest without a balloon driver is no-driver and left alone"
else
  check fail "3. guest without a balloon driver is no-driver"
fi

# --- 4. grow: the workload (to 320 MiB) gets memory back.
if wait_for "102's workload done" 180 in_console 102 "workload-done mib=320|Out of memory|Killed process"; then
  done_s=$(($(date +%s) - t0))
  sleep 1
  low=$(awk '$2 == "102" {if (lo == "" || $3 < lo) {lo = $3; at = $1}} END {print lo, at}' "$timeline")
  first_grow=$(awk '$2 == "102" && p != "" && $4 > p {print $1; exit} $2 == "102" {p = $4}' "$timeline")
  grows=$(grep -E "target-set vm=102 " "$daemon_log" | awk '{for (i = 1; i <= NF; i++) {if ($i ~ /^from_mib=/) f = substr($i, 10); if ($i ~ /^to_mib=/) t = substr($i, 8)} if (t + 0 > f + 0) n++} END {print n + 0}')
  log "grow: squeezed to ${low% *} MiB at +${low#* }s; workload started at +$((grow_t0 + 40 - t0))s; first target raised at +${first_grow:-?}s; ${grows} grow pushes; done at +${done_s}s at $(vm_field 102 actual_kib) MiB"
  ! in_console 102 "Out of memory|Killed process" && in_console 102 "workload-done mib=320" &&
    [ "${low% *}" -lt 320 ] && [ "$grows" -ge 1 ]
  check "$([ $? = 0 ] && echo ok)" "4. growing workload (to 320 MiB) got memory back from ${low% *} MiB, no OOM kill"
else
  check fail "4. growing workload finished"
fi

# --- 5. the second client never waited longer than the deadline.
kill "$second_pid" 2>/dev/null
wait "$second_pid" 2>/dev/null
second_pid=""
sessions=$(grep -c " ok$" "$second_log")
failed=$(grep -c " failed " "$second_log")
worst=$(awk '{if ($1 > w) w = $1} END {printf "%.3f", w + 0}' "$second_log")
worst_total=$(awk '{if ($2 > w) w = $2} END {printf "%.3f", w + 0}' "$second_log")
stale=$(count_log "qmp-read-failed vm=102 ")
log "second client: ${sessions} sessions, ${failed} failed, worst wait for the greeting ${worst} s, worst session ${worst_total} s; balloond's reads of 102 that failed: ${stale}"
[ "$sessions" -ge 30 ] && [ "$failed" -eq 0 ] && python3 -c "import sys; sys.exit(0 if $worst <= $deadline_s else 1)"
check "$([ $? = 0 ] && echo ok)" "5. a second client on a shared socket: ${sessions} sessions, worst wait ${worst} s (deadline ${deadline_s} s)"

# --- 6. QEMU killed: the VM is gone, its stale socket file is not a VM.
mark=$(wc -l <"$daemon_log")
since() { tail -n +$((mark + 1)) "$daemon_log" | grep -qE "$1"; }
kill -9 "${qemu_pid[101]}"
unset 'qemu_pid[101]'
killed_t=$(date +%s.%N)
if wait_for "101 removed" 20 since "vm-removed vm=101"; then
  gone_s=$(python3 -c "import time; print('%.1f' % (time.time() - $killed_t))")
  sleep 3
  bad=$(tail -n +$((mark + 1)) "$daemon_log" | grep -cE "tick-failed| error |critical")
  log "killed: 101 removed within ${gone_s} s; socket file still there: $([ -S "$run/shared/101.qmp" ] && echo yes || echo no); unexpected errors ${bad}"
  kill -0 "$daemon_pid" && [ "$bad" -eq 0 ] && ! listed 101 && listed 102
  check "$([ $? = 0 ] && echo ok)" "6. QEMU killed: VM gone cleanly, its stale socket ignored"
else
  check fail "6. QEMU killed: VM gone"
fi

# --- 7. QEMU started again on the same socket: the VM is back.
start_qemu 101 shared "wl=hold=16"
reading() { state_is 101 converging || state_is 101 settled; }
if wait_for "101 back" 60 since "vm-added vm=101 " && wait_for "101 read again" 60 reading; then
  log "restarted: 101 back ($(vm_field 101 state), $(vm_field 101 actual_kib) MiB)"
  since "stats-period-enabled vm=101 period_s=1"
  check "$([ $? = 0 ] && echo ok)" "7. QEMU restarted on the same socket: VM back, its stats turned on again"
else
  check fail "7. QEMU restarted: VM back"
fi

kill "$watch_pid" 2>/dev/null
wait "$watch_pid" 2>/dev/null
watch_pid=""
log "done in $(($(date +%s) - t0)) s, ${failures} failure(s); timeline in $timeline"
if [ "$failures" -ne 0 ]; then
  echo "--- balloond log (last 60 lines)"
  tail -n 60 "$daemon_log"
  exit 1
fi
exit 0
