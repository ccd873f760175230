#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# What `cmake --install` and the .deb put where: installs the build into a scratch DESTDIR with
# the package's prefix and with another one (the unit's ExecStart= must follow the prefix), then
# builds the .deb with cpack and checks it with dpkg-deb (files, conffiles, dependencies,
# maintainer scripts) and with lintian when it is installed (any error or warning fails).
# Usage: deb_test.sh BUILD_DIR SRC_DIR
set -euo pipefail
build=$1
src=$2
. "$(dirname "$0")/../harness.sh"

version=$("$build/daemon/balloond" --version | awk '{print $NF}')

# --- cmake --install, as the package lays it out.
DESTDIR="$work/usr-root" cmake --install "$build" --prefix /usr >/dev/null
expected=(
  usr/sbin/balloond usr/bin/balloonctl
  lib/systemd/system/balloond.service usr/lib/sysusers.d/balloond.conf
  etc/balloond/balloond.yaml
  usr/share/man/man8/balloond.8.gz usr/share/man/man8/balloonctl.8.gz
  usr/share/man/man5/balloond.yaml.5.gz
  usr/share/doc/balloond/copyright usr/share/doc/balloond/changelog.gz
  usr/share/doc/balloond/examples/balloond.yaml usr/share/doc/balloond/examples/metrics.conf
  usr/share/doc/balloond/examples/monitoring/balloond-dashboard.json
  usr/share/doc/balloond/examples/monitoring/balloond-alerts.yaml
)
for f in "${expected[@]}"; do
  [ -f "$work/usr-root/$f" ] || fail "cmake --install --prefix /usr did not install /$f"
done
grep -qx "ExecStart=/usr/sbin/balloond --config /etc/balloond/balloond.yaml" \
  "$work/usr-root/lib/systemd/system/balloond.service" || fail "unit ExecStart= under /usr"
cmp -s "$src/config/examples/libvirt-host.yaml" "$work/usr-root/etc/balloond/balloond.yaml" ||
  fail "/etc/balloond/balloond.yaml is not config/examples/libvirt-host.yaml"
"$work/usr-root/usr/sbin/balloond" --check-config \
  --config "$work/usr-root/etc/balloond/balloond.yaml" >/dev/null ||
  fail "the installed config does not check"
for page in man8/balloond.8 man8/balloonctl.8 man5/balloond.yaml.5; do
  zcat "$work/usr-root/usr/share/man/$page.gz" | cmp -s - "$src/man/${page#*/}" ||
    fail "$page.gz is not man/${page#*/}"
done
head -n 1 "$work/usr-root/usr/share/doc/balloond/copyright" | grep -q '^Format: .*copyright-format/1.0/' &&
  grep -qx 'License: Apache-2.0' "$work/usr-root/usr/share/doc/balloond/copyright" ||
  fail "the copyright file is not machine-readable (DEP-5) with License: Apache-2.0"
echo "cmake --install --prefix /usr: ${#expected[@]} files in place"

DESTDIR="$work/opt-root" cmake --install "$build" --prefix /opt/balloond >/dev/null
grep -qx "ExecStart=/opt/balloond/sbin/balloond --config /etc/balloond/balloond.yaml" \
  "$work/opt-root/lib/systemd/system/balloond.service" ||
  fail "unit ExecStart= does not follow --prefix /opt/balloond"
[ -x "$work/opt-root/opt/balloond/sbin/balloond" ] || fail "no /opt/balloond/sbin/balloond"
echo "cmake --install --prefix /opt/balloond: ExecStart= follows the prefix"

# --- the .deb.
cpack --config "$build/CPackConfig.cmake" -G DEB -B "$work/cpack" >"$work/cpack.log" 2>&1 ||
  { cat "$work/cpack.log"; fail "cpack"; }
deb="$work/cpack/balloond_${version}_amd64.deb"
[ -f "$deb" ] || fail "cpack made no $deb: $(ls "$work/cpack")"
field() { dpkg-deb --field "$deb" "$1"; }
[ "$(field Package)" = balloond ] || fail "Package: $(field Package)"
[ "$(field Version)" = "$version" ] || fail "Version: $(field Version), balloond --version $version"
depends=$(field Depends)
for dep in libvirt0 libyaml-cpp libspdlog libsystemd0 libstdc++6 libc6 passwd procps; do
  grep -q "$dep" <<<"$depends" || fail "Depends: lacks $dep ($depends)"
done
dpkg-deb --contents "$deb" | awk '{print $NF}' | sed 's|^\./||' >"$work/contents"
for f in "${expected[@]}"; do
  grep -qx "$f" "$work/contents" || fail "the .deb lacks /$f"
done
if grep -E "^(usr/local|home|root|tmp|work)/" "$work/contents"; then fail "stray paths"; fi
dpkg-deb --control "$deb" "$work/control"
grep -qx /etc/balloond/balloond.yaml "$work/control/conffiles" || fail "no conffile"
for script in postinst prerm postrm; do
  [ -x "$work/control/$script" ] || fail "no executable $script"
  sh -n "$work/control/$script" || fail "$script does not parse"
done
grep -q "systemd-sysusers balloond.conf" "$work/control/postinst" || fail "postinst: no group"
echo "dpkg-deb: $(basename "$deb"), $(wc -l <"$work/contents") entries, Depends: $depends"

if command -v lintian >/dev/null; then
  # Errors and warnings fail; informational tags are printed (dh_strip's removal of .comment
  # sections has no CPack equivalent).
  lintian --display-info --pedantic "$deb" >"$work/lintian" 2>&1 || true
  grep -v "running with root privileges" "$work/lintian" || true
  if grep -qE "^[EW]: " "$work/lintian"; then fail "lintian reports errors or warnings"; fi
  echo "lintian: no errors, no warnings"
else
  echo "lintian: not installed (scripts/deps.sh installs it), skipped"
fi
echo "deb_test: passed"
