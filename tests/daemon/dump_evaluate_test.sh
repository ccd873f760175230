#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# SIGUSR1 writes the state dump to --dump-path with a log line naming it; `balloond --evaluate`
# reads it back and prints one decision per VM as JSON, with and without a config.
# Usage: dump_evaluate_test.sh BALLOOND SRC_DIR
set -euo pipefail
balloond=$1
src=$2
. "$(dirname "$0")/../harness.sh"

# The margin rule from the first report (no 10 s first-sight hold): decisions within seconds.
sed -e 's/^tick_s: 1$/tick_s: 0.2/' -e 's/hysteresis: 0.05}/hysteresis: 0.05, peak_window_s: 0}/' \
  "$src/config/examples/demo.yaml" >"$work/balloond.yaml"
printf 'control:\n  socket: %s/control.sock\n' "$work" >>"$work/balloond.yaml"
"$balloond" --config "$work/balloond.yaml" --dump-path "$work/dump.json" 2>"$work/log" &
pid=$!
wait_for "target-set"
kill -USR1 "$pid"
wait_for "snapshot-dumped path=$work/dump.json"
kill -TERM "$pid"
wait "$pid"
pid=""

python3 - "$work/dump.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["host"]["total_kib"] > 0, "no host"
assert len(d["vms"]) >= 7, "vms missing"
vm = d["vms"][0]
assert "control" in vm and "target_kib" in vm["control"] and vm["control"]["state"], "no control"
assert "history" in vm, "no history"
PY

"$balloond" --evaluate "$work/dump.json" --config "$work/balloond.yaml" >"$work/eval.json"
"$balloond" --evaluate "$work/dump.json" >"$work/eval-default.json"
python3 - "$work/eval.json" "$work/dump.json" <<'PY'
import json, sys
e = json.load(open(sys.argv[1]))
d = json.load(open(sys.argv[2]))
assert e["policy"] == "margin"
names = [v["name"] for v in d["vms"]]
assert [x["vm"] for x in e["decisions"]] == names, "one decision per VM, in order"
for x in e["decisions"]:
    assert x["reason"], x
    assert x["floor_kib"] <= x["target_kib"] <= x["ceiling_kib"] or x["reason"] in ("excluded", "no-driver"), x
PY

echo '{"time_s": 1, "host": {"total_kib": 1}, "vms": []}' >"$work/bad.json"
status=0
"$balloond" --evaluate "$work/bad.json" 2>"$work/err" || status=$?
[ "$status" -eq 2 ] || { echo "FAIL: bad snapshot exit status $status"; exit 1; }
grep -q "snapshot.host.available_kib: missing" "$work/err" || { echo "FAIL: error"; cat "$work/err"; exit 1; }
echo "dump_evaluate_test: 1 passed, 0 failed"
