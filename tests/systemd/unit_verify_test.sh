#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The service unit, as systemd reads it: `systemd-analyze verify` on a copy whose ExecStart= is
# the balloond just built (the installed path does not exist in a build tree), with and without
# the metrics drop-in; any warning fails. Then `systemd-analyze security --offline` holds the
# hardening to an exposure of at most 3.0, and the sysusers entry parses.
# Usage: unit_verify_test.sh BALLOOND SRC_DIR. Skips (77) without systemd-analyze.
set -euo pipefail
balloond=$1
src=$2
if ! command -v systemd-analyze >/dev/null; then
  echo "SKIP: systemd-analyze not found (Debian 12: apt-get install systemd)"
  exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

sed "s|^ExecStart=/usr/sbin/balloond |ExecStart=$balloond |" "$src/systemd/balloond.service" \
  >"$work/balloond.service"
grep -q "^ExecStart=$balloond --config" "$work/balloond.service" ||
  { echo "FAIL: ExecStart= is not '/usr/sbin/balloond --config ...'"; exit 1; }

# systemd-analyze verify exits 0 on unknown keys and bad values, warning on stderr only: any
# output is a failure. Man pages are packaging's business (--man=no).
verify() {
  local out
  if ! out=$(cd "$work" && systemd-analyze verify --man=no balloond.service 2>&1) ||
    [ -n "$out" ]; then
    echo "FAIL: systemd-analyze verify ($1):"; echo "$out"; exit 1
  fi
  echo "verify ($1): clean"
}
verify "the unit"

for key in Type=notify WatchdogSec= Restart=on-failure RuntimeDirectory=balloond \
  ConfigurationDirectory=balloond StateDirectory=balloond ProtectSystem=strict \
  ProtectHome=yes PrivateTmp=yes NoNewPrivileges=yes CapabilityBoundingSet= \
  RestrictAddressFamilies=AF_UNIX SystemCallFilter=@system-service OOMScoreAdjust= \
  MemoryMin= SupplementaryGroups=balloond; do
  grep -q "^$key" "$work/balloond.service" || { echo "FAIL: the unit has no $key"; exit 1; }
done
grep -q "^After=.*libvirtd.service" "$work/balloond.service" &&
  grep -q "^After=.*virtqemud.service" "$work/balloond.service" ||
  { echo "FAIL: not ordered after libvirtd and virtqemud"; exit 1; }

security() {
  local out
  if ! out=$(cd "$work" && systemd-analyze security --offline=yes --man=no --threshold=30 \
    balloond.service 2>&1); then
    echo "FAIL: exposure above 3.0 ($1):"; echo "$out"; exit 1
  fi
  echo "security ($1): $(echo "$out" | grep -o 'Overall exposure level.*')"
}
security "the unit"

mkdir "$work/balloond.service.d"
cp "$src/systemd/metrics.conf" "$work/balloond.service.d/"
verify "with the metrics drop-in"
security "with the metrics drop-in"

if command -v systemd-sysusers >/dev/null; then
  root="$work/root"
  mkdir -p "$root/etc" "$root/usr/lib/sysusers.d"
  : >"$root/etc/passwd"
  : >"$root/etc/group"
  cp "$src/systemd/balloond.sysusers" "$root/usr/lib/sysusers.d/balloond.conf"
  systemd-sysusers --root="$root" balloond.conf
  grep -q "^balloond:x:[0-9]*:" "$root/etc/group" ||
    { echo "FAIL: sysusers did not create the balloond group"; exit 1; }
  echo "sysusers: creates group balloond"
fi
echo "unit_verify_test: passed"
