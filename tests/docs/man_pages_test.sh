#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The man pages in man/: each renders without a single groff warning (and, where mandoc is
# installed, without a mandoc warning), and none has gone stale: every flag `balloond --help`
# prints is in balloond.8 as printed (flag and argument), every subcommand line of
# `balloonctl help` is in balloonctl.8, every key `balloond --config-keys` prints (the key table)
# is in balloond.yaml.5 (by its dotted path outside lists, by name inside list entries), and so
# is every policy and parameter `balloond --list-policies` prints.
# Usage: man_pages_test.sh BALLOOND BALLOONCTL SRC_DIR. Skips (77) without man.
set -euo pipefail
balloond=$1
balloonctl=$2
src=$3
if ! command -v man >/dev/null; then
  echo "SKIP: man not found (Debian 12: apt-get install man-db groff-base)"
  exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
fail() {
  echo "FAIL: $*"
  failed=1
}

pages=(balloond.8 balloonctl.8 balloond.yaml.5)

# (a) Render each page; groff's warnings go to stderr. Also render as plain text without
# hyphenation or justification, wide, for the checks below.
for page in "${pages[@]}"; do
  file=$src/man/$page
  [ -f "$file" ] || { fail "$file is missing"; continue; }
  if ! man --warnings -E UTF-8 -l "$file" >/dev/null 2>"$work/$page.warnings" ||
    [ -s "$work/$page.warnings" ]; then
    fail "$page: man --warnings:"; cat "$work/$page.warnings"
  fi
  if command -v mandoc >/dev/null; then
    if ! mandoc -T lint -W warning "$file" >"$work/$page.lint" 2>&1; then
      fail "$page: mandoc -T lint -W warning:"; cat "$work/$page.lint"
    fi
  fi
  MANWIDTH=400 man -E UTF-8 --nh --nj -l "$file" 2>/dev/null | col -bx |
    sed 's/[[:space:]]\+/ /g' >"$work/$page.txt"
  echo "rendered $page: $(wc -l <"$work/$page.txt") lines"
done

# Does a line of the rendered page $1 start with the text $2, followed by a space or its end?
# That is where an entry's tag (.TP) is; spaces are normalised, the indent to one space.
has_tag() {
  awk -v want=" $2 " 'index($0 " ", want) == 1 { found = 1 } END { exit !found }' "$work/$1.txt"
}
# ... as a whole word (not part of a longer key or flag)? Words are keys, flags and names:
# letters, digits, '_', '-' and '.', of which only '.' needs quoting in a regular expression.
has_word() {
  local re=${2//./\\.}
  grep -qE -- "(^|[^A-Za-z0-9_.-])$re([^A-Za-z0-9_-]|\.?\$|\.[^A-Za-z0-9_])" "$work/$1.txt"
}

# (b) balloond --help: every "  --flag [ARG]" line, flag and argument as printed, as an entry.
n=0
while read -r flag arg; do
  n=$((n + 1))
  want=$flag${arg:+ $arg}
  has_tag balloond.8 "$want" || fail "balloond.8 does not document '$want' (balloond --help)"
done < <("$balloond" --help | sed -n 's/^  \(--[a-z-]*\)\( [A-Z]*\)\{0,1\} .*/\1\2/p')
[ "$n" -ge 10 ] || fail "parsed only $n flags from balloond --help"
echo "balloond --help: $n flags checked"

# balloonctl help: every subcommand line ("  name [usage]") as an entry, and every option.
n=0
while read -r line; do
  n=$((n + 1))
  has_tag balloonctl.8 "$line" || fail "balloonctl.8 does not document '$line' (balloonctl help)"
done < <("$balloonctl" help | sed -n 's/^  \([a-z][a-z-]*.*\)$/\1/p')
[ "$n" -ge 14 ] || fail "parsed only $n subcommands from balloonctl help"
for opt in $("$balloonctl" help | grep -oE -- '--[a-z-]+' | sort -u); do
  has_word balloonctl.8 "$opt" || fail "balloonctl.8 does not document option '$opt'"
done
echo "balloonctl help: $n subcommands checked"

# Every key of the key table (`balloond --config-keys`, the table the loader and config-get read).
# A key outside lists is checked by its dotted path; a key inside a list entry (`vms[].floor_mib`)
# by its name.
n=0
while read -r path; do
  n=$((n + 1))
  if [[ $path == *"[]"* ]]; then
    name=${path##*.}
    has_word balloond.yaml.5 "$name" || fail "balloond.yaml.5 does not document key '$name' ($path)"
  else
    has_word balloond.yaml.5 "$path" || fail "balloond.yaml.5 does not document key '$path'"
  fi
done < <("$balloond" --config-keys | awk '{ print $1 }')
[ "$n" -ge 60 ] || fail "parsed only $n keys from balloond --config-keys"
echo "balloond --config-keys: $n keys checked"

# Every policy and parameter balloond --list-policies prints.
n=0
while read -r name; do
  n=$((n + 1))
  has_word balloond.yaml.5 "$name" || fail "balloond.yaml.5 does not document policy or parameter '$name'"
done < <("$balloond" --list-policies | sed -n 's/^\([a-z-]*\): .*/\1/p; s/^  \([a-z_]*\) .*/\1/p')
[ "$n" -ge 25 ] || fail "parsed only $n policies and parameters from balloond --list-policies"
echo "balloond --list-policies: $n names checked"

[ "$failed" -eq 0 ] || exit 1
echo "PASS"
