#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Keeps the real-guest benchmark working: bench/guests/run.sh --smoke (2 guests, margin, 40 s)
# on the libvirt or the QMP channel,
# then checks what it wrote: a sample a second for each VM with balloond's and the guest's
# numbers, the idle guest reclaimed, the summary table and the pictures. Exits 77 (skip) where
# the benchmark skips (no root, no libvirtd or QEMU).
# Usage: guests_bench_smoke.sh BALLOOND SOURCE_DIR WORK_DIR GUEST_DIR [libvirt|qmp]
set -uo pipefail
balloond=$1
src=$2
work=$3
guest_dir=$4
channel=${5:-libvirt}
rm -rf "$work/runs"
bash "$src/bench/guests/run.sh" --smoke --channel "$channel" --guest-dir "$guest_dir" "$balloond" "$work"
rc=$?
[ "$rc" -eq 77 ] && exit 77
[ "$rc" -eq 0 ] || { echo "FAIL: bench/guests/run.sh --smoke exited $rc"; exit 1; }
/usr/bin/python3 - "$work" <<'PY'
import csv, json, os, sys
work = sys.argv[1]
run = os.path.join(work, "runs", "margin")
rows = list(csv.DictReader(open(os.path.join(run, "samples.csv"))))
problems = []
for vm in ("idle", "bursts"):
    mine = [r for r in rows if r["vm"] == vm]
    full = [r for r in mine if r["target_mib"] and r["actual_mib"] and r["avail_mib"]]
    if len(mine) < 35 or len(full) < 30:
        problems.append(f"{vm}: {len(mine)} samples, {len(full)} with target, actual and avail")
idle = [r for r in rows if r["vm"] == "idle" and r["actual_mib"]]
if not idle or float(idle[-1]["actual_mib"]) > float(idle[-1]["max_mib"]) - 256:
    problems.append("the idle guest was not reclaimed by at least 256 MiB")
if not any(int(r["held_mib"] or 0) >= 100 for r in rows if r["vm"] == "bursts"):
    problems.append("the bursts workload never held 100 MiB")
summary = json.load(open(os.path.join(work, "summary.json")))
if not summary:
    problems.append("summary.json is empty")
for f in ("summary.md", "margin.png"):
    if os.path.getsize(os.path.join(work, f)) == 0:
        problems.append(f"{f} is empty")
for p in problems:
    print("FAIL:", p)
print("PASS" if not problems else f"{len(problems)} problem(s)")
sys.exit(1 if problems else 0)
PY
