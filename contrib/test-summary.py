#!/usr/bin/env python3
"""Summarise meson testlog.json files: per-suite counts, skip reasons, and
the final line "N passed, N failed, N skipped" that CI reads."""
import json
import re
import sys

passed = failed = skipped = 0
rows = {}
skips = []
fails = []
for path in sys.argv[1:]:
    build = path.split('/')[-3]
    try:
        lines = open(path).read().splitlines()
    except OSError as e:
        print(f"missing test log {path}: {e}")
        failed += 1
        continue
    for line in lines:
        t = json.loads(line)
        res = t.get('result', 'ERROR')
        # meson names tests "project:suite1+suite2 / name"
        full = t.get('name', '?')
        suite = full.split(' / ')[0].split(':', 1)[-1] if ' / ' in full else '-'
        key = f"{build}: {suite}"
        r = rows.setdefault(key, [0, 0, 0])
        if res in ('OK', 'EXPECTEDFAIL'):
            passed += 1
            r[0] += 1
        elif res == 'SKIP':
            skipped += 1
            r[2] += 1
            out = t.get('stdout') or ''
            m = re.search(r'(?:1\.\.0 # SKIP|# SKIP|skip:)\s*(.*)', out, re.I)
            skips.append(f"{build}: {t['name']}: {m.group(1).strip() if m else 'no reason given'}")
        else:
            failed += 1
            r[1] += 1
            fails.append(f"{build}: {t['name']} ({res})")

for key in sorted(rows):
    p, f, s = rows[key]
    print(f"  {key:40s} {p:4d} passed {f:3d} failed {s:3d} skipped")
for s in skips:
    print(f"  skipped: {s}")
for f in fails:
    print(f"  FAILED: {f}")
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
