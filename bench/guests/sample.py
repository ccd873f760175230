#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Samples a real-guest benchmark run once a second into a CSV (bench/guests/run.sh starts it).

Each second, for every VM of this run: balloond's view (max, floor, target, actual) from one
`vm-list` on its control socket, and the guest's own view (MemAvailable, what its workload
holds, refaults, swap, OOM kills, KiB read from disk) from the last `bench-stat` line on its serial console
(tests/e2e/workload.c, `report`), plus the host's MemAvailable. Rows go to OUT_CSV:
  t,vm,max_mib,floor_mib,target_mib,actual_mib,avail_mib,held_mib,refault,pswpin,pswpout,
  oom_kill,disk_read_kib,host_avail_mib
t is seconds since START_EPOCH; vm the name without PREFIX. Stops after SECONDS.

Usage: bench/guests/sample.py SOCKET CONSOLE_DIR PREFIX START_EPOCH SECONDS OUT_CSV
"""
import csv
import json
import os
import socket
import sys
import time

COLUMNS = ["t", "vm", "max_mib", "floor_mib", "target_mib", "actual_mib", "avail_mib",
           "held_mib", "refault", "pswpin", "pswpout", "oom_kill", "disk_read_kib",
           "host_avail_mib"]


def vm_list(path):
    """balloond's VMs by name, or {} when the socket does not answer."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(2)
            s.connect(path)
            s.sendall(b'{"command": "vm-list", "arguments": {}}\n')
            data = b""
            while not data.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        reply = json.loads(data)
        return {vm["name"]: vm for vm in reply.get("arguments", {}).get("vms", [])}
    except (OSError, ValueError):
        return {}


def last_stat(console):
    """The fields of the last complete bench-stat line in a console file, or {}."""
    try:
        with open(console, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 4096))
            lines = f.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return {}
    for line in reversed(lines[:-1] if lines else []):
        at = line.find("bench-stat ")
        if at >= 0:
            pairs = (p.split("=", 1) for p in line[at + 11:].split() if "=" in p)
            return {k: v for k, v in pairs}
    return {}


def host_available_mib():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) // 1024
    return ""


def mib(kib):
    return "" if kib in (None, "") else round(int(kib) / 1024, 1)


def main():
    if len(sys.argv) != 7:
        sys.exit(__doc__.strip().splitlines()[-1])
    sock, console_dir, prefix, start, seconds, out = sys.argv[1:]
    start, seconds = float(start), float(seconds)
    names = sorted(f[len(prefix):-len(".console")] for f in os.listdir(console_dir)
                   if f.startswith(prefix) and f.endswith(".console"))
    with open(out, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        tick = 1
        while tick <= seconds:
            time.sleep(max(0.0, start + tick - time.time()))
            t = round(time.time() - start, 2)
            vms = vm_list(sock)
            host = host_available_mib()
            for name in names:
                vm = vms.get(prefix + name, {})
                stat = last_stat(os.path.join(console_dir, prefix + name + ".console"))
                writer.writerow([t, name, mib(vm.get("max_kib")), mib(vm.get("floor_kib")),
                                 mib(vm.get("target_kib")), mib(vm.get("actual_kib")),
                                 mib(stat.get("avail_kib")), stat.get("held", ""),
                                 stat.get("refault", ""), stat.get("pswpin", ""),
                                 stat.get("pswpout", ""), stat.get("oom_kill", ""),
                                 stat.get("pgpgin", ""), host])
            f.flush()
            tick += 1


if __name__ == "__main__":
    main()
