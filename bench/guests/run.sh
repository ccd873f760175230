#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The real-guest benchmark (issue 16): every policy on the same real guests and workloads.
#
# Boots TCG guests of GUEST_MIB under libvirt (the e2e guest image, tests/e2e/build_guest.sh),
# each running one workload of tests/e2e/workload.c (restarted a second after an OOM kill, as a
# service manager would) and a once-a-second `bench-stat` report on its console:
#   idle     nothing
#   steady   hold=400              400 MiB, held
#   ramp     cycle=700,10,20,20    up to 700 MiB at 10 MiB/s, held 20 s, freed, 20 s pause
#   bursts   cycle=500,100,5,10    500 MiB at 100 MiB/s, held 5 s, freed, 10 s pause
#   reader   read=/dev/vda,50      a 600 MiB disk read over and over at 50 MiB/s: page cache
#   swing    cycle=300,75,2,3      a build-like swing: 300 MiB at 75 MiB/s, 2 s, freed, 3 s
# With --host-available MIB, bench/guests/host_hog.py holds the rest of the host's memory, so
# that with every guest at its max and all of it touched the host has only MIB available: an
# overcommitted host, where the policies that act on host pressure (mom, share, host-target)
# have something to do. The default run uses 1024; 0 leaves the host as it is (--smoke).
# For each policy, in turn: fresh guests, then balloond with the installed example config
# (config/examples/libvirt-host.yaml, its policy swapped; only the scratch paths rewritten and
# `vms:` scoped to this run's guests) for SECONDS, sampled every second by
# bench/guests/sample.py. Then bench/guests/summarize.py writes OUT_DIR/summary.md (the table),
# summary.json and a PNG timeline per policy.
#   OUT_DIR/runs/POLICY/{samples.csv,balloond.log,meta.json,balloond.yaml}
# With --channel qmp the guests are plain QEMUs, each with a QMP socket as Proxmox VE starts
# them, and balloond runs config/examples/qmp-host.yaml (its socket glob pointed at them).
# Starts virtlogd and libvirtd when they are not running and stops only what it started;
# destroys only its own guests (bd-gb-<pid>-*), by name. Every wait is bounded. Needs root;
# exits 77 (skip) without it or without libvirtd and QEMU. The default run (6 guests of 1 GiB,
# 5 policies, 120 s each) takes about 17 minutes; --smoke (2 guests, 1 policy, 40 s) about 1.5.
# A policy may carry other parameters than the example's: --policies "margin:peak_window_s=60"
# (runs/margin:peak_window_s=60/).
# Usage: bench/guests/run.sh [--policies "margin pressure ..."] [--seconds S]
#          [--guests "idle steady ..."] [--guest-mib M] [--host-available MIB] [--smoke]
#          [--channel libvirt|qmp] [--guest-dir DIR]
#          BALLOOND OUT_DIR
set -uo pipefail

src=$(cd "$(dirname "$0")/../.." && pwd)
policies="margin pressure mom share host-target"
seconds=120
guests="idle steady ramp bursts reader swing"
guest_mib=1024
host_available=1024
guest_dir=$src/build/e2e/guest  # where the e2e test builds it: shared, cached
channel=libvirt
while [ $# -gt 0 ]; do
  case "$1" in
    --policies) policies=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --guests) guests=$2; shift 2 ;;
    --guest-mib) guest_mib=$2; shift 2 ;;
    --host-available) host_available=$2; shift 2 ;;
    --guest-dir) guest_dir=$2; shift 2 ;;
    --channel) channel=$2; shift 2 ;;
    --smoke) policies=margin; seconds=40; guests="idle bursts"; host_available=0; shift ;;
    -*) echo "guests bench: unknown flag $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# -eq 2 ] || { sed -n '/^# Usage:/,/^set /p' "$0" | sed '$d' >&2; exit 2; }
balloond=$1
work=$2
uri=qemu:///system
prefix="bd-gb-$$-"
case "$channel" in
  libvirt | qmp) example=$src/config/examples/$channel-host.yaml ;;
  *) echo "guests bench: unknown channel '$channel' (libvirt or qmp)" >&2; exit 2 ;;
esac
t0=$(date +%s)

skip() {
  echo "SKIP: $*"
  exit 77
}
log() { echo "[guests bench +$(($(date +%s) - t0))s] $*" >&2; }

# workload NAME: the guest's workload arguments (workload.c), ':'-separated; "" for none.
workload() {
  case "$1" in
    idle) echo "" ;;
    steady) echo "hold=400" ;;
    ramp) echo "cycle=700,10,20,20" ;;
    bursts) echo "cycle=500,100,5,10" ;;
    reader) echo "read=/dev/vda,50" ;;
    swing) echo "cycle=300,75,2,3" ;;
    *) return 1 ;;
  esac
}
for g in $guests; do
  workload "$g" >/dev/null || { echo "guests bench: unknown guest '$g'" >&2; exit 2; }
done

needed="qemu-system-x86_64 gcc cpio /usr/bin/python3"
if [ "$channel" = libvirt ]; then
  [ "$(id -u)" -eq 0 ] || skip "needs root to run libvirtd (qemu:///system) and QEMU guests"
  needed="$needed libvirtd virtlogd virsh"
fi
for b in $needed; do
  command -v "$b" >/dev/null 2>&1 || skip "'$b' is not installed (scripts/deps.sh installs it)"
done
/usr/bin/python3 -c "import matplotlib" 2>/dev/null ||
  skip "python3-matplotlib is not installed (scripts/deps.sh python3-matplotlib)"
[ -x "$balloond" ] || { echo "guests bench: no $balloond" >&2; exit 2; }

mkdir -p "$work"
work=$(cd "$work" && pwd)
guest=$(bash "$src/tests/e2e/build_guest.sh" "$guest_dir" | tail -n 1) || {
  echo "FAIL: cannot build the guest image"
  exit 1
}
if [ "$channel" = libvirt ]; then
  run=/var/lib/libvirt/images/bd-gb-$$  # where libvirt's QEMU may read the kernel
else
  run=$(mktemp -d /tmp/bd-gb-$$.XXXX)  # short: QMP socket paths are limited to 107 bytes
fi
daemon_pid=""
sampler_pid=""
hog_pid=""
domains=()

stop_daemon() {
  [ -n "$daemon_pid" ] || return 0
  kill "$daemon_pid" 2>/dev/null
  for _ in $(seq 100); do kill -0 "$daemon_pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$daemon_pid" 2>/dev/null
  wait "$daemon_pid" 2>/dev/null
  daemon_pid=""
}
stop_hog() {
  [ -n "$hog_pid" ] || return 0
  kill "$hog_pid" 2>/dev/null
  wait "$hog_pid" 2>/dev/null
  hog_pid=""
}
# untouched_mib: what the guests may still take from the host: per guest, its balloon actual
# minus what QEMU holds resident now (a fresh guest has touched little of its memory).
untouched_mib() {
  local d
  if [ "$channel" = qmp ]; then
    for d in "${domains[@]}"; do
      awk '$1 == "VmRSS:" {print $2}' "/proc/$(cat "$run/$d.pid" 2>/dev/null)/status" 2>/dev/null
    done | awk -v n="${#domains[@]}" -v m="$guest_mib" '{r += $1} END {print int(n * m - r / 1024)}'
    return
  fi
  for d in "${domains[@]}"; do
    virsh_ dommemstat "$d" 2>/dev/null
  done | awk '$1 == "actual" {a += $2} $1 == "rss" {r += $2} END {print int((a - r) / 1024)}'
}
# start_hog: holds host memory until the host would have $host_available MiB available once
# every guest has touched all of its memory.
start_hog() {
  [ "${host_available:-0}" -gt 0 ] || return 0
  local now untouched hog
  now=$(awk '$1 == "MemAvailable:" {print int($2 / 1024)}' /proc/meminfo)
  untouched=$(untouched_mib)
  hog=$((now - untouched - host_available))
  if [ "$hog" -le 0 ]; then
    log "host: $now MiB available, $untouched MiB untouched by the guests: no hog"
    return 0
  fi
  /usr/bin/python3 "$src/bench/guests/host_hog.py" "$hog" >"$work/hog.out" 2>&1 &
  hog_pid=$!
  wait_for "the host hog to hold $hog MiB" 120 grep -q hog-ready "$work/hog.out" || return 1
  now=$(awk '$1 == "MemAvailable:" {print int($2 / 1024)}' /proc/meminfo)
  log "host: $hog MiB held by the hog; $now MiB available, the guests have not touched $untouched"
}
destroy_guests() {
  local d pid
  for d in "${domains[@]}"; do
    if [ "$channel" = qmp ]; then
      pid=$(cat "$run/$d.pid" 2>/dev/null) && kill "$pid" 2>/dev/null
    else
      virsh_ domstate "$d" >/dev/null 2>&1 && virsh_ destroy "$d" >/dev/null 2>&1
    fi
  done
  domains=()
}
cleanup() {
  set +e
  [ -n "$sampler_pid" ] && kill "$sampler_pid" 2>/dev/null
  stop_daemon
  stop_hog
  destroy_guests
  [ "$channel" = libvirt ] && libvirt_stop_started
  rm -rf "$run"
}
trap cleanup EXIT

# shellcheck source=tests/e2e/lib.sh
. "$src/tests/e2e/lib.sh"
# shellcheck source=tests/e2e/libvirt_host.sh
. "$src/tests/e2e/libvirt_host.sh"

if [ "$channel" = libvirt ]; then
  libvirt_ensure || {
    echo "FAIL: libvirtd did not start"
    exit 1
  }
fi
mkdir -p "$run/qmp" && chmod 755 "$run"
cp "$guest/vmlinuz" "$guest/initrd.gz" "$run/"
truncate -s 600M "$run/reader.img"
chmod 644 "$run"/*

stats_period=$(awk '$1 == "stats_period_s:" {print $2; exit}' "$example")
stats_period=${stats_period:-2}
tick_s=$(awk '$1 == "tick_s:" {print $2; exit}' "$example")

# start_qemu NAME CMDLINE-EXTRA [DISK]: a TCG guest as Proxmox VE's qemu-server starts one, its
# QMP socket in $run/qmp/NAME.qmp.
start_qemu() {
  local drive=()
  [ -n "${3:-}" ] && drive=(-drive "file=$3,format=raw,if=virtio")
  qemu-system-x86_64 -accel tcg -machine pc -m "$guest_mib" -smp 1 -nodefaults -display none \
    -name "$1,debug-threads=on" -kernel "$run/vmlinuz" -initrd "$run/initrd.gz" \
    -append "console=ttyS0 panic=-1 quiet $2" -serial "file:$run/$1.console" \
    -qmp "unix:$run/qmp/$1.qmp,server=on,wait=off" -device virtio-balloon-pci,id=balloon0 \
    "${drive[@]}" -pidfile "$run/$1.pid" -daemonize
}

# Every guest's init has started (with QMP, balloond turns the stats on).
all_ready() {
  local d
  for d in "${domains[@]}"; do
    grep -q guest-ready "$run/$d.console" 2>/dev/null || return 1
  done
}

# boot_guests: this run's guests, fresh, each with its workload; waits until all report stats
# (libvirt) or have booted (QMP).
boot_guests() {
  local g name wl disk
  rm -f "$run"/*.console
  for g in $guests; do
    name=$prefix$g
    wl=$(workload "$g")
    disk=""
    [ "$g" = reader ] && disk=$run/reader.img
    domains+=("$name")
    if [ "$channel" = qmp ]; then
      start_qemu "$name" "wlreport wlrestart${wl:+ wl=$wl}" "$disk" || return 1
    else
      guest_xml "$name" "$guest_mib" "$run" "wlreport wlrestart${wl:+ wl=$wl}" "$stats_period" \
        "$disk" >"$run/$g.xml"
      virsh_ create "$run/$g.xml" >/dev/null || return 1
    fi
  done
  if [ "$channel" = qmp ]; then
    wait_for "every guest to boot" $((60 + 30 * ${#domains[@]})) all_ready
  else
    wait_for "every guest to boot and report balloon stats" $((60 + 30 * ${#domains[@]})) all_report
  fi
}

# write_config ENTRY FILE: the installed example with ENTRY's policy (POLICY or
# POLICY:KEY=VALUE,... for other parameters than the example's) and this run's paths and VMs.
write_config() {
  local dir=$work/runs/$1 policy=${1%%:*} params=""
  [ "$1" != "$policy" ] && params=$(echo "${1#*:}" | sed 's/=/: /g; s/,/, /g')
  sed -e "s|^state_dir:.*|state_dir: \"$dir/state\"|" \
    -e "s|^\(  socket:\).*|\1 \"$dir/control.sock\"|" \
    -e "s|^\(  group:\).*|\1 \"\"|" \
    -e "s|^\(      - glob:\) /var/run/qemu-server/.*|\1 \"$run/qmp/*.qmp\"|" \
    -e "s|^vms: \[\]|vms:\n  - {match: \"*\", excluded: true}\n  - {match: \"$prefix*\", excluded: false}|" \
    "$example" |
    awk -v p="$policy" -v params="$params" '
      /^policy:/ {print; print "  name: " p; if (params != "") print "  params: {" params "}"; skip = 1; next}
      skip && /^  / && (p != "margin" || params != "" || $1 == "name:") {
        if (p == "margin" && params == "" && $1 != "name:") print
        next
      }
      {skip = 0; print}' >"$2"
}

# meta POLICY START: what summarize.py needs to read the run.
meta() {
  local g entries=""
  for g in $guests; do
    entries="$entries${entries:+, }\"$g\": \"$(workload "$g" | tr ':' ' ')\""
  done
  printf '{"policy": "%s", "start_epoch": %s, "seconds": %s, "stats_period_s": %s, ' \
    "$1" "$2" "$seconds" "$stats_period"
  printf '"tick_s": %s, "prefix": "%s", "guest_mib": %s, "host_available_mib": %s, ' \
    "${tick_s:-1}" "$prefix" "$guest_mib" "$host_available"
  printf '"channel": "%s", "guests": {%s}}\n' "$channel" "$entries"
}

failures=0
for policy in $policies; do
  dir=$work/runs/$policy
  rm -rf "$dir" && mkdir -p "$dir/state"
  write_config "$policy" "$dir/balloond.yaml"
  "$balloond" --check-config --config "$dir/balloond.yaml" >"$dir/check.log" 2>&1 || {
    echo "FAIL: $policy: the rewritten config is refused: $(tail -n 1 "$dir/check.log")"
    failures=$((failures + 1))
    continue
  }
  log "$policy: booting ${guests// /, } ($guest_mib MiB each)"
  boot_guests || { echo "FAIL: $policy: the guests did not boot and report stats"; exit 1; }
  start_hog || { echo "FAIL: the host hog did not start"; exit 1; }
  start=$(date +%s.%N)
  "$balloond" --config "$dir/balloond.yaml" --duration $((seconds + 30)) 2>"$dir/balloond.log" &
  daemon_pid=$!
  /usr/bin/python3 "$src/bench/guests/sample.py" "$dir/control.sock" "$run" "$prefix" "$start" \
    "$seconds" "$dir/samples.csv" &
  sampler_pid=$!
  meta "$policy" "$start" >"$dir/meta.json"
  log "$policy: balloond pid=$daemon_pid for ${seconds}s"
  wait "$sampler_pid"
  sampler_pid=""
  if ! kill -0 "$daemon_pid" 2>/dev/null; then
    echo "FAIL: $policy: balloond exited early: $(tail -n 3 "$dir/balloond.log")"
    failures=$((failures + 1))
  fi
  stop_daemon
  stop_hog
  for g in $guests; do cp "$run/$prefix$g.console" "$dir/$g.console" 2>/dev/null; done
  destroy_guests
  log "$policy: $(grep -c "target-set vm=$prefix" "$dir/balloond.log") pushes, $(($(wc -l <"$dir/samples.csv") - 1)) samples"
done

/usr/bin/python3 "$src/bench/guests/summarize.py" "$work" || failures=$((failures + 1))
[ "$failures" -eq 0 ] || { echo "FAIL: $failures run(s) failed"; exit 1; }
