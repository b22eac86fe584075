#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Fails when the documentation drifts from the code, printing TAP.

The code is the reference: the event table as tests/helpers/fl-fields prints
it (journal field, D-Bus key, type letter of each row of
event_field_table[]), the fields each journal_struct() call in src/*.c
sends, the MESSAGE_IDs of src/message-ids.h, the keys src/conf.c reads, the
vtable of src/bus.c, the error names the daemon sets, and the commands and
options of filelesslockctl and filelesslockd. The documentation is the man
pages as meson built them, the journal catalog as meson built it, and the
Event comment of dbus/org.bpflock.Fileless1.xml.

  doc-fields.py --fl-fields EXE --source-root DIR --man-dir DIR --catalog FILE

One subtest per kind of check; a failing one lists what is missing or extra.
To see it fail, add a row to event_field_table[] (or rename one), or delete a
FILELESS_ field from man/filelesslockd.8.in, and run
`meson test -C build doc-fields`."""

import argparse
import json
import os
import re
import subprocess
import sys


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, desc, problems=()):
        self.n += 1
        print(f'{"ok" if cond else "not ok"} {self.n} - {desc}')
        if not cond:
            self.failed += 1
            for p in problems:
                print(f'# {p}')
        sys.stdout.flush()


# ---- reading roff ----

ROFF_ESCAPES = [
    (re.compile(r'\\f(\[[^\]]*\]|\([A-Za-z]{2}|[A-Za-z0-9])'), ''),  # font changes
    (re.compile(r'\\&'), ''),
    (re.compile(r'\\-'), '-'),
    (re.compile(r'\\\(aq'), "'"),
    (re.compile(r'\\\(dq'), '"'),
    (re.compile(r'\\ '), ' '),
    (re.compile(r'\\e'), '\\'),
]


def roff_lines(path):
    """The page's lines, comments dropped and inline escapes resolved, so
    that what a reader sees can be searched; macro lines are kept (as ".SH
    TITLE"), to find the sections."""
    out = []
    with open(path, encoding='utf-8') as f:
        for line in f:
            line = line.rstrip('\n')
            if line.startswith(('.\\"', "'\\\"")):
                continue
            line = re.sub(r'\\".*$', '', line)
            for rx, repl in ROFF_ESCAPES:
                line = rx.sub(lambda _, r=repl: r, line)
            out.append(line)
    return out


def heading(line):
    """(level, title) of a .SH (1) or .SS (2) line, or None."""
    m = re.match(r'\.(SH|SS)\s+"?(.*?)"?\s*$', line)
    return (1 if m.group(1) == 'SH' else 2, m.group(2)) if m else None


def section(lines, title):
    """The text of the section or subsection TITLE (case-insensitive),
    up to the next heading of the same or a higher level; None if the page
    has no such section."""
    for i, line in enumerate(lines):
        h = heading(line)
        if h and h[1].lower() == title.lower():
            body = []
            for l in lines[i + 1:]:
                h2 = heading(l)
                if h2 and h2[0] <= h[0]:
                    break
                body.append(l)
            return '\n'.join(body)
    return None


def sections_titled(lines, fragment):
    """The text of every section whose title contains FRAGMENT."""
    titles = [heading(l)[1] for l in lines if heading(l) and fragment.lower() in heading(l)[1].lower()]
    return '\n'.join(section(lines, t) or '' for t in titles)


def tp_tags(text):
    """The tag lines of the .TP paragraphs in TEXT."""
    lines = text.split('\n')
    return [lines[i + 1] for i, l in enumerate(lines[:-1]) if l.strip() == '.TP']


def has_field(text, name):
    """NAME as a journal field, FILELESS_X= or @FILELESS_X@, not as a part of
    a longer name."""
    return re.search(rf'(?<![A-Z0-9_]){re.escape(name)}(?=[=@])', text) is not None


def fileless_names(text):
    return set(re.findall(r'(?<![A-Za-z0-9_])FILELESS_[A-Z0-9_]*[A-Z0-9]', text))


def has_key_with_type(text, key, sig):
    """KEY (SIG), KEY (SIG, ...) or KEY (SIG: ...): the D-Bus key and its type
    letter, not as a part of a longer key (Pid in PPid, Unit in UserUnit)."""
    return re.search(rf'(?<![A-Za-z]){re.escape(key)}\s*\(\s*{re.escape(sig)}\s*[),:]', text) is not None


# ---- reading the code ----

def read(path):
    with open(path, encoding='utf-8') as f:
        return f.read()


def c_sources(src):
    return {name: read(os.path.join(src, name)) for name in sorted(os.listdir(src)) if name.endswith('.c')}


def message_ids(src):
    """FL_MESSAGE_X -> id, from src/message-ids.h."""
    return dict(re.findall(r'#define\s+(FL_MESSAGE_[A-Z_]+)\s+"([0-9a-f]{32})"', read(os.path.join(src, 'message-ids.h'))))


def journal_struct_fields(sources):
    """FL_MESSAGE_X -> the FILELESS_ fields its journal_struct() calls send:
    each "FILELESS_X=..." format between the message id and the NULL that
    ends the call."""
    sent = {}
    for text in sources.values():
        for m in re.finditer(r'journal_struct\(\s*[^,]+,\s*(FL_MESSAGE_[A-Z_]+)(.*?)\bNULL\s*\)\s*;', text, re.S):
            sent.setdefault(m.group(1), set()).update(re.findall(r'"(FILELESS_[A-Z0-9_]+)=', m.group(2)))
    return sent


def conf_keys(conf_c):
    """The [Fileless] keys of the ConfKey table, and every key conf.c
    compares by name (TrustedExecutable, [Scope]'s Unit and Profile)."""
    m = re.search(r'static const ConfKey conf_keys\[\]\s*=\s*\{(.*?)\n\};', conf_c, re.S)
    table = re.findall(r'\{\s*"([A-Za-z]+)"\s*,', m.group(1)) if m else []
    named = re.findall(r'streq\(key,\s*"([A-Za-z]+)"\)', conf_c)
    return table, named


def vtable(bus_c):
    """The members of the vtable: ('property', name, sig, writable),
    ('method', name, [(direction, sig, arg)...]), ('signal', name, [...])."""
    members = []
    for m in re.finditer(r'SD_BUS_(WRITABLE_)?PROPERTY\(\s*"(\w+)"\s*,\s*"([^"]+)"', bus_c):
        members.append(('property', m.group(2), m.group(3), bool(m.group(1))))

    def args(spec, direction):
        return [(direction, s, a) for s, a in re.findall(r'"([^"]+)"\s*,\s*(\w+)', spec)]

    # An argument list ends where the next macro argument begins: signatures
    # such as "a(stt)" hold parentheses of their own.
    for m in re.finditer(r'SD_BUS_METHOD_WITH_ARGS\(\s*"(\w+)"\s*,\s*SD_BUS_ARGS\((.*?)\)\s*,\s*'
                         r'(SD_BUS_NO_RESULT|SD_BUS_RESULT\((.*?)\))\s*,', bus_c, re.S):
        members.append(('method', m.group(1), args(m.group(2), 'in') + args(m.group(4) or '', 'out')))
    for m in re.finditer(r'SD_BUS_SIGNAL_WITH_ARGS\(\s*"(\w+)"\s*,\s*SD_BUS_ARGS\((.*?)\)\s*,', bus_c, re.S):
        members.append(('signal', m.group(1), args(m.group(2), '')))
    return members


def error_names(sources):
    """The D-Bus errors the daemon's handlers set (src/bus*.c, src/manager*.c):
    its own org.bpflock.Fileless1.Error.X and the SD_BUS_ERROR_X it uses."""
    names = set()
    for name, text in sources.items():
        if not name.startswith(('bus', 'manager')):
            continue
        names.update(re.findall(r'"(org\.bpflock\.Fileless1\.Error\.\w+)"', text))
        for const in re.findall(r'\bSD_BUS_ERROR_([A-Z_]+)\b', text):
            if const in ('NULL', 'MAKE_CONST'):
                continue
            names.add('org.freedesktop.DBus.Error.' + ''.join(w.capitalize() for w in const.split('_')))
    return names


def c_table(text, start):
    """The body of the initializer that begins at START (a regex)."""
    m = re.search(start + r'\s*=\s*\{(.*?)\n\s*\};', text, re.S)
    return m.group(1) if m else ''


# ---- reading the catalog and the XML ----

def catalog_entries(path):
    """id -> the entry's text (its header lines and body)."""
    entries, cur = {}, None
    for line in read(path).splitlines():
        m = re.match(r'^-- ([0-9a-f]{32})(\s+\S+)?\s*$', line)
        if m:
            cur = m.group(1)
            entries[cur] = ''
        elif cur:
            entries[cur] += line + '\n'
    return entries


def xml_event_comment(path):
    m = re.search(r'<!--((?:(?!<!--).)*?)-->\s*<signal\s+name="Event"', read(path), re.S)
    return m.group(1) if m else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--fl-fields', required=True, help='tests/helpers/fl-fields, built')
    ap.add_argument('--source-root', required=True)
    ap.add_argument('--man-dir', required=True, help='the built man pages')
    ap.add_argument('--catalog', required=True, help='the built journal catalog')
    a = ap.parse_args()

    src = os.path.join(a.source_root, 'src')
    sources = c_sources(src)
    daemon8 = roff_lines(os.path.join(a.man_dir, 'filelesslockd.8'))
    conf5 = roff_lines(os.path.join(a.man_dir, 'filelesslockd.conf.5'))
    bus5 = roff_lines(os.path.join(a.man_dir, 'org.bpflock.Fileless1.5'))
    ctl1 = roff_lines(os.path.join(a.man_dir, 'filelesslockctl.1'))
    daemon8_text = '\n'.join(daemon8)
    catalog = catalog_entries(a.catalog)
    xml_path = os.path.join(a.source_root, 'dbus', 'org.bpflock.Fileless1.xml')

    tap = Tap()
    print('1..13')

    # 1. The table itself, as the code has it.
    p = subprocess.run([a.fl_fields], capture_output=True, text=True)
    try:
        rows = json.loads(p.stdout)['fields'] if p.returncode == 0 else []
    except ValueError as e:
        rows, p.stderr = [], f'{p.stderr}\nnot JSON: {e}'
    bad = [r for r in rows if not re.fullmatch(r'FILELESS_[A-Z0-9_]+', r['journal'])
           or not re.fullmatch(r'[A-Z][A-Za-z]+', r['bus']) or r['signature'] not in ('s', 'u', 't', 'b')]
    dups = sorted({r[k] for k in ('journal', 'bus') for r in rows if [x[k] for x in rows].count(r[k]) > 1})
    tap.ok(p.returncode == 0 and len(rows) >= 20 and not bad and not dups,
           f'fl-fields prints the event table ({len(rows)} rows)',
           [f'exit status {p.returncode}: {p.stderr.strip()}', *(f'bad row: {r}' for r in bad),
            *(f'twice: {d}' for d in dups)])
    table = {r['journal'] for r in rows}
    if not rows:
        # Nothing to look for would pass the checks below: fail them too.
        rows = [{'journal': 'FILELESS_(no event table)', 'bus': '(no event table)', 'signature': '?'}]

    # 2. filelesslockd(8) explains every row, in its "Event fields".
    fields8 = section(daemon8, 'Event fields')
    missing = sorted(r['journal'] for r in rows if fields8 is None or not has_field(fields8, r['journal']))
    tap.ok(fields8 is not None and not missing,
           'filelesslockd(8), "Event fields": every journal field of the event table',
           ['no subsection "Event fields"'] if fields8 is None else [f'missing: {m}=' for m in missing])

    # 3. ...and so does the catalog entry of the event.
    ids = message_ids(src)
    exec_id = ids.get('FL_MESSAGE_FILELESS_EXEC')
    entry = catalog.get(exec_id)
    missing = sorted(r['journal'] for r in rows if entry is None or not has_field(entry, r['journal']))
    tap.ok(entry is not None and not missing,
           f'catalog entry {exec_id}: every journal field of the event table',
           ['no such entry'] if entry is None else [f'missing: {m}' for m in missing])

    # 4. org.bpflock.Fileless1(5): every Event key with its type, in "Signals".
    signals5 = section(bus5, 'Signals')
    missing = [f'{r["bus"]} ({r["signature"]})' for r in rows
               if signals5 is None or not has_key_with_type(signals5, r['bus'], r['signature'])]
    tap.ok(signals5 is not None and not missing,
           'org.bpflock.Fileless1(5), "Signals": every D-Bus key of the event table with its type',
           ['no subsection "Signals"'] if signals5 is None else [f'missing: {m}' for m in missing])

    # 5. ...and the Event comment of the interface XML.
    comment = xml_event_comment(xml_path)
    missing = [f'{r["bus"]} ({r["signature"]})' for r in rows
               if comment is None or not has_key_with_type(comment, r['bus'], r['signature'])]
    tap.ok(comment is not None and not missing,
           'dbus/org.bpflock.Fileless1.xml, the comment of signal Event: every D-Bus key with its type',
           ['no comment before <signal name="Event">'] if comment is None else [f'missing: {m}' for m in missing])

    # 6. filelesslockd(8) names no field that nothing sends.
    sent = journal_struct_fields(sources)
    sent_names = set().union(*sent.values()) if sent else set()
    extra = sorted(fileless_names(daemon8_text) - table - sent_names)
    tap.ok(bool(sent_names) and not extra,
           'filelesslockd(8) names no FILELESS_ field that is neither in the event table nor sent by a message',
           ['found no journal_struct() call in src/*.c'] if not sent_names else [f'not sent: {e}' for e in extra])

    # 7. A catalog entry for every MESSAGE_ID, and none for another.
    missing = sorted(f'{k} {v}' for k, v in ids.items() if v not in catalog)
    extra = sorted(set(catalog) - set(ids.values()))
    tap.ok(len(ids) >= 6 and bool(exec_id) and not missing and not extra,
           f'the catalog has an entry for each of the {len(ids)} MESSAGE_IDs of src/message-ids.h, and no other',
           [f'no entry: {m}' for m in missing] + [f'entry for an unknown id: {e}' for e in extra])

    # 8. Each entry names exactly the fields its message sends.
    problems = []
    for const, mid in sorted(ids.items()):
        fields = table if const == 'FL_MESSAGE_FILELESS_EXEC' else sent.get(const)
        if fields is None:
            problems.append(f'{const}: no journal_struct() call in src/*.c sends it')
            continue
        text = catalog.get(mid, '')
        problems += [f'{mid} ({const}): does not name {f}' for f in sorted(fields) if not has_field(text, f)]
        problems += [f'{mid} ({const}): names {f}, which this message does not send'
                     for f in sorted(fileless_names(text) - fields)]
    tap.ok(not problems, 'each catalog entry names the fields its message sends, and no others', problems)

    # 9. filelesslockd(8) lists every message, with its fields.
    problems = [f'no MESSAGE_ID={v} ({k})' for k, v in sorted(ids.items()) if v not in daemon8_text]
    problems += [f'no {f}=' for f in sorted(sent_names) if not has_field(daemon8_text, f)]
    tap.ok(not problems, 'filelesslockd(8) gives every MESSAGE_ID and every field a message sends', problems)

    # 10. filelesslockd.conf(5): every key src/conf.c reads.
    table_keys, named_keys = conf_keys(read(os.path.join(src, 'conf.c')))
    conf_text = '\n'.join(conf5)
    scope5 = sections_titled(conf5, '[Scope]')
    problems = [] if len(table_keys) >= 5 else [f'ConfKey table of src/conf.c not found or short: {table_keys}']
    problems += [f'src/conf.c no longer reads {k}=' for k in ('TrustedExecutable', 'Unit', 'Profile')
                 if k not in named_keys + table_keys]
    problems += [f'missing: {k}=' for k in sorted(set(table_keys + named_keys)) if f'{k}=' not in conf_text]
    problems += [f'no "[Scope]" section with {k}=' for k in ('Unit', 'Profile') if f'{k}=' not in scope5]
    tap.ok(not problems, 'filelesslockd.conf(5) describes every key of src/conf.c, [Scope]\'s Unit= and Profile= '
           'in its [Scope] section', problems)

    # 11. The D-Bus API: the vtable of src/bus.c in the XML and the man page.
    members = vtable(read(os.path.join(src, 'bus.c')))
    xml = read(xml_path)
    api5 = re.sub(r'\s+', ' ', section(bus5, 'THE D-BUS API') or '').replace('( ', '(')
    props5, methods5 = section(bus5, 'Properties') or '', section(bus5, 'Methods') or ''
    problems = [] if len(members) >= 10 else [f'vtable of src/bus.c not found or short: {members}']
    for kind, name, *rest in members:
        if kind == 'property':
            sig, writable = rest
            access = 'readwrite' if writable else 'read'
            if not re.search(rf'<property\s+name="{name}"\s+type="{re.escape(sig)}"\s+access="{access}"', xml):
                problems.append(f'XML: no <property name="{name}" type="{sig}" access="{access}">')
            if f'{"readwrite" if writable else "readonly"} {sig} {name} ' not in api5:
                problems.append(f'man page API: no "{"readwrite" if writable else "readonly"} {sig} {name}"')
            if not has_key_with_type(props5, name, sig):
                problems.append(f'man page "Properties": no "{name} ({sig}, ..."')
            continue
        margs = rest[0]
        m = re.search(rf'<{kind}\s+name="{name}">(.*?)</{kind}>', xml, re.S)
        xml_args = re.findall(r'<arg\s+type="([^"]+)"\s+name="(\w+)"(?:\s+direction="(\w+)")?', m.group(1)) if m else []
        if [(d or '', s, n) for s, n, d in xml_args] != margs:
            problems.append(f'XML: {kind} {name} has arguments {xml_args}, the vtable {margs}')
        decl = f'{name}(' + ', '.join(f'{d} {s} {n}'.strip() for d, s, n in margs) + ');'
        if decl not in api5:
            problems.append(f'man page API: no "{decl}"')
        if kind == 'method' and f'{name}()' not in methods5:
            problems.append(f'man page "Methods": no {name}()')
    tap.ok(not problems, 'every property, method and signal of src/bus.c\'s vtable, with its signature, '
           'in the XML and in org.bpflock.Fileless1(5)', problems)

    # 12. Every error the daemon sets.
    errors = error_names(sources)
    errors5 = section(bus5, 'Errors') or ''
    missing = sorted(e for e in errors if e not in errors5)
    tap.ok(len(errors) >= 5 and not missing,
           f'org.bpflock.Fileless1(5), "Errors": each of the {len(errors)} D-Bus errors the daemon sets',
           [f'missing: {m}' for m in missing] or [f'found only {sorted(errors)}'])

    # 13. The command lines.
    ctl_c, daemon_c = sources['filelesslockctl.c'], sources['filelesslockd.c']
    verbs = re.findall(r'\{\s*"([a-z-]+)"\s*,', c_table(ctl_c, r'static const Verb verbs\[\]'))
    ctl_opts = re.findall(r'\{\s*"([a-z-]+)"\s*,', c_table(ctl_c, r'static const struct option options\[\]'))
    daemon_opts = re.findall(r'\{\s*"([a-z-]+)"\s*,', c_table(daemon_c, r'static const struct option options\[\]'))
    commands1 = section(ctl1, 'COMMANDS') or ''
    problems = [] if len(verbs) >= 5 and ctl_opts and daemon_opts else ['verbs or options not found in the sources']
    problems += [f'filelesslockctl(1) COMMANDS: no tag for {v}' for v in verbs
                 if not any(re.match(rf'{re.escape(v)}(?![\w-])', t) for t in tp_tags(commands1))]
    problems += [f'filelesslockctl(1) OPTIONS: no --{o}' for o in ctl_opts
                 if f'--{o}' not in (section(ctl1, 'OPTIONS') or '')]
    problems += [f'filelesslockd(8) OPTIONS: no --{o}' for o in daemon_opts
                 if f'--{o}' not in (section(daemon8, 'OPTIONS') or '')]
    tap.ok(not problems, 'filelesslockctl(1) has every command and option of src/filelesslockctl.c, '
           'filelesslockd(8) every option of src/filelesslockd.c', problems)

    return 1 if tap.failed else 0


if __name__ == '__main__':
    sys.exit(main())
