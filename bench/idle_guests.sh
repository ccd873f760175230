#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Benchmark: the whole daemon's cost on a real libvirtd with idle TCG guests (issue 14).
#
# Boots N idle 512 MiB guests (tests/e2e/build_guest.sh, no workload) named bd-bench-<pid>-<i>
# on qemu:///system, waits until each has booted and reports balloon stats, then runs balloond
# with the installed example config/examples/libvirt-host.yaml for a duration, as a new user
# starting it would. Only what must point into the scratch dir is rewritten: state_dir, the
# control socket (and its group, which a bench host has not), the metrics port if enabled, and
# `vms:` scoped to this run's guests so another session's guests are never touched. Every
# policy, guard and channel setting stays. Measures, from /proc/PID/stat (utime+stime) and
# /proc/PID/status (VmHWM):
#   cpu_ms_per_tick         the whole run, start-up and the first pushes included
#   steady_cpu_ms_per_tick  the second half of the run (the last 60 s of a 120 s run), from
#                           the threads' /proc/PID/task/*/schedstat (ns)
#   steady_wakeups_per_tick the same half: how often its threads were put on a CPU (schedstat)
#   peak_rss_mb             VmHWM at the end
#   libvirtd_cpu_ms_...     libvirtd's CPU over the run per tick (the whole host's libvirtd:
#                           noisy when other clients use it)
#   libvirtd_idle_cpu_ms_per_s  libvirtd's CPU per second over 15 s before balloond starts, the
#                           guests already idle: the part of the figure above that is not ours
# With --perf, `perf record` follows the daemon from its first second on and the top 20 of
# `perf report --no-children` are printed (the full report stays in WORK_DIR).
# The last line is the result, for scripts/bench.sh:
#   idle_guests vms=8 seconds=120 ticks=120 cpu_ms_per_tick=2.21 peak_rss_mb=21.8 ...
# Starts virtlogd and libvirtd when they are not running and stops only what it started;
# destroys only its own guests, by name. Every wait is bounded. Needs root; exits 77 (skip)
# without it or without libvirtd and QEMU. Takes about 3-4 minutes (a guest boot burns CPU).
# Usage: bench/idle_guests.sh [--vms N] [--seconds S] [--guest-mib M] [--perf]
#                             [--guest-dir DIR] BALLOOND BALLOONCTL [WORK_DIR]
set -uo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
vms=8
seconds=120
guest_mib=512
use_perf=0
guest_dir=$src/build/e2e/guest  # where the e2e test builds it: shared, cached
while [ $# -gt 0 ]; do
  case "$1" in
    --vms) vms=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --guest-mib) guest_mib=$2; shift 2 ;;
    --perf) use_perf=1; shift ;;
    --guest-dir) guest_dir=$2; shift 2 ;;
    -*) echo "idle_guests: unknown flag $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# -ge 2 ] || { sed -n '/^# Usage:/,/^set /p' "$0" | sed '$d' >&2; exit 2; }
balloond=$1
balloonctl=$2
work=${3:-${TMPDIR:-/tmp}/balloond-idle-guests}
uri=qemu:///system
prefix="bd-bench-$$"
example=$src/config/examples/libvirt-host.yaml
t0=$(date +%s)

skip() {
  echo "SKIP: $*"
  exit 77
}
log() { echo "[idle_guests +$(($(date +%s) - t0))s] $*" >&2; }

[ "$(id -u)" -eq 0 ] || skip "needs root to run libvirtd (qemu:///system) and QEMU guests"
for b in libvirtd virtlogd virsh qemu-system-x86_64 gcc cpio; do
  command -v "$b" >/dev/null 2>&1 || skip "'$b' is not installed (scripts/deps.sh installs it)"
done
if [ "$use_perf" = 1 ]; then
  command -v perf >/dev/null 2>&1 || skip "--perf: 'perf' is not installed (apt-get install linux-perf)"
fi
if [ ! -x "$balloond" ] || [ ! -x "$balloonctl" ]; then
  echo "idle_guests: no $balloond or $balloonctl" >&2
  exit 2
fi

mkdir -p "$work"
work=$(cd "$work" && pwd)
guest=$(bash "$src/tests/e2e/build_guest.sh" "$guest_dir" | tail -n 1) || {
  echo "FAIL: cannot build the guest image"
  exit 1
}
run=/var/lib/libvirt/images/$prefix
daemon_log=$work/balloond.log
daemon_pid=""
perf_pid=""
domains=()

cleanup() {
  set +e
  if [ -n "$perf_pid" ] && kill -0 "$perf_pid" 2>/dev/null; then
    kill -INT "$perf_pid"
    wait "$perf_pid" 2>/dev/null
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

# The guests report stats at the config's period from boot, so balloond finds them as an
# installed host would have them (and the wait below can see the driver report).
stats_period=$(awk '$1 == "stats_period_s:" {print $2; exit}' "$example")
stats_period=${stats_period:-2}

# start_guest I: an idle transient TCG guest with a virtio balloon device.
start_guest() {
  local name=$prefix-$1
  guest_xml "$name" "$guest_mib" "$run" "" "$stats_period" >"$run/$1.xml"
  domains+=("$name")
  virsh_ create "$run/$1.xml" >/dev/null || return 1
}

log "booting $vms guests $prefix-{1..$vms} of $guest_mib MiB"
for i in $(seq "$vms"); do
  start_guest "$i" || { echo "FAIL: cannot start guest $i"; exit 1; }
done
wait_for "every guest to boot and report balloon stats" $((60 + 30 * vms)) all_report || {
  echo "FAIL: the guests did not report balloon stats"
  exit 1
}
foreign=$(($(virsh_ list --name | grep -c .) - vms))
log "guests report stats; other running domains on this libvirtd: $foreign"

# The installed example, with only the scratch paths rewritten and the VMs scoped to this run.
config=$work/balloond.yaml
state_dir=$work/state
rm -rf "$state_dir" && mkdir -p "$state_dir"
sed -e "s|^state_dir:.*|state_dir: \"$state_dir\"|" \
  -e "s|^\(  socket:\).*|\1 \"$work/control.sock\"|" \
  -e "s|^\(  group:\).*|\1 \"\"|" \
  -e "s|^\(  listen:\).*|\1 \"127.0.0.1:$((20000 + $$ % 20000))\"|" \
  -e "s|^vms: \[\]|vms:\n  - {match: \"*\", excluded: true}\n  - {match: \"$prefix-*\", excluded: false}|" \
  "$example" >"$config"
"$balloond" --check-config --config "$config" >/dev/null || { echo "FAIL: bad rewritten config"; exit 1; }

clk_tck=$(getconf CLK_TCK)
# cpu_ticks PID: utime + stime (fields 14 and 15; the command name may hold spaces).
cpu_ticks() { sed -E 's/^.*\) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
# schedstat PID FIELD: a field of its live threads' schedstat, summed: 1 the run time in ns (finer
# than CLK_TCK for the steady half, whose few seconds of CPU would round to 10 ms steps), 3 how
# many times they were put on a CPU (their wake-ups).
schedstat() {
  cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk -v f="$2" '{n += $f} END {printf "%.0f", n}'
}
run_ns() { schedstat "$1" 1; }
runs() { schedstat "$1" 3; }
libvirtd_pid=$(cat /run/libvirtd.pid 2>/dev/null || pgrep -xo libvirtd)
ticks_now() {
  timeout 5 "$balloonctl" --socket "$work/control.sock" --json status-get 2>/dev/null |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["arguments"]["tick"]["count"])' 2>/dev/null
}

# libvirtd's own CPU with the guests idle and no balloond, for what balloond's calls add to it.
baseline_s=15
b0=$(run_ns "$libvirtd_pid")
sleep "$baseline_s"
b1=$(run_ns "$libvirtd_pid")

# Started by this script, with a duration beyond the run as a backstop.
: >"$daemon_log"
lv0=$(cpu_ticks "$libvirtd_pid")
"$balloond" --config "$config" --duration $((seconds + 60)) 2>"$daemon_log" &
daemon_pid=$!
start_ns=$(date +%s%N)
log "balloond pid=$daemon_pid for ${seconds}s, log $daemon_log"
if [ "$use_perf" = 1 ]; then
  # Once the daemon is up (its control socket listens): `perf record -p` follows only the
  # threads that exist when it starts, and libvirt's event thread starts with the channel.
  wait_for "the control socket" 30 test -S "$work/control.sock" || { echo "FAIL: balloond did not start"; exit 1; }
  perf record -F 4999 --call-graph dwarf,16384 -p "$daemon_pid" -o "$work/perf.data" \
    >"$work/perf-record.log" 2>&1 &
  perf_pid=$!
fi

# sleep_until S: sleeps until S seconds after the daemon started.
sleep_until() {
  local left
  left=$(awk -v s="$1" -v a="$start_ns" -v n="$(date +%s%N)" 'BEGIN {printf "%.3f", s - (n - a) / 1e9}')
  awk -v l="$left" 'BEGIN {exit !(l > 0)}' && sleep "$left"
}
half=$((seconds / 2))
sleep_until "$half"
kill -0 "$daemon_pid" 2>/dev/null || { echo "FAIL: balloond exited early"; tail -n 20 "$daemon_log"; exit 1; }
mid_ns=$(run_ns "$daemon_pid")
mid_runs=$(runs "$daemon_pid")
mid_ticks=$(ticks_now)
sleep_until "$seconds"
kill -0 "$daemon_pid" 2>/dev/null || { echo "FAIL: balloond exited early"; tail -n 20 "$daemon_log"; exit 1; }
end_cpu=$(cpu_ticks "$daemon_pid")
end_ns=$(run_ns "$daemon_pid")
end_runs=$(runs "$daemon_pid")
end_ticks=$(ticks_now)
# Each thread's CPU (ms): the main thread (the tick, every API call) and the others (libvirt's
# event loop).
thread_ms=$(for t in /proc/"$daemon_pid"/task/*; do
  echo "$(basename "$t") $(cut -d' ' -f1 "$t/schedstat")"
done | awk -v pid="$daemon_pid" '{ms = $2 / 1e6; if ($1 == pid) m += ms; else o += ms}
  END {printf "main %.0f ms, other threads %.0f ms", m, o}')
hwm_kib=$(awk '$1 == "VmHWM:" {print $2}' "/proc/$daemon_pid/status")
rss_kib=$(awk '$1 == "VmRSS:" {print $2}' "/proc/$daemon_pid/status")
threads=$(awk '$1 == "Threads:" {print $2}' "/proc/$daemon_pid/status")
lv1=$(cpu_ticks "$libvirtd_pid")
if [ -n "$perf_pid" ]; then
  kill -INT "$perf_pid"
  wait "$perf_pid" 2>/dev/null
  perf_pid=""
fi
kill "$daemon_pid"
for _ in $(seq 100); do kill -0 "$daemon_pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$daemon_pid" 2>/dev/null; then
  echo "FAIL: balloond did not stop on SIGTERM"
  exit 1
fi
wait "$daemon_pid" 2>/dev/null
daemon_pid=""
if [ -z "$end_ticks" ] || [ -z "$mid_ticks" ] || [ "$end_ticks" -le "$mid_ticks" ]; then
  echo "FAIL: no tick count from balloonctl status-get"
  exit 1
fi

pushes=$(grep -c "target-set vm=$prefix-" "$daemon_log")
acks=$(grep -c "balloon-ack vm=$prefix-" "$daemon_log")
log "balloond: $end_ticks ticks, $pushes pushes, $acks acks, $threads threads ($thread_ms), VmRSS $((rss_kib / 1024)) MiB at the end"

if [ "$use_perf" = 1 ]; then
  perf report -i "$work/perf.data" --no-children --stdio >"$work/perf-report.txt" 2>/dev/null
  perf report -i "$work/perf.data" --no-children --stdio -g none --percent-limit 0 \
    --sort dso,sym 2>/dev/null >"$work/perf-flat.txt"
  echo "perf: top 20 (self), of $(grep -m1 '^# Samples' "$work/perf-flat.txt" | sed 's/^# //'); call graphs in $work/perf-report.txt"
  grep -v '^#' "$work/perf-flat.txt" | grep -v '^$' | head -n 20
fi

awk -v vms="$vms" -v s="$seconds" -v t="$end_ticks" -v mt="$mid_ticks" -v c="$end_cpu" \
  -v m0="$mid_ns" -v m1="$end_ns" -v r0="$mid_runs" -v r1="$end_runs" -v hz="$clk_tck" \
  -v b0="$b0" -v b1="$b1" -v bs="$baseline_s" -v hwm="$hwm_kib" -v l0="$lv0" -v l1="$lv1" -v p="$pushes" \
  -v perf="$use_perf" 'BEGIN {
    printf "idle_guests vms=%d seconds=%d ticks=%d cpu_ms_per_tick=%.2f peak_rss_mb=%.1f", vms, s, t,
      c * 1000 / hz / t, hwm / 1024
    printf " steady_cpu_ms_per_tick=%.2f steady_wakeups_per_tick=%.1f", (m1 - m0) / 1e6 / (t - mt),
      (r1 - r0) / (t - mt)
    printf " libvirtd_cpu_ms_per_tick=%.2f libvirtd_idle_cpu_ms_per_s=%.2f pushes=%d perf=%d\n",
      (l1 - l0) * 1000 / hz / t, (b1 - b0) / 1e6 / bs, p, perf
  }'
