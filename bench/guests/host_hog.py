#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Holds MIB of the host's memory, resident, until killed: the rest of an overcommitted host,
for the real-guest benchmark (bench/guests/run.sh --host-available). Each page is written once
and never again, so holding costs no CPU. Prints "hog-ready mib=N" once it holds it all.

Usage: bench/guests/host_hog.py MIB
"""
import mmap
import signal
import sys


def main():
    if len(sys.argv) != 2 or not sys.argv[1].isdigit():
        sys.exit(__doc__.strip().splitlines()[-1])
    size = max(1, int(sys.argv[1])) << 20
    held = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    chunk = b"\x01" * (1 << 20)
    for offset in range(0, size, len(chunk)):
        held[offset:offset + len(chunk)] = chunk
    print(f"hog-ready mib={size >> 20}", flush=True)
    stop = {signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop)
    signal.sigwait(stop)


if __name__ == "__main__":
    main()
