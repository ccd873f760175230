#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The .deb on a clean Debian 12: builds it with cpack, unpacks a minimal bookworm root made by
# debootstrap (cached as a tarball, see debian_root.sh), installs the package there with apt-get (which
# fetches its dependencies from the host's Debian mirror), and runs the installed balloond and
# balloonctl from their installed paths: --version, --check-config and --evaluate with
# /etc/balloond/balloond.yaml. Then: the postinst made the balloond group, a reinstall keeps an
# edited conffile, and a purge leaves nothing behind.
# Needs root (debootstrap, chroot) and the mirror; skips (77) without them (debian_root.sh).
# Usage: chroot_install_test.sh BUILD_DIR SRC_DIR
set -euo pipefail
build=$1
src=$2
. "$(dirname "$0")/../harness.sh"

. "$(dirname "$0")/debian_root.sh"

make_root "$work/root"
build_deb "$build"
cp "$deb" "$src/tests/package/snapshot.json" "$root/tmp/"
root_apt_install "/tmp/$(basename "$deb")"
echo "apt-get installed $(basename "$deb"): $(grep -c '^Unpacking' "$work/apt.log") packages unpacked"

# --- the installed binaries, from their installed paths.
version=$(dpkg-deb --field "$deb" Version)
out=$(in_root /usr/sbin/balloond --version) || fail "balloond --version: $out"
[ "$out" = "balloond $version" ] || fail "balloond --version printed '$out', want 'balloond $version'"
echo "/usr/sbin/balloond --version: $out"
in_root /usr/sbin/balloond --check-config --config /etc/balloond/balloond.yaml ||
  fail "the installed config does not check"
in_root /usr/sbin/balloond --evaluate /tmp/snapshot.json >"$work/eval-default.json" ||
  fail "balloond --evaluate with the built-in defaults"
in_root /usr/sbin/balloond --evaluate /tmp/snapshot.json --config /etc/balloond/balloond.yaml \
  >"$work/eval.json" || fail "balloond --evaluate --config /etc/balloond/balloond.yaml"
python3 - "$work/eval.json" <<'PY' || fail "the --evaluate output"
import json, sys
e = json.load(open(sys.argv[1]))
assert e["policy"] == "margin", e["policy"]
assert [d["vm"] for d in e["decisions"]] == ["idle1", "idle2", "web1"], e["decisions"]
for d in e["decisions"]:
    # default_floor_mib: 512 in /etc/balloond/balloond.yaml.
    assert d["floor_kib"] == 512 * 1024 and d["target_kib"] >= d["floor_kib"], d
PY
echo "/usr/sbin/balloond --evaluate: 3 decisions, floors from /etc/balloond/balloond.yaml"
in_root /usr/bin/balloonctl --help >/dev/null || fail "balloonctl --help"
status=0
in_root /usr/bin/balloonctl status-get >"$work/ctl.out" 2>&1 || status=$?
[ "$status" -ne 0 ] && grep -q "/run/balloond/control.sock" "$work/ctl.out" ||
  fail "balloonctl status-get without a daemon (exit $status): $(cat "$work/ctl.out")"
echo "/usr/bin/balloonctl: runs; without a daemon it names the socket (exit $status)"

# --- the postinst, the conffile, the purge.
in_root getent group balloond >/dev/null || fail "the postinst did not create group balloond"
echo "postinst without systemd-sysusers: groupadd made group balloond"
# On a systemd host (every host the unit runs on) the group comes from the sysusers.d entry.
in_root groupdel balloond
root_apt_install systemd
in_root dpkg-reconfigure balloond </dev/null >>"$work/apt.log" 2>&1 || fail "dpkg-reconfigure"
in_root getent group balloond >/dev/null ||
  fail "the postinst did not create group balloond with systemd-sysusers"
echo "postinst with systemd-sysusers: group balloond from /usr/lib/sysusers.d/balloond.conf"
echo "# edited by the operator" >>"$root/etc/balloond/balloond.yaml"
# The packaged file did not change, so dpkg keeps the edit without asking (no terminal here).
in_root dpkg -i "/tmp/$(basename "$deb")" </dev/null >>"$work/apt.log" 2>&1 ||
  { tail -20 "$work/apt.log"; fail "reinstall"; }
grep -q "edited by the operator" "$root/etc/balloond/balloond.yaml" ||
  fail "a reinstall replaced the edited conffile"
mkdir -p "$root/var/lib/balloond" && echo '{}' >"$root/var/lib/balloond/state.json"
in_root dpkg --purge balloond >>"$work/apt.log" 2>&1 || fail "dpkg --purge"
for f in /usr/sbin/balloond /usr/bin/balloonctl /etc/balloond /var/lib/balloond \
  /lib/systemd/system/balloond.service /usr/share/doc/balloond; do
  [ ! -e "$root$f" ] || fail "$f is still there after dpkg --purge"
done
echo "reinstall kept the edited conffile; purge removed everything"
echo "chroot_install_test: passed"
