#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Builds filelesslock and runs every test tier: unit tests, the host
# end-to-end tests (tracepoint backend, real kernel) and the qemu tier (BPF
# LSM backend, Debian's kernel in a guest). Ends with "N passed, N failed",
# counting every TAP subtest and every plain test.
set -euo pipefail
cd "$(dirname "$0")/.."

tools/install-deps.sh --tests

# Debian's layout (/usr, /etc): the integration tier installs this build into
# a DESTDIR and boots systemd on it.
opts=(--prefix=/usr)
[[ ${CI:-} == true ]] && opts+=(-Dwerror=true)
if [[ -d build-tests ]]; then
    meson setup --reconfigure build-tests "${opts[@]}" >/dev/null
else
    meson setup build-tests "${opts[@]}" >/dev/null
fi
ninja -C build-tests

# Fetch the guest kernel before the clock of the first vm test starts.
tests/vm/vm-run.sh --setup-only >/dev/null

rc=0
meson test -C build-tests --print-errorlogs "$@" || rc=$?

/usr/bin/python3 - build-tests/meson-logs/testlog.json <<'PY'
import json, re, sys
passed = failed = skipped = 0
for line in open(sys.argv[1]):
    t = json.loads(line)
    subs = re.findall(r'^(ok|not ok) \d+[^\n]*', t.get('stdout') or '', re.M)
    if t.get('protocol') == 'tap' or subs:
        for m in re.finditer(r'^(ok|not ok) \d+([^\n]*)', t.get('stdout') or '', re.M):
            if m.group(1) == 'not ok':
                failed += 1
            elif '# SKIP' in m.group(2):
                skipped += 1
            else:
                passed += 1
        if t['result'] not in ('OK', 'SKIP') and not any(s == 'not ok' for s in subs):
            failed += 1  # died without a failing subtest: count the test itself
    elif t['result'] == 'OK':
        passed += 1
    elif t['result'] == 'SKIP':
        skipped += 1
    else:
        failed += 1
print(f'{passed} passed, {failed} failed, {skipped} skipped')
PY
exit $rc
