#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Summarises a real-guest benchmark run (bench/guests/run.sh): one row per policy.

Reads OUT_DIR/runs/POLICY/{meta.json,samples.csv,balloond.log} for every policy that ran and
writes OUT_DIR/summary.json, OUT_DIR/summary.md (also printed), a timeline OUT_DIR/POLICY.png
per run (one panel per VM) and OUT_DIR/policies.png (the policies side by side).
Per run: memory reclaimed (mean of the sum over VMs of max - actual, over the seconds where
every VM has a sample; and over the second half), OOM kills, seconds with MemAvailable under
32 MiB, refaults, swap pages and disk reads (counter deltas; the reader's disk reads are its
page-cache misses: the guest kernel counts no refaults for a block device's cache), target pushes, how soon `idle` reached its
floor, and need episodes: a guest low on memory (MemAvailable < 128 MiB) while it could be
deflated; how long until balloond pushed a larger target, and until the balloon acknowledged
growing. Runs that cannot be read are skipped with a warning. Exits 1 when none could be.

Usage: bench/guests/summarize.py OUT_DIR   (needs python3-matplotlib)
"""
import csv
import json
import re
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ORDER = ["margin", "pressure", "mom", "share", "host-target", "static"]
LOW_AVAIL_MIB = 32  # a guest this short of memory is about to swap or kill
NEED_AVAIL_MIB = 128  # a need episode: the guest is below this ...
NEED_SLACK_MIB = 8  # ... and more than this below its max, so a deflate could help
PUSH_LEAD_S = 2  # a push this long before an episode starts still counts as serving it
FLOOR_SLACK_MIB = 16  # `idle` is at its floor when within this of it
NUMBERS = ["max_mib", "floor_mib", "target_mib", "actual_mib", "avail_mib", "held_mib",
           "refault", "pswpin", "pswpout", "oom_kill", "disk_read_kib", "host_avail_mib"]
LOG_LINE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?\s+\S+\s+"
                      r"(target-set|balloon-ack)\s+(.*)$")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def warn(message):
    print(f"summarize: {message}", file=sys.stderr)


def number(text):
    """A float from a CSV cell, or None when it is empty or not a number."""
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def read_samples(path):
    """{vm: [row, ...] sorted by t}, each row a dict of floats (None when empty)."""
    by_vm = {}
    with open(path, newline="") as f:
        for raw in csv.DictReader(f):
            t, vm = number(raw.get("t")), raw.get("vm")
            if t is None or not vm:
                continue
            row = {key: number(raw.get(key)) for key in NUMBERS}
            row["t"] = t
            by_vm.setdefault(vm, []).append(row)
    for rows in by_vm.values():
        rows.sort(key=lambda r: r["t"])
    return by_vm


def read_events(path, start_epoch, prefix):
    """{"target-set": {vm: [event]}, "balloon-ack": {vm: [event]}} for this run's VMs, each
    event a dict of the line's key=value fields plus t (seconds since balloond started)."""
    events = {"target-set": {}, "balloon-ack": {}}
    with open(path, errors="replace") as f:
        for line in f:
            match = LOG_LINE.match(ANSI.sub("", line.strip()))
            if not match:
                continue
            stamp, fraction, kind, rest = match.groups()
            fields = dict(p.split("=", 1) for p in rest.split() if "=" in p)
            vm = fields.get("vm", "")
            if not vm.startswith(prefix):
                continue
            try:
                local = time.strptime(stamp, "%Y-%m-%dT%H:%M:%S")  # the daemon logs local time
                epoch = time.mktime(local) + float(fraction or 0)
            except (ValueError, OverflowError):
                continue
            event = {k: number(v) for k, v in fields.items() if k.endswith("_mib")}
            event["t"] = epoch - start_epoch
            events[kind].setdefault(vm[len(prefix):], []).append(event)
    for per_vm in events.values():
        for vm_events in per_vm.values():
            vm_events.sort(key=lambda e: e["t"])
    return events


def counter_delta(rows, key):
    """How much a cumulative counter grew over the run: the sum of its increases, which is
    last - first unless the guest rebooted. 0 when it was never reported."""
    values = [r[key] for r in rows if r[key] is not None]
    return sum(max(0.0, b - a) for a, b in zip(values, values[1:]))


def reclaimed_by_second(by_vm):
    """[(t, MiB reclaimed over all VMs)] for the seconds where every VM has max and actual."""
    seconds = {}
    for vm, rows in by_vm.items():
        for r in rows:
            if r["max_mib"] is not None and r["actual_mib"] is not None:
                seconds.setdefault(round(r["t"]), {})[vm] = (r["t"], r["max_mib"] - r["actual_mib"])
    return [(min(t for t, _ in per_vm.values()), sum(mib for _, mib in per_vm.values()))
            for _, per_vm in sorted(seconds.items()) if len(per_vm) == len(by_vm)]


def mean_gib(values):
    return round(sum(values) / len(values) / 1024, 2) if values else None


def idle_to_floor(rows):
    """The first t at which the VM's actual is within FLOOR_SLACK_MIB of its floor, or None."""
    for r in rows:
        if r["actual_mib"] is not None and r["floor_mib"] is not None \
                and r["actual_mib"] <= r["floor_mib"] + FLOOR_SLACK_MIB:
            return r["t"]
    return None


def episodes(rows, run_end):
    """[(start row, end t)]: a need episode starts at a sample where MemAvailable is under
    NEED_AVAIL_MIB and actual is more than NEED_SLACK_MIB under max, and ends at the first
    later sample with MemAvailable at least NEED_AVAIL_MIB (or at the run's end)."""
    found, start = [], None
    for r in rows:
        avail, actual, top = r["avail_mib"], r["actual_mib"], r["max_mib"]
        if start is None:
            if None not in (avail, actual, top) and avail < NEED_AVAIL_MIB \
                    and actual < top - NEED_SLACK_MIB:
                start = r
        elif avail is not None and avail >= NEED_AVAIL_MIB:
            found.append((start, r["t"]))
            start = None
    if start is not None:
        found.append((start, run_end))
    return found


def serve(vm, start, end, events):
    """One episode's push and ack delays (s). A missing push or ack counts the whole episode."""
    t0, duration = start["t"], end - start["t"]
    push = next((e for e in events["target-set"].get(vm, [])
                 if t0 - PUSH_LEAD_S <= e["t"] < end
                 and (e.get("to_mib") or 0) > (e.get("from_mib") or 0)), None)
    ack = None
    if push is not None:
        ack = next((e for e in events["balloon-ack"].get(vm, [])
                    if push["t"] <= e["t"] < end
                    and (e.get("actual_mib") or 0) > int(start["actual_mib"])), None)
    return {"vm": vm, "t": round(t0, 2), "end_t": round(end, 2),
            "push_s": round(max(0.0, push["t"] - t0), 2) if push else round(duration, 2),
            "ack_s": round(max(0.0, ack["t"] - t0), 2) if ack else round(duration, 2),
            "served": ack is not None}


def need_figures(by_vm, events, run_end):
    """need_episodes, unserved_episodes, the worst push and ack delays and where they were."""
    found = [serve(vm, start, end, events) for vm, rows in sorted(by_vm.items())
             for start, end in episodes(rows, run_end)]
    out = {"need_episodes": len(found), "unserved_episodes": sum(not e["served"] for e in found),
           "episodes": found}
    for what in ("push", "ack"):
        worst = max(found, key=lambda e: e[f"{what}_s"], default=None)
        out[f"worst_need_{what}_s"] = worst[f"{what}_s"] if worst else None
        out[f"worst_need_{what}_vm"] = worst["vm"] if worst else None
        out[f"worst_need_{what}_t"] = worst["t"] if worst else None
    return out


def summarise(meta, by_vm, events):
    """The run's row of the summary."""
    run_end = max(rows[-1]["t"] for rows in by_vm.values())
    half = (number(meta.get("seconds")) or run_end) / 2
    reclaimed = reclaimed_by_second(by_vm)
    deltas = {key: sum(counter_delta(rows, key) for rows in by_vm.values())
              for key in ("oom_kill", "refault", "pswpin", "pswpout", "disk_read_kib")}
    host = [r["host_avail_mib"] for rows in by_vm.values() for r in rows
            if r["host_avail_mib"] is not None]
    pushes = [e for vm in by_vm for e in events["target-set"].get(vm, []) if e["t"] <= run_end]
    row = {
        "policy": meta["policy"],
        "vms": len(by_vm),
        "seconds": round(run_end, 1),
        "reclaimed_gib_avg": mean_gib([mib for _, mib in reclaimed]),
        "reclaimed_gib_end_half": mean_gib([mib for t, mib in reclaimed if t >= half]),
        "oom_kills": int(deltas["oom_kill"]),
        "low_avail_s": sum(1 for rows in by_vm.values() for r in rows
                           if r["avail_mib"] is not None and r["avail_mib"] < LOW_AVAIL_MIB),
        "refaults": int(deltas["refault"]),
        "swap_pages": int(deltas["pswpin"] + deltas["pswpout"]),
        "disk_read_mib": int(deltas["disk_read_kib"] / 1024),
        "pushes": len(pushes),
        "grow_pushes": sum(1 for e in pushes if (e.get("to_mib") or 0) > (e.get("from_mib") or 0)),
        "idle_to_floor_s": idle_to_floor(by_vm["idle"]) if "idle" in by_vm else None,
        "host_avail_min_gib": round(min(host) / 1024, 2) if host else None,
    }
    row.update(need_figures(by_vm, events, run_end))
    return row


def load_run(folder):
    """(meta, samples by VM, log events) of one run, or None after a warning."""
    try:
        meta = json.loads((folder / "meta.json").read_text())
        start_epoch = float(meta["start_epoch"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        warn(f"{folder / 'meta.json'}: cannot read the run's start ({e}); run skipped")
        return None
    meta["policy"] = folder.name  # run.sh names the folder after the policy
    try:
        by_vm = read_samples(folder / "samples.csv")
    except (OSError, csv.Error, UnicodeDecodeError) as e:
        warn(f"{folder / 'samples.csv'}: {e}; run skipped")
        return None
    if not by_vm:
        warn(f"{folder / 'samples.csv'}: no samples; run skipped")
        return None
    try:
        events = read_events(folder / "balloond.log", start_epoch, meta.get("prefix", ""))
    except OSError as e:
        warn(f"{folder / 'balloond.log'}: {e}; counted as no pushes and no acks")
        events = {"target-set": {}, "balloon-ack": {}}
    return meta, by_vm, events


def series(rows, key):
    """(ts, values) of the rows where key has a value."""
    points = [(r["t"], r[key]) for r in rows if r[key] is not None]
    return [t for t, _ in points], [v for _, v in points]


def plot_vm(ax, vm, rows, workload):
    ax.plot(*series(rows, "actual_mib"), color="tab:blue", label="actual")
    ax.plot(*series(rows, "target_mib"), color="tab:orange", linestyle="--", drawstyle="steps-post",
            label="target")
    ax.plot(*series(rows, "avail_mib"), color="tab:green", linewidth=1, label="guest MemAvailable")
    ax.plot(*series(rows, "held_mib"), color="tab:purple", linewidth=1, label="workload held")
    floors = series(rows, "floor_mib")[1]
    if floors:
        ax.axhline(floors[-1], color="gray", linestyle=":", label="floor")
    counted = [r for r in rows if r["oom_kill"] is not None]
    kills = [(b["t"], b["held_mib"] or 0) for a, b in zip(counted, counted[1:])
             if b["oom_kill"] > a["oom_kill"]]
    if kills:
        ax.plot(*zip(*kills), linestyle="", marker="x", color="red", markersize=9, label="OOM kill")
    ax.set_title(f"{vm}: {workload or 'no workload'}", fontsize=9, loc="left")
    ax.set_ylabel("MiB")
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)


def plot_run(path, meta, by_vm, row):
    """A timeline of the run, one panel per VM."""
    vms = sorted(by_vm, key=lambda vm: list(meta.get("guests", {})).index(vm)
                 if vm in meta.get("guests", {}) else len(by_vm))
    fig, axes = plt.subplots(len(vms), 1, sharex=True, figsize=(10, 2.2 * len(vms)), squeeze=False)
    for ax, vm in zip(axes[:, 0], vms):
        plot_vm(ax, vm, by_vm[vm], meta.get("guests", {}).get(vm, ""))
    labelled = {}  # every line once, OOM kills too when only a lower panel has them
    for ax in axes[:, 0]:
        labelled.update(zip(*reversed(ax.get_legend_handles_labels())))
    axes[0, 0].legend(labelled.values(), labelled.keys(), fontsize=7, ncol=6, loc="upper right")
    axes[-1, 0].set_xlabel("seconds since balloond started")
    size = number(meta.get("guest_mib")) \
        or max((r["max_mib"] or 0) for rows in by_vm.values() for r in rows)
    seconds = meta.get("seconds", row["seconds"])
    fig.suptitle(f"{row['policy']}: {len(vms)} guests of {size:.0f} MiB, {seconds} s — reclaimed "
                 f"{text(row['reclaimed_gib_avg'])} GiB mean, {row['oom_kills']} OOM kills")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_policies(path, rows):
    """Reclaimed memory and pushes, policy by policy."""
    names = [r["policy"] for r in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.bar(names, [r["reclaimed_gib_avg"] or 0 for r in rows], color="tab:blue")
    left.set_ylabel("GiB")
    left.set_title("memory reclaimed (mean)")
    right.bar(names, [r["pushes"] for r in rows], color="tab:orange", label="all")
    right.bar(names, [r["grow_pushes"] for r in rows], color="tab:green", label="of which growing")
    right.set_title("target pushes")
    right.legend(fontsize=8)
    for ax in (left, right):
        ax.tick_params(axis="x", rotation=30)
        ax.grid(True, axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def text(value):
    return "–" if value is None else f"{value:.2f}" if isinstance(value, float) else str(value)


def markdown(rows):
    """The summary table and a note per run on its worst need episode."""
    columns = [("policy", "policy"), ("reclaimed (GiB, mean)", "reclaimed_gib_avg"),
               ("reclaimed (GiB, 2nd half)", "reclaimed_gib_end_half"), ("OOM kills", "oom_kills"),
               ("s with avail < 32 MiB", "low_avail_s"), ("refaults", "refaults"),
               ("swap pages", "swap_pages"),
               ("disk reads (MiB)", "disk_read_mib"), ("pushes", "pushes"),
               ("growing pushes", "grow_pushes"),
               ("idle → floor (s)", "idle_to_floor_s"), ("need episodes", "need_episodes"),
               ("unserved", "unserved_episodes"), ("worst need → push (s)", "worst_need_push_s"),
               ("worst need → ack (s)", "worst_need_ack_s"),
               ("host avail min (GiB)", "host_avail_min_gib")]
    lines = ["| " + " | ".join(title for title, _ in columns) + " |",
             "|" + "|".join("---" if key == "policy" else "---:" for _, key in columns) + "|"]
    lines += ["| " + " | ".join(text(r[key]) for _, key in columns) + " |" for r in rows]
    lines.append("")
    for r in rows:
        worst = max(r["episodes"], key=lambda e: (e["ack_s"], e["push_s"]), default=None)
        if worst is None:
            lines.append(f"- {r['policy']}: no need episode.")
            continue
        outcome = "served" if worst["served"] else "unserved"
        lines.append(f"- {r['policy']}: worst need episode: {worst['vm']} at t={worst['t']:g} s "
                     f"(until {worst['end_t']:g} s, {outcome}): push after {worst['push_s']:g} s, "
                     f"ack after {worst['ack_s']:g} s.")
    return "\n".join(lines) + "\n"


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__.strip().splitlines()[-1])
    out = Path(sys.argv[1])
    runs = out / "runs"
    if not runs.is_dir():
        warn(f"{runs}: no such directory (not a bench/guests/run.sh output folder?)")
        return 1
    folders = sorted((d for d in runs.iterdir() if d.is_dir()),
                     key=lambda d: (ORDER.index(d.name) if d.name in ORDER else len(ORDER), d.name))
    rows = []
    for folder in folders:
        run = load_run(folder)
        if run is None:
            continue
        meta, by_vm, events = run
        row = summarise(meta, by_vm, events)
        plot_run(out / f"{folder.name}.png", meta, by_vm, row)
        rows.append(row)
    if not rows:
        warn(f"{runs}: no run could be summarised")
        return 1
    (out / "summary.json").write_text(json.dumps({r["policy"]: r for r in rows}, indent=2) + "\n")
    table = markdown(rows)
    (out / "summary.md").write_text(table)
    plot_policies(out / "policies.png", rows)
    print(table, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
