#!/usr/bin/env python3
"""Print the README's table of supported log types from schemas/*.json.

`--check README.md` fails when the table in the README differs, so the README
cannot drift from what `siemproc types` actually loads.
"""
import glob
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BEGIN = "<!-- types-table:begin -->"
END = "<!-- types-table:end -->"


def cell(patterns):
    return "<br>".join("`%s`" % p.replace("|", "\\|") for p in patterns) or "-"


def render():
    rows = ["| type | what | S3 key (POSIX ERE) | CloudWatch Logs group | index |",
            "| --- | --- | --- | --- | --- |"]
    for path in sorted(glob.glob(os.path.join(ROOT, "schemas", "*.json"))):
        with open(path) as f:
            s = json.load(f)
        det = s.get("detect", {})
        idx = s.get("index", {})
        rot = idx.get("rotation", "monthly")
        rows.append("| `%s` | %s | %s | %s | `%s-*` (%s) |" % (
            s["name"], s.get("description", ""), cell(det.get("s3_key", [])),
            cell(det.get("log_group", [])), idx.get("name", "?"), rot))
    return "\n".join(rows) + "\n"


def main():
    table = render()
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        text = open(sys.argv[2]).read()
        try:
            current = text.split(BEGIN, 1)[1].split(END, 1)[0].strip("\n") + "\n"
        except IndexError:
            print("README has no types table markers")
            return 1
        if current != table:
            print("README's supported-types table is out of date: run tests/tools/types_table.py --update README.md")
            return 1
        print("README types table is up to date")
        return 0
    if len(sys.argv) == 3 and sys.argv[1] == "--update":
        text = open(sys.argv[2]).read()
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        open(sys.argv[2], "w").write(head + BEGIN + "\n" + table + END + tail)
        return 0
    sys.stdout.write(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
