# SPDX-License-Identifier: LGPL-2.1-or-later
"""A small Chrome DevTools protocol client over --remote-debugging-pipe.

    b = Browser(popen_for)   # popen_for(argv, pass_fds) -> Popen; starts the browser
    page = b.page()          # the first tab, attached (flat session)
    page.navigate('http://127.0.0.1:9090/')
    page.evaluate('document.title')
    page.screenshot('/tmp/x.png')
    b.close()

The browser reads commands from its fd 3 and writes replies and events to
its fd 4, each a JSON text ending in a NUL byte. No network port: nothing
but this process can drive the browser. Standard library only."""

import base64
import fcntl
import json
import os
import select
import time


class CDPError(Exception):
    pass


class Browser:
    def __init__(self, popen_for, argv, timeout=30):
        """Starts ARGV (a Chromium command line, without the pipe flag)
        through POPEN_FOR(argv, pass_fds), which must keep the two fds it is
        given open in the browser; they become its fds 3 and 4."""
        cmd_r, self._cmd_w = os.pipe()
        self._resp_r, resp_w = os.pipe()
        # Above 4, so that the redirections below never close one another
        # (bash: dash takes only one digit).
        hi_r = fcntl.fcntl(cmd_r, fcntl.F_DUPFD_CLOEXEC, 10)
        hi_w = fcntl.fcntl(resp_w, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(cmd_r)
        os.close(resp_w)
        wrapped = ['/bin/bash', '-c', f'exec "$@" 3<&{hi_r} 4>&{hi_w} {hi_r}<&- {hi_w}>&-', 'sh',
                   *argv, '--remote-debugging-pipe']
        self.proc = popen_for(wrapped, (hi_r, hi_w))
        os.close(hi_r)
        os.close(hi_w)
        self._buf = b''
        self._next_id = 0
        self.events = []
        self.timeout = timeout
        self.version = self.send('Browser.getVersion')

    # -- the wire

    def _read_message(self, deadline):
        while b'\0' not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise CDPError('no answer from the browser in time')
            ready, _, _ = select.select([self._resp_r], [], [], left)
            if not ready:
                continue
            chunk = os.read(self._resp_r, 1 << 20)
            if not chunk:
                raise CDPError(f'the browser closed its pipe (exit status {self.proc.poll()})')
            self._buf += chunk
        msg, self._buf = self._buf.split(b'\0', 1)
        return json.loads(msg)

    def send(self, method, params=None, session=None, timeout=None):
        """Sends a command and returns its result; events read meanwhile are
        kept in .events. A protocol error raises CDPError."""
        self._next_id += 1
        mid = self._next_id
        msg = {'id': mid, 'method': method, 'params': params or {}}
        if session:
            msg['sessionId'] = session
        data = json.dumps(msg).encode() + b'\0'
        while data:
            data = data[os.write(self._cmd_w, data):]
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            m = self._read_message(deadline)
            if m.get('id') == mid:
                if 'error' in m:
                    raise CDPError(f'{method}: {m["error"].get("message")} {m["error"].get("data", "")}'.strip())
                return m.get('result', {})
            if 'method' in m:
                self.events.append(m)

    def page(self):
        """The first page target, attached with a flat session."""
        targets = self.send('Target.getTargets')['targetInfos']
        pages = [t for t in targets if t['type'] == 'page']
        tid = pages[0]['targetId'] if pages else self.send('Target.createTarget', {'url': 'about:blank'})['targetId']
        sid = self.send('Target.attachToTarget', {'targetId': tid, 'flatten': True})['sessionId']
        return Page(self, sid)

    def close(self):
        if self.proc.poll() is None:
            try:
                self.send('Browser.close', timeout=5)
            except (CDPError, OSError):
                pass
            try:
                self.proc.wait(5)
            except Exception:
                self.proc.kill()
                self.proc.wait()
        for fd in (self._cmd_w, self._resp_r):
            try:
                os.close(fd)
            except OSError:
                pass


class Page:
    def __init__(self, browser, session):
        self.b = browser
        self.session = session
        self.send('Page.enable')
        self.send('Runtime.enable')

    def send(self, method, params=None, timeout=None):
        return self.b.send(method, params, self.session, timeout)

    def set_viewport(self, width, height):
        self.send('Emulation.setDeviceMetricsOverride',
                  {'width': width, 'height': height, 'deviceScaleFactor': 1, 'mobile': False})

    def navigate(self, url):
        r = self.send('Page.navigate', {'url': url})
        if r.get('errorText'):
            raise CDPError(f'navigating to {url}: {r["errorText"]}')

    def evaluate(self, expression, context=None, timeout=None):
        """The value of EXPRESSION (awaited if a promise), in the page's
        main world or in execution context CONTEXT. A JavaScript exception
        raises CDPError with its text."""
        params = {'expression': expression, 'returnByValue': True, 'awaitPromise': True}
        if context is not None:
            params['contextId'] = context
        r = self.send('Runtime.evaluate', params, timeout)
        if 'exceptionDetails' in r:
            d = r['exceptionDetails']
            raise CDPError(f'{expression[:80]!r}: {d.get("exception", {}).get("description") or d.get("text")}')
        return r['result'].get('value')

    def frame_context(self, url_part):
        """An execution context (an isolated world: same DOM, its own
        globals) in the frame whose URL contains URL_PART, or None."""
        def walk(node):
            yield node['frame']
            for child in node.get('childFrames', []):
                yield from walk(child)
        for frame in walk(self.send('Page.getFrameTree')['frameTree']):
            if url_part in frame.get('url', ''):
                return self.send('Page.createIsolatedWorld',
                                 {'frameId': frame['id'], 'worldName': 'fltest'})['executionContextId']
        return None

    def wait_for(self, expression, context=None, timeout=15, interval=0.1):
        """Evaluates EXPRESSION until it is truthy; returns that value, or
        the last one (falsy) after TIMEOUT seconds. An exception counts as
        falsy (the page may still be loading)."""
        deadline = time.monotonic() + timeout
        value = None
        while True:
            try:
                value = self.evaluate(expression, context)
            except CDPError as e:
                value = None
                self.last_error = str(e)
            if value or time.monotonic() > deadline:
                return value
            time.sleep(interval)

    def click(self, x, y):
        """A real mouse click (press and release) at viewport point X, Y."""
        for kind in ('mousePressed', 'mouseReleased'):
            self.send('Input.dispatchMouseEvent', {'type': kind, 'x': x, 'y': y, 'button': 'left', 'clickCount': 1})

    def type_text(self, text):
        """Text typed into the focused element, as a keyboard would insert it."""
        self.send('Input.insertText', {'text': text})

    def screenshot(self, path):
        data = self.send('Page.captureScreenshot', {'format': 'png'})['data']
        with open(path, 'wb') as f:
            f.write(base64.b64decode(data))
        return path

    def console_messages(self):
        """Console messages and uncaught exceptions the page reported so far."""
        out = []
        for e in self.b.events:
            if e.get('sessionId') != self.session:
                continue
            if e['method'] == 'Runtime.consoleAPICalled':
                args = e['params'].get('args', [])
                out.append(f'console.{e["params"]["type"]}: ' +
                           ' '.join(str(a.get('value', a.get('description', ''))) for a in args))
            elif e['method'] == 'Runtime.exceptionThrown':
                d = e['params']['exceptionDetails']
                out.append('exception: ' + (d.get('exception', {}).get('description') or d.get('text', '')))
        return out
