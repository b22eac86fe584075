#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The Cockpit page (cockpit/) in a real browser: this build installed into a
throwaway machine with a real systemd (sysns.py), Debian's cockpit-ws behind
cockpit.socket, a real PAM login of a test user through Cockpit's login
form, and Debian's headless Chromium inside the machine driven over the
DevTools protocol (cdp.py). The page talks to filelesslockd over the
machine's system bus exactly as for an administrator; polkit rules in the
machine decide the profile changes.

Each test_* function is a case with a machine of its own:
test-cockpit.py [CASE...]; tests/meson.build registers each as
integration-cockpit-CASE. Screenshots go to $FL_BUILD_DIR/cockpit-screenshots/."""

import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'e2e'))

import cdp  # noqa: E402
import flmachine  # noqa: E402
import sysns  # noqa: E402
from fltest import on_exit, run_cases  # noqa: E402

BUILD = os.environ['FL_BUILD_DIR']
SHOTS = os.path.join(BUILD, 'cockpit-screenshots')
NAME = 'org.bpflock.Fileless1'
PATH = '/org/bpflock/Fileless1'
UNIT = 'filelesslockd.service'
ACTION = 'org.bpflock.fileless1.set-profile'
IN_FL_EXEC = flmachine.IN_FL_EXEC
CHROMIUM = shutil.which('chromium-headless-shell') or shutil.which('chromium') or 'chromium'
URL = 'http://127.0.0.1:9090'
PAGE = '/filelesslock/index.html'  # how the page's frame URL ends
SCOPE_UNIT = 'fltest-scoped.service'

# Passwords of throwaway accounts in a throwaway machine.
USERS = {'fltest-allowed': (61001, ['adm'], 'allowed-Pw-61001'),
         'fltest-denied': (61002, [], 'denied-Pw-61002'),
         'fltest-admin': (61003, ['sudo'], 'admin-Pw-61003')}
RULES = sysns.polkit_rule(ACTION, allowed=['fltest-allowed'], refused=['fltest-denied'])

# DOM reads, evaluated in the page's frame.
JS_TEXT = 'document.getElementById({!r}).textContent'
JS_EVENT_ROWS = '''Array.from(document.querySelectorAll("#fl-events tbody tr")).map(tr => ({
    file: tr.dataset.fileName, action: tr.dataset.action,
    cells: Array.from(tr.cells).map(td => td.textContent)}))'''
# The middle of the visible button whose text is {}, or null.
JS_BUTTON = '''(() => {{ const b = Array.from(document.querySelectorAll("button"))
    .find(b => b.textContent.trim() == {!r} && b.offsetParent); if (!b) return null;
    const r = b.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; }})()'''
JS_PAIRS = '''Array.from(document.querySelectorAll("#{} tbody tr")).map(tr =>
    Array.from(tr.cells).map(td => td.textContent))'''


class Machine:
    """This build installed and booted with the test users (passwords set),
    the polkit rule, profile allow (the machine is a pid namespace: baseline
    would stop everything in it), filelesslockd running and cockpit.socket
    listening on 127.0.0.1:9090."""

    def __init__(self, tap):
        self.tap = tap
        tap.require(os.path.exists('/usr/share/cockpit/base1/manifest.json') and os.path.exists(CHROMIUM) and
                    shutil.which('sudo'),
                    'precondition: cockpit-ws, cockpit-bridge, cockpit-system, chromium-headless-shell and sudo '
                    'are installed', 'run tools/install-deps.sh --tests')
        t0 = time.monotonic()
        self.m, self.dest = flmachine.boot_installed(
                tap, 'cockpit', {u: {'uid': uid, 'groups': groups, 'home': f'/home/{u}'}
                                 for u, (uid, groups, _) in USERS.items()},
                {'/etc/polkit-1/rules.d/50-fltest.rules': RULES})
        tap.require(os.path.exists(os.path.join(self.dest, 'usr/share/cockpit/filelesslock/manifest.json')),
                    'meson installs the page to /usr/share/cockpit/filelesslock')
        tap.logs_on_failure.append(lambda: ('the journal of the machine', self.m.journal(lines=300)))
        r = self.run(['chpasswd'], input=''.join(f'{u}:{pw}\n' for u, (_, _, pw) in USERS.items()))
        tap.require(r.returncode == 0, 'precondition: the test users have passwords', r.stderr)
        for u in USERS:
            self.run(['install', '-d', '-o', u, '-g', u, f'/home/{u}'])
        r = self.run(['systemctl', 'enable', '--now', UNIT], timeout=60)
        tap.require(r.returncode == 0 and self.prop('Profile') == 'allow',
                    'precondition: filelesslockd running, profile allow', r.stderr)
        r = self.run(['systemctl', 'start', 'cockpit.socket'], timeout=60)
        tap.require(r.returncode == 0, 'precondition: cockpit.socket listening', r.stderr)
        tap.note(f'machine booted, filelesslockd and cockpit.socket started in {time.monotonic() - t0:.1f} s')
        self.browser = None

    def run(self, args, **kw):
        return self.m.run(args, **kw)

    def prop(self, name):
        r = self.run(['busctl', 'get-property', NAME, PATH, NAME, name])
        return r.stdout.strip().split(' ', 1)[1].strip('"') if r.returncode == 0 else None

    def set_profile_as_root(self, profile):
        r = self.run(['busctl', 'set-property', NAME, PATH, NAME, 'Profile', 's', profile])
        self.tap.require(r.returncode == 0, f'precondition: root sets profile {profile}', r.stderr)

    def exec_memfd(self, name, memfd_name=None):
        """A memfd exec in unit NAME.service (the memfd named NAME unless
        MEMFD_NAME); returns fl-exec's result."""
        r = self.run(['systemd-run', '--wait', '--pipe', '--quiet', f'--unit={name}', IN_FL_EXEC,
                      '--name', memfd_name or name, 'memfd', 'proc-self'], timeout=60)
        mr = re.search(r'result=(\w+)', r.stdout)
        return mr.group(1) if mr else f'rc={r.returncode} {r.stdout} {r.stderr}'

    def start_browser(self):
        """Debian's headless Chromium inside the machine (its network
        namespace reaches cockpit-ws on 127.0.0.1), as root with no
        sandbox: it visits nothing but this machine's Cockpit."""
        def popen_for(argv, fds):
            full, env = self.m.command(argv)
            return subprocess.Popen(full, env=env, pass_fds=fds, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True, cwd='/')
        argv = [CHROMIUM, '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
                '--user-data-dir=/tmp/fltest-chromium', '--window-size=1280,1000', '--hide-scrollbars',
                '--lang=en-US', 'about:blank']
        t0 = time.monotonic()
        self.browser = cdp.Browser(popen_for, argv)
        on_exit(self.close_browser)
        self.tap.note(f'{self.browser.version.get("product")} started in {time.monotonic() - t0:.1f} s')
        self.page = self.browser.page()
        self.page.set_viewport(1280, 1000)
        self.tap.logs_on_failure.append(lambda: ('the browser console', '\n'.join(self.page.console_messages())))
        return self.page

    def close_browser(self):
        if self.browser is not None:
            self.browser.close()
            err = self.browser.proc.stderr.read().decode(errors='replace') if self.browser.proc.stderr else ''
            self.browser.proc.stderr and self.browser.proc.stderr.close()
            self.browser = None
            return err
        return ''

    def login(self, user):
        """Cockpit's own login form, filled and submitted with real key
        presses and clicks: PAM checks the password in the machine."""
        tap, page = self.tap, self.page
        page.navigate(URL + '/')
        # login.js shows the form once it has set itself up; typing before
        # that would be lost.
        tap.require(page.wait_for('document.readyState == "complete" && '
                                  '!!document.getElementById("login-password-input")?.offsetParent'),
                    'cockpit-ws serves its login page', page.console_messages())
        for field, text in (('login-user-input', user), ('login-password-input', USERS[user][2])):
            page.evaluate(f'document.getElementById({field!r}).focus()')
            page.type_text(text)
        typed = page.evaluate('document.getElementById("login-user-input").value')
        box = page.evaluate('(() => { const r = document.getElementById("login-button").getBoundingClientRect(); '
                            'return [r.x + r.width / 2, r.y + r.height / 2]; })()')
        page.click(*box)
        # The shell loads once the session is up.
        tap.require(page.wait_for('!!document.querySelector("#host-apps, nav")', timeout=30),
                    f'{user} logs in through the login form (PAM)',
                    (f'typed user name {typed!r}', page.evaluate('document.body.innerText.slice(0, 500)'),
                     self.m.journal('-t', 'cockpit-session', '-t', 'cockpit-ws', lines=30)))

    def open_page(self):
        """The page from the shell's navigation, as an administrator opens
        it; returns the execution context of its frame."""
        tap, page = self.tap, self.page
        link = page.wait_for('(() => { const a = Array.from(document.querySelectorAll("nav a"))'
                             '.find(a => a.textContent.trim() == "Fileless execution"); '
                             'if (!a) return null; a.scrollIntoView(); const r = a.getBoundingClientRect(); '
                             'return [r.x + r.width / 2, r.y + r.height / 2]; })()', timeout=20)
        tap.require(link, 'the shell\'s navigation lists "Fileless execution" (manifest.json)',
                    page.evaluate('document.body.innerText.slice(0, 800)'))
        page.click(*link)
        ctx = None
        deadline = time.monotonic() + 20
        while ctx is None and time.monotonic() < deadline:
            ctx = page.frame_context(PAGE)
            time.sleep(0.1)
        tap.require(ctx is not None, 'clicking it loads the page\'s frame')
        tap.require(page.wait_for(JS_TEXT.format('fl-daemon-state') + ' == "filelesslockd is running."', ctx),
                    'the page reaches filelesslockd over the system bus',
                    page.evaluate(JS_TEXT.format('fl-daemon-state'), ctx))
        self.ctx = ctx
        return ctx

    def open_as(self, user):
        """A browser, USER logged in, the page open, the profile (allow) shown."""
        self.start_browser()
        self.login(user)
        self.open_page()
        return self.wait_text('fl-profile', 'allow')

    def text(self, element_id):
        return self.page.evaluate(JS_TEXT.format(element_id), self.ctx)

    def wait_text(self, element_id, expected, timeout=15):
        return self.page.wait_for(f'{JS_TEXT.format(element_id)} == {expected!r}', self.ctx, timeout)

    def events(self):
        return self.page.evaluate(JS_EVENT_ROWS, self.ctx)

    def shot(self, name):
        os.makedirs(SHOTS, exist_ok=True)
        path = self.page.screenshot(os.path.join(SHOTS, name + '.png'))
        self.tap.note(f'screenshot: {path}')
        return path

    def page_errors(self):
        return [m for m in self.page.console_messages() if m.startswith('exception')]

    def change_profile(self, profile):
        """Chooses PROFILE in the page's selector and clicks its button."""
        page, ctx = self.page, self.ctx
        page.evaluate(f'document.getElementById("fl-profile-select").value = {profile!r}', ctx)
        page.evaluate('document.getElementById("fl-profile-apply").click()', ctx)
        return page.wait_for('(() => { const a = document.getElementById("fl-alert"); '
                             'return !a.hidden && a.className + ": " + a.textContent.trim(); })()', ctx, timeout=30)


def test_page(tap, f):
    """What the page shows an administrator, and a live row for a real memfd exec."""
    r = f.run(['busctl', 'call', NAME, PATH, NAME, 'SetUnitProfile', 'ssb', SCOPE_UNIT, 'restricted', 'false'])
    tap.require(r.returncode == 0, f'precondition: a unit scope for {SCOPE_UNIT}', r.stderr)
    tap.ok(f.open_as('fltest-allowed'), f'Profile: {f.text("fl-profile")!r} (the daemon says allow)')
    tap.ok(f.text('fl-backend') == 'tracepoint', f'Backend: {f.text("fl-backend")!r} (the host kernel\'s)')
    tap.ok(f.text('fl-version') == f.prop('Version'), f'Version: {f.text("fl-version")!r}')
    tap.ok(f.text('fl-pinned').startswith('pinned at /sys/fs/bpf/bpflock/filelesslock'),
           f'Pins: {f.text("fl-pinned")!r}')
    scopes = f.page.evaluate(JS_PAIRS.format('fl-scopes'), f.ctx)
    tap.ok(scopes == [[SCOPE_UNIT, 'restricted']], f'the unit scopes table lists UnitProfiles: {scopes}')
    posture = dict(map(tuple, f.page.evaluate(JS_PAIRS.format('fl-posture'), f.ctx)))
    tap.ok(posture.get('backend') == 'tracepoint' and 'vm.memfd_noexec' in posture and '/dev/shm' in posture,
           f'the posture table shows the Posture property: {posture}')

    before = int(f.prop('FilelessExecutions').split()[-1])
    tap.ok(f.events() == [] and f.page.evaluate('!document.getElementById("fl-events-empty").hidden', f.ctx),
           'no event row before any fileless exec')
    result = f.exec_memfd('fltest-cockpit-row')
    tap.ok(result == 'ran', f'a memfd exec runs under allow ({result})')
    row = f.page.wait_for(f'({JS_EVENT_ROWS}).find(r => r.file == "memfd:fltest-cockpit-row")', f.ctx)
    tap.ok(row and row['action'] == 'allowed', 'a row for that exec appears, live, from the Event signal', row)
    if row:
        cells = row['cells']
        tap.ok(cells[2:4] == ['memfd', 'exec'] and 'fltest-cockpit-row.service' in cells[6] and cells[7] == 'allow',
               f'the row names kind, operation, unit and profile: {cells}')
    counted = f.page.wait_for(f'Number({JS_TEXT.format("fl-count-executions")}.replace(/[^0-9]/g, "")) > {before}',
                              f.ctx)
    tap.ok(counted, f'the fileless executions counter moved past {before}: {f.text("fl-count-executions")}')

    f.shot('page')  # docs/cockpit.png

    # What a process names its memfd is text, never markup.
    markup = '<img id=fltest-markup src=x>'  # no quote: the daemon escapes it as \"
    f.exec_memfd('fltest-cockpit-markup', markup)
    row = f.page.wait_for(f'({JS_EVENT_ROWS}).find(r => r.file == {"memfd:" + markup!r})', f.ctx)
    tap.ok(row and row['cells'][5].startswith('memfd:' + markup) and
           f.page.evaluate('document.getElementById("fltest-markup") === null', f.ctx),
           'a memfd named with HTML shows as text, no element made of it', row or f.events())

    # A change made elsewhere (root with busctl) shows up without a reload.
    f.set_profile_as_root('baseline')
    tap.ok(f.wait_text('fl-profile', 'baseline'), 'a profile set by root elsewhere appears (PropertiesChanged)',
           f.text('fl-profile'))
    f.set_profile_as_root('allow')
    tap.ok(not f.page_errors(), 'no JavaScript exception in the browser', f.page_errors())


def test_change_allowed(tap, f):
    """A user polkit allows changes the profile from the page."""
    f.open_as('fltest-allowed')
    alert = f.change_profile('restricted')
    tap.ok(alert and 'fl-alert-success' in alert and 'restricted' in alert,
           f'the page confirms the change: {alert!r}')
    tap.ok(f.prop('Profile') == 'restricted', 'the daemon enforces restricted (busctl get-property)')
    tap.ok(f.wait_text('fl-profile', 'restricted'), f'the page shows restricted: {f.text("fl-profile")!r}')
    result = f.exec_memfd('fltest-cockpit-killed')
    tap.ok(result == 'killed', f'a memfd exec is now killed ({result})')
    row = f.page.wait_for(f'({JS_EVENT_ROWS}).find(r => r.file == "memfd:fltest-cockpit-killed")', f.ctx)
    tap.ok(row and row['action'] == 'killed', 'its row says killed', row)
    f.shot('change-allowed')
    r = f.run(['journalctl', '-o', 'cat', '-t', 'filelesslock', '--output-fields=FILELESS_CALLER_UID',
               f'FILELESS_CALLER_UID={USERS["fltest-allowed"][0]}'])
    tap.ok(r.stdout.strip() != '', 'the daemon logged the change with the web user\'s uid', r.stdout + r.stderr)
    tap.ok(not f.page_errors(), 'no JavaScript exception in the browser', f.page_errors())


def test_change_refused(tap, f):
    """A user polkit refuses sees the refusal; the page keeps working."""
    f.open_as('fltest-denied')
    alert = f.change_profile('restricted')
    tap.ok(alert and 'fl-alert-danger' in alert and 'Not authorized' in alert and ACTION in alert,
           f'the page shows polkit\'s refusal, naming the action: {alert!r}')
    tap.ok(f.prop('Profile') == 'allow', 'the profile is still allow')
    tap.ok(f.text('fl-profile') == 'allow', 'and the page says allow')
    selected = f.page.evaluate('document.getElementById("fl-profile-select").value', f.ctx)
    tap.ok(selected == 'allow', f'the selector is back at allow ({selected})')
    tap.ok(not f.page.evaluate('document.getElementById("fl-profile-apply").disabled', f.ctx),
           'the button is usable again')
    f.shot('change-refused')
    f.set_profile_as_root('baseline')
    tap.ok(f.wait_text('fl-profile', 'baseline'), 'after the refusal the page still follows the daemon (root set '
           'baseline)', f.text('fl-profile'))
    note = f.text('fl-events-note')
    tap.ok('fltest-denied is in neither and has no administrative access' in note, f'the page says why this user sees no events: {note!r}')
    tap.ok(not f.page_errors(), 'no JavaScript exception in the browser', f.page_errors())


def test_change_as_administrator(tap, f):
    """An administrator no polkit rule names (group sudo, not adm) turns on
    Cockpit's administrative access (sudo with the login password): the
    page then talks to the daemon as root, changes the profile and sees
    every event."""
    f.start_browser()
    f.login('fltest-admin')
    page = f.page
    box = page.wait_for(JS_BUTTON.format('Limited access'), timeout=20)
    tap.require(box, 'the shell offers administrative access ("Limited access")')
    page.click(*box)
    tap.require(page.wait_for('!!document.querySelector("input[type=password]")?.offsetParent'),
                'it asks for the password', page.evaluate('document.body.innerText.slice(-800)'))
    page.evaluate('document.querySelector("input[type=password]").focus()')
    page.type_text(USERS['fltest-admin'][2])
    page.click(*page.wait_for(JS_BUTTON.format('Authenticate')))
    tap.require(page.wait_for(JS_BUTTON.format('Administrative access'), timeout=30),
                'sudo accepts it: "Administrative access"', page.evaluate('document.body.innerText.slice(-800)'))
    f.open_page()
    f.wait_text('fl-profile', 'allow')
    alert = f.change_profile('restricted')
    tap.ok(alert and 'fl-alert-success' in alert, f'the page changes the profile: {alert!r}')
    tap.ok(f.prop('Profile') == 'restricted', 'the daemon enforces restricted')
    r = f.run(['journalctl', '-o', 'cat', '-t', 'filelesslock', 'FILELESS_CALLER_UID=0',
               'FILELESS_PROFILE=restricted', 'FILELESS_OLD_PROFILE=allow'])
    tap.ok(r.stdout.strip() != '', 'the daemon logged the change as root\'s (the privileged bridge)',
           r.stdout + r.stderr)
    result = f.exec_memfd('fltest-cockpit-admin')
    row = f.page.wait_for(f'({JS_EVENT_ROWS}).find(r => r.file == "memfd:fltest-cockpit-admin")', f.ctx)
    tap.ok(result == 'killed' and row and row['action'] == 'killed',
           f'a user outside adm sees the events with administrative access ({result})', row)
    tap.ok(f.text('fl-events-note').startswith('Fileless executions and mappings from now on'),
           f'and the page does not say otherwise: {f.text("fl-events-note")!r}')
    f.shot('change-admin')
    tap.ok(not f.page_errors(), 'no JavaScript exception in the browser', f.page_errors())


if __name__ == '__main__':
    run_cases('integration-cockpit', globals(), setup=Machine)
