#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Checks that every balloond metric the Grafana dashboard and the alert rules query is one that
balloond exports, so a renamed metric fails a test instead of an empty panel or a silent alert.

Usage: check_metric_names.py EXPOSITION DASHBOARD_JSON RULES_YAML
EXPOSITION is a real scrape of balloond's /metrics. Prints each unknown name with the panel or
alert that uses it, and exits 1 if there is any."""
import json
import re
import sys

NAME = re.compile(r"\bballoond_[a-z0-9_]+")
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


def exported(path):
    names = set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("# TYPE "):
                _, _, name, kind = line.split()[:4]
                names.add(name)
                if kind in ("histogram", "summary"):
                    names.update(name + s for s in HISTOGRAM_SUFFIXES)
    return names


def dashboard_queries(path):
    with open(path, encoding="utf-8") as f:
        dash = json.load(f)
    for panel in dash.get("panels", []):
        for target in panel.get("targets", []):
            yield f'panel "{panel.get("title")}"', target.get("expr", "")
    for var in dash.get("templating", {}).get("list", []):
        query = var.get("query")
        if isinstance(query, dict):
            query = query.get("query", "")
        if isinstance(query, str):
            yield f'variable "{var.get("name")}"', query


def rule_queries(path):
    # The rules' YAML is read as text (no PyYAML on a fresh machine): each "alert:" line names
    # the rule whose "expr:" follows, on its own line or folded over the next ones.
    current = "?"
    in_expr = False
    with open(path, encoding="utf-8") as f:
        for line in f:
            stripped = line.strip()
            if stripped.startswith("- alert:") or stripped.startswith("alert:"):
                current = stripped.split(":", 1)[1].strip()
                in_expr = False
            elif stripped.startswith("expr:"):
                in_expr = True
                yield f'alert "{current}"', stripped[len("expr:"):]
            elif in_expr and stripped and not re.match(r"^[a-z_]+:", stripped):
                yield f'alert "{current}"', stripped
            else:
                in_expr = False


def main():
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    names = exported(sys.argv[1])
    if not names:
        print(f"{sys.argv[1]}: no metrics in the exposition", file=sys.stderr)
        return 1
    unknown = []
    used = 0
    for where, expr in list(dashboard_queries(sys.argv[2])) + list(rule_queries(sys.argv[3])):
        for name in NAME.findall(expr):
            used += 1
            if name not in names:
                unknown.append(f"{where}: {name} is not exported by balloond")
    for line in unknown:
        print(line)
    if used == 0:
        print("no balloond metric found in the dashboard or the rules", file=sys.stderr)
        return 1
    print(f"check_metric_names: {used} uses, {len(unknown)} unknown")
    return 1 if unknown else 0


if __name__ == "__main__":
    sys.exit(main())
