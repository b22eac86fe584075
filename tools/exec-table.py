#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Prints the measured outcome of every exec-matrix case as a Markdown table
(case x backend x profile), from a meson test log:

    tools/exec-table.py build-tests/meson-logs/testlog.json

"ran", "killed" (tracepoint) or "denied" (lsm) is what the test observed
and asserted; "(ns)" is baseline from inside a new pid namespace."""

import collections
import json
import re
import sys

CASE = re.compile(r'^(ok|not ok) \d+ - (host|pidns): (control )?(\S+) via (\S+)( \(#! script\))?: '
                  r'(?:exec (\w+)|runs)$', re.M)

rows = collections.OrderedDict()
for line in open(sys.argv[1] if len(sys.argv) > 1 else 'build-tests/meson-logs/testlog.json'):
    t = json.loads(line)
    m = re.search(r'(?:host|vm)-(tracepoint|lsm)-(allow|baseline|restricted)$', t['name'])
    if not m:
        continue
    backend, profile = m.groups()
    for status, origin, control, kind, via, script, outcome in CASE.findall(t['stdout'] or ''):
        case = f'{"control " if control else ""}{kind} via {via}{" (#!)" if script else ""}'
        col = f'{backend}/{profile}{"(ns)" if origin == "pidns" else ""}'
        rows.setdefault(case, {})[col] = (outcome or 'ran') + ('' if status == 'ok' else ' FAILED')

cols = [f'{b}/{p}' for b in ('tracepoint', 'lsm') for p in ('allow', 'baseline', 'baseline(ns)', 'restricted')]
print('| case | ' + ' | '.join(cols) + ' |')
print('|---' * (len(cols) + 1) + '|')
for case, r in rows.items():
    print(f'| {case} | ' + ' | '.join(r.get(c, '-') for c in cols) + ' |')
