#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Prints the measured outcome of every exec-matrix case as Markdown tables,
one per kernel (the host's, and the qemu tier's 6.1 and 6.12), case x
backend x profile, from meson test logs:

    tools/exec-table.py build-tests/meson-logs/testlog.json

"ran", "killed" (tracepoint) or "denied" (lsm, fmod_ret) is what the test
observed and asserted; "(ns)" is baseline from inside a new pid namespace.
A case that failed its assertion is marked FAILED."""

import collections
import json
import re
import sys

CASE = re.compile(r'^(ok|not ok) \d+ - (host|pidns): (control )?(\S+) via (\S+)( \(#! script\))?: '
                  r'(?:exec (\w+)|runs)$', re.M)
TEST = re.compile(r'(?:host|vm-(6\.1|6\.12))-(tracepoint|lsm|fmod_ret)-(allow|baseline|restricted)$')
BACKENDS = ('lsm', 'fmod_ret', 'tracepoint')
PROFILES = ('allow', 'baseline', 'baseline(ns)', 'restricted')

tables = collections.OrderedDict()
for path in sys.argv[1:] or ['build-tests/meson-logs/testlog.json']:
    for line in open(path):
        t = json.loads(line)
        m = TEST.search(t['name'])
        if not m:
            continue
        kernel, backend, profile = m.groups()
        kernel = kernel or 'host'
        rows = tables.setdefault(kernel, collections.OrderedDict())
        for status, origin, control, kind, via, script, outcome in CASE.findall(t['stdout'] or ''):
            case = f'{"control " if control else ""}{kind} via {via}{" (#!)" if script else ""}'
            col = f'{backend}/{profile}{"(ns)" if origin == "pidns" else ""}'
            rows.setdefault(case, {})[col] = (outcome or 'ran') + ('' if status == 'ok' else ' FAILED')

for kernel, rows in tables.items():
    cols = [f'{b}/{p}' for b in BACKENDS for p in PROFILES if any(f'{b}/{p}' in r for r in rows.values())]
    print(f'\n### {"this host (6.18)" if kernel == "host" else "guest " + kernel}\n')
    print('| case | ' + ' | '.join(cols) + ' |')
    print('|---' * (len(cols) + 1) + '|')
    for case, r in rows.items():
        print(f'| {case} | ' + ' | '.join(r.get(c, '-') for c in cols) + ' |')
