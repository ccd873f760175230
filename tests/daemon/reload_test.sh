#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# SIGHUP reload end to end: a broken file is reported and the running config is kept; a good
# one is swapped in; SIGTERM stops cleanly with status 0. Usage: reload_test.sh BALLOOND SRC_DIR
set -euo pipefail
balloond=$1
src=$2
. "$(dirname "$0")/../harness.sh"

sed 's/^tick_s: 1$/tick_s: 0.2/' "$src/config/examples/demo.yaml" >"$work/balloond.yaml"
printf 'control:\n  socket: %s/control.sock\n' "$work" >>"$work/balloond.yaml"
"$balloond" --config "$work/balloond.yaml" 2>"$work/log" &
pid=$!
wait_for "daemon-start"
wait_for "target-set"

sed -i 's/params: {margin: 0.2,/params: {margin: 7,/' "$work/balloond.yaml"
kill -HUP "$pid"
wait_for "config-reload-failed"
grep -q "parameter 'margin' of policy 'margin' must be between 0.01 and 0.9, got 7.*keeping=old" \
  "$work/log" || { echo "FAIL: the bad value is not named, or the old config not kept"; exit 1; }
kill -0 "$pid" || { echo "FAIL: daemon died on a bad reload"; exit 1; }

sed -i 's/params: {margin: 7,/params: {margin: 0.3,/' "$work/balloond.yaml"
kill -HUP "$pid"
wait_for "config-reloaded policy=margin"

# Keys only a restart applies: named, the rest of the file still applied.
sed -i 's/^tick_s: 0.2$/tick_s: 0.5/' "$work/balloond.yaml"
printf 'state_dir: %s\n' "$work" >>"$work/balloond.yaml"
kill -HUP "$pid"
wait_for "config-reload-partial"
grep -q "config-reload-partial restart_needed=tick_s,state_dir " "$work/log" ||
  { echo "FAIL: the keys that need a restart are not named"; cat "$work/log"; exit 1; }

kill -TERM "$pid"
status=0
wait "$pid" || status=$?
pid=""
[ "$status" -eq 0 ] || { echo "FAIL: exit status $status after SIGTERM"; exit 1; }
grep -q "daemon-stopping reason=SIGTERM" "$work/log" || { echo "FAIL: no clean stop"; exit 1; }
echo "reload_test: 1 passed, 0 failed"
