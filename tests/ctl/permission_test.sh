#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Control-socket access, with balloonctl run as the unprivileged user `nobody` (setpriv):
#   - not in the socket's group: cannot connect at all (exit 4, permission denied);
#   - in the socket's group: read-only commands work, mutating ones get result 4 (exit 4);
#   - with the admin group as its group: mutating commands work.
# Needs root (to start the daemon with a group and to switch users); exits 77 (skipped) if not.
# Usage: permission_test.sh BALLOOND BALLOONCTL SRC_DIR
set -euo pipefail
balloond=$1
ctl_bin=$2
src=$3
if [ "$(id -u)" -ne 0 ] || ! command -v setpriv >/dev/null; then
  echo "permission_test: SKIPPED: needs root and setpriv to run the client as another user"
  exit 77
fi
reader_group=nogroup  # the socket's group
admin_group=daemon    # may run mutating commands
other_gid=$(getent group users | cut -d: -f3)
reader_gid=$(getent group "$reader_group" | cut -d: -f3)
admin_gid=$(getent group "$admin_group" | cut -d: -f3)
nobody_uid=$(id -u nobody)

work=$(mktemp -d)
chmod 755 "$work"
# nobody must be able to run the client from wherever it was built.
bin_copy="$work/balloonctl"
cp "$ctl_bin" "$bin_copy"
chmod 755 "$bin_copy"
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

passed=0
fail() { echo "FAIL: $*"; tail -20 "$work/log"; exit 1; }
# as GID [SUPPLEMENTARY] -- ARGS: balloonctl as nobody; sets $out and $rc.
as() {
  local gid=$1 groups=$2
  shift 3
  local supplementary=(--clear-groups)
  [ -n "$groups" ] && supplementary=(--groups="$groups")
  rc=0
  out=$(setpriv --reuid="$nobody_uid" --regid="$gid" "${supplementary[@]}" \
    "$bin_copy" --socket "$work/control.sock" "$@" 2>&1) || rc=$?
}
want() {
  local code=$1 pattern=$2
  [ "$rc" -eq "$code" ] || fail "exit $rc, want $code: $out"
  grep -qE -- "$pattern" <<<"$out" || fail "no '$pattern' in: $out"
  passed=$((passed + 1))
}

sed 's/^tick_s: 1$/tick_s: 0.2/' "$src/config/examples/demo.yaml" >"$work/balloond.yaml"
cat >>"$work/balloond.yaml" <<EOF
control:
  socket: $work/control.sock
  group: $reader_group
  admin_group: $admin_group
EOF
"$balloond" --config "$work/balloond.yaml" 2>"$work/log" &
pid=$!
for _ in $(seq 100); do grep -q "control-listening" "$work/log" && break; sleep 0.1; done
grep -q "control-listening" "$work/log" || fail "the daemon did not start"

[ "$(stat -c '%a %G' "$work/control.sock")" = "660 $reader_group" ] ||
  fail "socket mode/group: $(stat -c '%a %G' "$work/control.sock")"
passed=$((passed + 1))

as "$other_gid" "" -- status-get
want 4 "permission denied"

as "$reader_gid" "" -- vm-list
want 0 "^idle1 "
as "$reader_gid" "" -- status-get
want 0 "channel: +sim"
as "$reader_gid" "" -- vm-set idle1 --pin 700
want 4 "'vm-set' changes the daemon: it needs root or the admin group"
as "$reader_gid" "" -- daemon-pause
want 4 "needs root or the admin group"
as "$reader_gid" "" -- --json config-reload
want 4 '"result":4'
grep -q "control-forbidden command=vm-set uid=$nobody_uid" "$work/log" || fail "no forbidden log"
passed=$((passed + 1))

as "$admin_gid" "$reader_gid" -- vm-set idle1 --pin 700
want 0 "override set"
as "$admin_gid" "$reader_gid" -- daemon-pause
want 0 "^paused$"
as "$admin_gid" "$reader_gid" -- daemon-resume
want 0 "^running$"

echo "permission_test: $passed passed, 0 failed"
