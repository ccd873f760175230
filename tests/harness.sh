# SPDX-License-Identifier: Apache-2.0
# Sourced by the whole-binary test scripts: a scratch folder $work removed on exit; a daemon $pid
# stopped on exit if still running (continued first, in case the test stopped it); fail MESSAGE,
# which prints the tail of the daemon's log ($work/log) and exits 1; and wait_for PATTERN
# [SECONDS], which waits (15 s unless told) for a line of $work/log matching the extended regex
# PATTERN, and fails otherwise.
work=$(mktemp -d)
pid=""
cleanup() {
  if [ -n "$pid" ]; then
    kill -CONT "$pid" 2>/dev/null || true
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*"
  if [ -s "$work/log" ]; then
    echo "--- daemon log (last 30 lines)"
    tail -n 30 "$work/log"
  fi
  exit 1
}

wait_for() {
  local limit=${2:-15}
  for _ in $(seq $((limit * 10))); do
    grep -qE -- "$1" "$work/log" 2>/dev/null && return 0
    sleep 0.1
  done
  fail "no log line matching '$1' within ${limit} s"
}
