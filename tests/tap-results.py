#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Counts what tools/run-tests.sh ran, from meson's logs, and fails the run
for what meson 1.0.1 lets pass:

  - a TAP test is one whose protocol `meson introspect --tests` says is tap
    (meson 1.0.1's testlog.json has no protocol key); each of its subtests
    counts, a TAP test with no subtest fails, and so does one with fewer
    subtests than its minimum in tests/tap-minimum.txt (the plan comes last,
    so a test that stopped early would otherwise pass), or with no minimum
    recorded there;
  - a skip, of a whole test or of a subtest, fails unless its reason names a
    kernel feature this tier lacks and the tier that covers it:
        kernel feature: <what is missing>; covered by <meson test or suite>
    (fltest.kernel_feature_skip() writes it); a covering test that ran in
    the same run must have passed;
  - with --full, a test named in tests/tap-minimum.txt that did not run.

  tap-results.py [--full] --minimum FILE BUILD_DIR...

The last two lines are "N skipped (...)" and "N passed, N failed"; the exit status is 1 if
anything failed."""

import argparse
import json
import os
import re
import subprocess
import sys

SUBTEST = re.compile(r'^(ok|not ok)\b[ \t]*(\d+)?([^\n]*)', re.M)
SKIP_PLAN = re.compile(r'^1\.\.0\s*#\s*SKIP\b:?\s*(.*)$', re.M | re.I)
KERNEL_FEATURE = re.compile(r'kernel feature: (.+); covered by (\S+)')


def introspect(build_dir):
    p = subprocess.run(['meson', 'introspect', '--tests', build_dir], capture_output=True, text=True, check=True)
    return {t['name']: t for t in json.loads(p.stdout)}


def read_minimums(path):
    minimums = {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.split('#', 1)[0].strip()
            if not line:
                continue
            name, count = line.split()
            minimums[name] = int(count)
    return minimums


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--full', action='store_true', help='every test in the minimum file must have run')
    ap.add_argument('--minimum', required=True)
    ap.add_argument('build_dirs', nargs='+')
    a = ap.parse_args()

    minimums = read_minimums(a.minimum)
    tests = {}  # name -> introspection, over all build directories
    runs = []   # (build dir, testlog entry)
    for b in a.build_dirs:
        tests.update(introspect(b))
        log = os.path.join(b, 'meson-logs', 'testlog.json')
        if os.path.exists(log):
            with open(log) as f:
                runs += [(b, json.loads(line)) for line in f if line.strip()]

    suites = {}  # suite (without the project prefix) -> test names
    for name, t in tests.items():
        for s in t.get('suite', []):
            suites.setdefault(s.split(':', 1)[-1], set()).add(name)
    results = {}  # name -> results seen
    for _, t in runs:
        # The log names a test "project:suite+suite / name"; introspection "name".
        t['name'] = t['name'].split(' / ', 1)[-1]
        results.setdefault(t['name'], []).append(t['result'])

    passed = failed = skipped = 0
    problems = []

    def skip_ok(where, reason):
        """Whether REASON is an acceptable skip; records a problem if not."""
        m = KERNEL_FEATURE.search(reason or '')
        if not m:
            problems.append(f'{where}: skipped without naming a missing kernel feature and the tier that covers it '
                            f'("kernel feature: ...; covered by ..."): {reason!r}')
            return False
        cover = m.group(2).rstrip('.,;)')
        covering = suites.get(cover, set()) | ({cover} if cover in tests else set())
        if not covering:
            problems.append(f'{where}: the skip names {cover!r} as the cover, which is no test or suite')
            return False
        bad = [n for n in covering for r in results.get(n, []) if r != 'OK']
        if bad:
            problems.append(f'{where}: skipped as covered by {cover}, but {", ".join(sorted(set(bad)))} did not pass')
            return False
        return True

    for build, t in runs:
        name, out = t['name'], t.get('stdout') or ''
        where = f'{os.path.basename(build)}: {name}'
        info = tests.get(name)
        if info is None:
            problems.append(f'{where}: not in `meson introspect --tests {build}`')
            failed += 1
            continue
        if info.get('protocol') != 'tap':
            if t['result'] == 'OK':
                passed += 1
            elif t['result'] == 'SKIP':
                reasons = [l for l in (out + '\n' + (t.get('stderr') or '')).splitlines() if 'kernel feature:' in l]
                if skip_ok(where, reasons[-1] if reasons else (out + (t.get('stderr') or '')).strip()[-200:]):
                    skipped += 1
                else:
                    failed += 1
            else:
                failed += 1
            continue

        subs = SUBTEST.findall(out)
        n_failed = sum(1 for s in subs if s[0] == 'not ok')
        for ok, num, rest in subs:
            if ok == 'not ok':
                failed += 1
            elif re.search(r'#\s*SKIP\b', rest, re.I):
                if skip_ok(f'{where}: subtest {num}', re.split(r'#\s*SKIP\b:?\s*', rest, 1, flags=re.I)[1]):
                    skipped += 1
                else:
                    failed += 1
            else:
                passed += 1
        plan_skip = SKIP_PLAN.search(out)
        if not subs:
            if plan_skip and t['result'] in ('OK', 'SKIP'):
                if skip_ok(where, plan_skip.group(1)):
                    skipped += 1
                else:
                    failed += 1
            else:
                problems.append(f'{where}: a TAP test that printed no subtest (result {t["result"]})')
                failed += 1
            continue
        if t['result'] not in ('OK', 'SKIP') and n_failed == 0:
            problems.append(f'{where}: {t["result"]} without a failing subtest')
            failed += 1  # died without a failing subtest: count the test itself
        minimum = minimums.get(name)
        if minimum is None:
            problems.append(f'{where}: no minimum subtest count in {a.minimum} (it printed {len(subs)})')
            failed += 1
        elif len(subs) < minimum:
            problems.append(f'{where}: {len(subs)} subtests, fewer than its minimum of {minimum} in {a.minimum}: '
                            'it stopped early, or lost assertions')
            failed += 1

    if a.full:
        ran = {t['name'] for _, t in runs}
        for name in sorted(set(minimums) - ran):
            problems.append(f'{name}: in {a.minimum} but did not run')
            failed += 1
    for p in problems:
        print(f'tap-results: {p}')
    # The last line is what CI reads; the skips, each naming its cover, before it.
    print(f'{skipped} skipped (each a missing kernel feature another tier covers)')
    print(f'{passed} passed, {failed} failed')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
