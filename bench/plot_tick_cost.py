#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Draws tick CPU against VM count (100, 1,000, 10,000): policy plus guards for every built-in
policy, and the whole tick on the simulated host, from scripts/bench.sh's results.

Usage: bench/plot_tick_cost.py RESULTS_DIR OUT.png   (needs python3-matplotlib)
"""
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

UNIT_MS = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}


def series(path, prefix):
    """{label: [(vms, cpu ms)]} for every benchmark whose name starts with prefix."""
    out = {}
    if not path.exists():
        return out
    for b in json.loads(path.read_text())["benchmarks"]:
        if not b["name"].startswith(prefix) or b.get("run_type", "iteration") != "iteration":
            continue
        *label, vms = b["name"][len(prefix):].split("/")
        out.setdefault("/".join(label), []).append((int(vms), b["cpu_time"] * UNIT_MS[b["time_unit"]]))
    return out


def main():
    folder, png = Path(sys.argv[1]), sys.argv[2]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label, points in sorted(series(folder / "policy.json", "policy+guards/").items()):
        xs, ys = zip(*sorted(points))
        ax.plot(xs, ys, marker="o", label=f"policy+guards: {label}")
    for _, points in series(folder / "tick.json", "BM_ControllerTick/").items():
        xs, ys = zip(*sorted(points))
        ax.plot(xs, ys, marker="s", color="black", linewidth=2, label="whole tick (margin, simulated host)")
    ax.axhline(1.0, color="red", linestyle="--", linewidth=1, label="goal: 1 ms")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("VMs")
    ax.set_ylabel("CPU per tick (ms)")
    ax.set_title("balloond: CPU per tick against VM count")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    print(f"plot: {png}", file=sys.stderr)


if __name__ == "__main__":
    main()
