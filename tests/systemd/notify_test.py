#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The sd_notify protocol end to end: balloond on the simulated host, with NOTIFY_SOCKET pointing
at a datagram socket this test reads and a watchdog asked for through WATCHDOG_USEC. It must say
READY=1 after its first tick, keep a STATUS= line, pet the watchdog, wrap a SIGHUP reload in
RELOADING=1 (with MONOTONIC_USEC) ... READY=1, and say STOPPING=1 on SIGTERM. A second run
without WATCHDOG_USEC must never send WATCHDOG=1.

Usage: notify_test.py BALLOOND SRC_DIR"""
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

STATUS_RE = re.compile(r"^\d+ VMs managed, \d+ MiB reclaimed, "
                       r"problems: \d+ stuck, \d+ uncooperative, \d+ no-driver( \(paused\))?$")


def fail(message, log_path=None):
    print("FAIL: " + message)
    if log_path and os.path.exists(log_path):
        with open(log_path, encoding="utf-8", errors="replace") as f:
            sys.stdout.write(f.read()[-4000:])
    sys.exit(1)


class Run:
    """One balloond process and the notifications it sent, in order, as (time, key, value)."""

    def __init__(self, balloond, work, config, watchdog_usec):
        self.log_path = os.path.join(work, "log")
        self.sock_path = os.path.join(work, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.sock_path)
        self.messages = []  # (monotonic usec when received, key, value)
        env = dict(os.environ)
        env["NOTIFY_SOCKET"] = self.sock_path
        env.pop("WATCHDOG_PID", None)
        env.pop("WATCHDOG_USEC", None)
        if watchdog_usec:
            env["WATCHDOG_USEC"] = str(watchdog_usec)
        self.log = open(self.log_path, "w", encoding="utf-8")
        self.proc = subprocess.Popen([balloond, "--config", config], env=env,
                                     stdout=subprocess.DEVNULL, stderr=self.log)

    def pump(self, timeout_s):
        """Reads datagrams for up to timeout_s (less if one arrives)."""
        self.sock.settimeout(timeout_s)
        try:
            data = self.sock.recv(4096)
        except socket.timeout:
            return
        now = time.monotonic_ns() // 1000
        for line in data.decode().split("\n"):
            if line:
                key, _, value = line.partition("=")
                self.messages.append((now, key, value))

    def wait_for(self, predicate, what, timeout_s=10):
        """Pumps until predicate(messages) holds, at most timeout_s."""
        deadline = time.monotonic() + timeout_s
        while not predicate(self.messages):
            left = deadline - time.monotonic()
            if left <= 0:
                fail(f"timed out waiting for {what}; received {self.keys()}", self.log_path)
            if self.proc.poll() is not None:
                self.pump(0.1)  # what it sent before it died
                if predicate(self.messages):
                    return
                fail(f"balloond exited ({self.proc.returncode}) before {what}", self.log_path)
            self.pump(min(left, 0.2))

    def keys(self):
        return [k + ("=" + v if k != "STATUS" else "") for _, k, v in self.messages]

    def index(self, key, value=None, start=0):
        for i in range(start, len(self.messages)):
            _, k, v = self.messages[i]
            if k == key and (value is None or v == value):
                return i
        return -1

    def stop(self):
        """SIGTERM, then drain what is left; returns the exit status."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            status = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            fail("balloond did not stop within 10 s of SIGTERM", self.log_path)
        self.pump(0.2)
        while True:  # drain
            before = len(self.messages)
            self.pump(0.05)
            if len(self.messages) == before:
                break
        return status

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        self.sock.close()


def write_config(src, work):
    with open(os.path.join(src, "config/examples/demo.yaml"), encoding="utf-8") as f:
        text = f.read()
    text = re.sub(r"^tick_s: 1$", "tick_s: 0.2", text, flags=re.M)
    text += f"control:\n  socket: {work}/control.sock\n"
    path = os.path.join(work, "balloond.yaml")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def with_watchdog(balloond, work, config):
    run = Run(balloond, work, config, watchdog_usec=2_000_000)
    try:
        run.wait_for(lambda m: any(k == "READY" for _, k, _ in m), "READY=1")
        run.wait_for(lambda m: sum(k == "WATCHDOG" for _, k, _ in m) >= 3, "three WATCHDOG=1")
        ready = run.index("READY", "1")
        first_status = run.index("STATUS")
        if first_status < 0 or first_status > ready:
            fail(f"no STATUS= with or before the first READY=1: {run.keys()}", run.log_path)
        for _, k, v in run.messages:
            if k == "STATUS" and not STATUS_RE.match(v):
                fail(f"STATUS= line not in the documented form: '{v}'", run.log_path)

        before_hup = time.monotonic_ns() // 1000
        run.proc.send_signal(signal.SIGHUP)
        run.wait_for(lambda m: run.index("RELOADING", "1") >= 0, "RELOADING=1")
        reloading = run.index("RELOADING", "1")
        run.wait_for(lambda m: run.index("READY", "1", reloading + 1) >= 0,
                     "READY=1 after RELOADING=1")
        after_reload = time.monotonic_ns() // 1000
        usec = [v for _, k, v in run.messages[reloading:] if k == "MONOTONIC_USEC"]
        if not usec:
            fail(f"RELOADING=1 without MONOTONIC_USEC: {run.keys()}", run.log_path)
        if not before_hup <= int(usec[0]) <= after_reload:
            fail(f"MONOTONIC_USEC={usec[0]} is not CLOCK_MONOTONIC between the SIGHUP "
                 f"({before_hup}) and the READY=1 ({after_reload})", run.log_path)

        status = run.stop()
        if status != 0:
            fail(f"exit status {status} after SIGTERM", run.log_path)
        stopping = run.index("STOPPING", "1")
        if stopping < 0:
            fail(f"no STOPPING=1 after SIGTERM: {run.keys()}", run.log_path)
        if stopping < run.index("READY", "1", reloading + 1):
            fail(f"STOPPING=1 before the reload's READY=1: {run.keys()}", run.log_path)
        if any(k in ("READY", "WATCHDOG", "RELOADING") for _, k, _ in run.messages[stopping:]):
            fail(f"READY/WATCHDOG/RELOADING after STOPPING=1: {run.keys()}", run.log_path)
        # The watchdog is petted every tick: gaps far below the 2 s interval.
        pets = [t for t, k, _ in run.messages if k == "WATCHDOG"]
        worst = max(b - a for a, b in zip(pets, pets[1:]))
        if worst > 1_000_000:
            fail(f"WATCHDOG=1 gap of {worst} us with tick_s 0.2 and a 2 s watchdog", run.log_path)
        with open(run.log_path, encoding="utf-8") as f:
            if "watchdog interval_s=2" not in f.read():
                fail("the daemon did not log the watchdog interval it saw", run.log_path)
        print(f"with watchdog: {len(run.messages)} notifications, in order: "
              f"READY (+STATUS), {len(pets)} WATCHDOG, RELOADING (+MONOTONIC_USEC), READY, "
              f"STOPPING")
    finally:
        run.close()


def without_watchdog(balloond, work, config):
    os.unlink(os.path.join(work, "notify.sock"))
    run = Run(balloond, work, config, watchdog_usec=None)
    try:
        run.wait_for(lambda m: any(k == "READY" for _, k, _ in m), "READY=1")
        time.sleep(1)  # five ticks
        status = run.stop()
        if status != 0:
            fail(f"exit status {status} after SIGTERM", run.log_path)
        if run.index("WATCHDOG") >= 0:
            fail(f"WATCHDOG=1 sent with no watchdog asked for: {run.keys()}", run.log_path)
        if run.index("STOPPING", "1") < 0:
            fail(f"no STOPPING=1: {run.keys()}", run.log_path)
        print("without watchdog: READY and STOPPING, no WATCHDOG")
    finally:
        run.close()


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        sys.exit(2)
    balloond, src = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as work:
        config = write_config(src, work)
        with_watchdog(balloond, work, config)
        without_watchdog(balloond, work, config)
    print("notify_test: 2 passed, 0 failed")


if __name__ == "__main__":
    main()
