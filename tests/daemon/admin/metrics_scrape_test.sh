#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The metrics listener end to end: balloond on the simulated host exposes /metrics on loopback;
# `promtool check metrics` accepts the text; the shipped Grafana dashboard and alert rules use
# only metric names it has; a real Prometheus server scrapes it and can query per-VM gauges and
# the histograms. Bounded (about 40 s at most); everything started is stopped.
# Usage: metrics_scrape_test.sh BALLOOND SRC_DIR
set -euo pipefail
balloond=$1
src=$2
for tool in promtool prometheus curl; do
  command -v "$tool" >/dev/null || { echo "metrics_scrape_test: FAIL: $tool not installed (scripts/deps.sh)"; exit 1; }
done
work=$(mktemp -d)
pid=""
prom=""
cleanup() {
  for p in $prom $pid; do
    kill "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
passed=0
fail() {
  echo "FAIL: $*"
  echo "--- balloond"; tail -5 "$work/log"
  [ -f "$work/prom.log" ] && { echo "--- prometheus"; tail -10 "$work/prom.log"; }
  exit 1
}

sed 's/^tick_s: 1$/tick_s: 0.2/' "$src/config/examples/demo.yaml" >"$work/balloond.yaml"
cat >>"$work/balloond.yaml" <<EOF
control:
  socket: $work/control.sock
metrics:
  listen: "127.0.0.1:0"
EOF
"$balloond" --config "$work/balloond.yaml" 2>"$work/log" &
pid=$!
port=""
for _ in $(seq 100); do
  port=$(sed -n 's/.*metrics-listening address=127.0.0.1 port=\([0-9]*\).*/\1/p' "$work/log")
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || fail "no metrics-listening line"
sleep 1  # a few ticks, so targets have been pushed

url="http://127.0.0.1:$port/metrics"
curl -sf "$url" >"$work/metrics.txt" || fail "GET $url"
promtool check metrics <"$work/metrics.txt" >"$work/promtool.txt" 2>&1 ||
  fail "promtool check metrics: $(cat "$work/promtool.txt")"
passed=$((passed + 1))
for line in 'balloond_vm_actual_bytes{vm="idle1"}' 'balloond_vm_state{vm="db1",state=' \
  'balloond_host_available_bytes ' 'balloond_reclaimed_bytes ' \
  'balloond_tick_duration_seconds_bucket{le="+Inf"}' 'balloond_ack_latency_seconds_count ' \
  'balloond_errors_total{kind="push"} 0'; do
  grep -qF "$line" "$work/metrics.txt" || fail "no '$line' in the exposition"
  passed=$((passed + 1))
done
# The shipped dashboard and alert rules query only metrics this scrape has.
monitoring=$src/config/examples/monitoring
/usr/bin/python3 "$src/tests/monitoring/check_metric_names.py" "$work/metrics.txt" \
  "$monitoring/balloond-dashboard.json" "$monitoring/balloond-alerts.yaml" >"$work/names.txt" ||
  fail "the dashboard or the rules use metrics balloond does not export: $(cat "$work/names.txt")"
passed=$((passed + 1))
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/other")
[ "$code" = 404 ] || fail "GET /other: $code, want 404"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$url")
[ "$code" = 405 ] || fail "POST /metrics: $code, want 405"
passed=$((passed + 1))

# A real Prometheus, on a loopback port of its own, scraping every second.
cat >"$work/prometheus.yml" <<EOF
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: balloond
    static_configs: [{targets: ["127.0.0.1:$port"]}]
EOF
promtool check config "$work/prometheus.yml" >/dev/null || fail "promtool check config"
for attempt in 1 2 3; do
  pport=$((20000 + RANDOM % 20000))
  prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/data" \
    --web.listen-address="127.0.0.1:$pport" >"$work/prom.log" 2>&1 &
  prom=$!
  for _ in $(seq 100); do
    grep -q "Server is ready to receive web requests" "$work/prom.log" && break
    kill -0 "$prom" 2>/dev/null || break
    sleep 0.1
  done
  grep -q "Server is ready" "$work/prom.log" && break
  wait "$prom" 2>/dev/null || true
  prom=""
done
[ -n "$prom" ] || fail "prometheus did not start"

query() {
  curl -sf --get "http://127.0.0.1:$pport/api/v1/query" --data-urlencode "query=$1"
}
got=""
for _ in $(seq 60); do  # at most 30 s
  got=$(query 'count(balloond_vm_actual_bytes) and on() up{job="balloond"} == 1' || true)
  grep -q '"value":\[[0-9.]*,"7"\]' <<<"$got" && break
  sleep 0.5
done
grep -q '"value":\[[0-9.]*,"7"\]' <<<"$got" || fail "Prometheus never saw 7 VMs: $got"
passed=$((passed + 1))
got=$(query 'sum(balloond_tick_duration_seconds_count)')
grep -q '"value":\[[0-9.]*,"[1-9][0-9]*"\]' <<<"$got" || fail "tick histogram: $got"
got=$(query 'histogram_quantile(0.99, balloond_tick_duration_seconds_bucket)')
grep -q '"resultType":"vector","result":\[{' <<<"$got" || fail "tick p99: $got"
passed=$((passed + 1))

echo "metrics_scrape_test: $passed passed, 0 failed"
