#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The shipped Prometheus alert rules: `promtool check rules` accepts them, and `promtool test
# rules` runs config/examples/monitoring/balloond-alerts.test.yaml, which holds, for every alert,
# series that fire and series that do not. The dashboard is valid JSON with a datasource variable.
# (That both query only exported metrics is checked against a real scrape in
# tests/daemon/admin/metrics_scrape_test.sh.)
# Usage: rules_test.sh SRC_DIR
set -euo pipefail
dir=$1/config/examples/monitoring
command -v promtool >/dev/null || { echo "rules_test: FAIL: promtool not installed (scripts/deps.sh)"; exit 1; }
promtool check rules "$dir/balloond-alerts.yaml"
alerts=$(grep -c '^ *- alert:' "$dir/balloond-alerts.yaml")
tested=$(sed -n 's/^ *alertname: *//p' "$dir/balloond-alerts.test.yaml" | sort -u | wc -l)
[ "$tested" -eq "$alerts" ] || { echo "rules_test: FAIL: $alerts alerts, $tested tested"; exit 1; }
(cd "$dir" && promtool test rules balloond-alerts.test.yaml)
/usr/bin/python3 - "$dir/balloond-dashboard.json" <<'PY'
import json, sys
dash = json.load(open(sys.argv[1]))
names = [v["name"] for v in dash["templating"]["list"]]
assert "datasource" in names and "vm" in names, names
assert all(p["datasource"]["uid"] == "${datasource}" for p in dash["panels"]), "a panel without $datasource"
assert all(p["targets"] for p in dash["panels"]), "a panel without a query"
print(f"dashboard: {len(dash['panels'])} panels")
PY
echo "rules_test: $alerts alerts tested, passed"
