#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Every tracked source, script, build file, unit and config file carries the SPDX line
# `SPDX-License-Identifier: Apache-2.0` in its first three lines, so a new file cannot land
# without it. Data and prose (Markdown, JSON, the Debian changelog and copyright, LICENSE, fuzz
# corpora, PNG pictures) have no comment syntax of their own and are left out. Also: LICENSE is the
# Apache-2.0 text. Usage: spdx_test.sh SRC_DIR. Skips (77) outside a git checkout.
set -euo pipefail
src=$1
cd "$src"
if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  echo "SKIP: $src is not a git checkout (the test lists the tracked files with git)"
  exit 77
fi
tag='SPDX-License-Identifier: Apache-2.0'
checked=0
missing=()
while IFS= read -r -d '' f; do
  case "$f" in
    *.md | *.json | *.png | LICENSE | NOTICE | packaging/changelog | packaging/copyright) continue ;;
    tests/fuzz/corpus/*) continue ;;
  esac
  [ -f "$f" ] || continue  # deleted in the work tree
  checked=$((checked + 1))
  head -n 3 "$f" | grep -qF "$tag" || missing+=("$f")
done < <(git ls-files -z)
if [ ${#missing[@]} -gt 0 ]; then
  echo "FAIL: ${#missing[@]} tracked files lack '$tag' in their first three lines:"
  printf '  %s\n' "${missing[@]}"
  exit 1
fi
grep -q 'Apache License' LICENSE && grep -q 'Version 2.0, January 2004' LICENSE ||
  { echo "FAIL: LICENSE is not the Apache License 2.0 text"; exit 1; }
echo "spdx: $checked tracked files carry the SPDX line"
