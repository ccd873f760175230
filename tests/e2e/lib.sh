# SPDX-License-Identifier: Apache-2.0
# Shared by the end-to-end tests (sourced): bounded waits and PASS/FAIL counting. The caller
# defines log() (its own prefix) and failures=0.

# Waits up to $2 seconds for the command after it to succeed.
wait_for() {
  local what=$1 limit=$2
  shift 2
  local end=$(($(date +%s) + limit))
  while [ "$(date +%s)" -lt "$end" ]; do
    if "$@" >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.5
  done
  log "timed out after ${limit}s waiting for: $what"
  return 1
}

# check ok|fail WHAT: logs the result and counts a failure.
check() {
  if [ "$1" = ok ]; then
    log "PASS: $2"
  else
    log "FAIL: $2"
    failures=$((failures + 1))
  fi
}
