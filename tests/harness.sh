# Sourced by the whole-binary test scripts: a scratch folder $work removed on exit, a daemon
# $pid killed on exit if still running, and wait_for PATTERN, which waits (at most 10 s) for a
# line of $work/log matching PATTERN and fails the test with the log otherwise.
work=$(mktemp -d)
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

wait_for() {
  for _ in $(seq 100); do
    grep -q -- "$1" "$work/log" && return 0
    sleep 0.1
  done
  echo "FAIL: no log line matching '$1'"; cat "$work/log"; exit 1
}
