# SPDX-License-Identifier: LGPL-2.1-or-later
"""A private system bus for the D-Bus tests: a real dbus-daemon configured
like Debian's system bus with the project's policy, and polkit played by
python-dbusmock's polkitd template."""

import os
import re
import shutil
import subprocess
import tempfile
import time

import dbus

from fltest import on_exit

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..')
POLICY = os.path.join(SRC, 'dbus', 'org.bpflock.Fileless1.conf')
NAME = 'org.bpflock.Fileless1'
PATH = '/org/bpflock/Fileless1'
IFACE = 'org.bpflock.Fileless1'
ACTION = 'org.bpflock.fileless1.set-profile'


class PrivateBus:
    """A dbus-daemon configured like Debian's system bus, with our policy
    and polkit's installed and nothing else, and no service activation, in
    a directory of its own removed on exit. It can be stopped and started
    again on the same socket. From its creation until close(), it is this
    process's system bus (DBUS_SYSTEM_BUS_ADDRESS), and so the daemon's."""

    def __init__(self):
        tmp = tempfile.mkdtemp(prefix='fltest-bus-')
        os.chmod(tmp, 0o755)  # the socket must be reachable for other users
        on_exit(lambda: shutil.rmtree(tmp, ignore_errors=True))
        with open('/usr/share/dbus-1/system.conf') as f:
            conf = f.read()
        self.socket = os.path.join(tmp, 'system_bus_socket')
        self.address = f'unix:path={self.socket}'
        conf = re.sub(r'<listen>.*?</listen>', f'<listen>unix:path={self.socket}</listen>', conf)
        conf = re.sub(r'<pidfile>.*?</pidfile>|<user>.*?</user>|<standard_system_servicedirs/>|'
                      r'<servicehelper>.*?</servicehelper>|<includedir>.*?</includedir>|<include [^>]*>.*?</include>',
                      '', conf)
        conf = conf.replace('</busconfig>', f'<include>{POLICY}</include>\n'
                            '<include>/usr/share/dbus-1/system.d/org.freedesktop.PolicyKit1.conf</include>\n'
                            '</busconfig>')
        self.config = os.path.join(tmp, 'bus.conf')
        with open(self.config, 'w') as f:
            f.write(conf)
        self.proc = None
        on_exit(self.close)
        os.environ['DBUS_SYSTEM_BUS_ADDRESS'] = self.address

    def start(self):
        if os.path.exists(self.socket):
            os.unlink(self.socket)
        self.proc = subprocess.Popen(['dbus-daemon', f'--config-file={self.config}', '--nofork', '--nopidfile'])
        for _ in range(200):
            if os.path.exists(self.socket):
                break
            time.sleep(0.02)
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def close(self):
        self.stop()
        if os.environ.get('DBUS_SYSTEM_BUS_ADDRESS') == self.address:
            del os.environ['DBUS_SYSTEM_BUS_ADDRESS']

    def properties(self):
        """org.freedesktop.DBus.Properties of the daemon, on a new connection."""
        return dbus.Interface(dbus.bus.BusConnection(self.address).get_object(NAME, PATH),
                              'org.freedesktop.DBus.Properties')


class Polkit:
    """python-dbusmock's polkitd template, owning org.freedesktop.PolicyKit1
    as user polkitd, which the stock policy requires."""

    def __init__(self, address):
        self.address = address
        self.proc = None

    def start(self):
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=self.address)
        self.proc = subprocess.Popen(['setpriv', '--reuid=polkitd', '--regid=polkitd', '--init-groups',
                                      '/usr/bin/python3', '-m', 'dbusmock', '--system', '--template', 'polkitd'],
                                     env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        on_exit(self.stop)
        bus = dbus.bus.BusConnection(self.address)
        for _ in range(200):
            if bus.name_has_owner('org.freedesktop.PolicyKit1'):
                break
            time.sleep(0.05)
        self.mock = dbus.Interface(bus.get_object('org.freedesktop.PolicyKit1', '/org/freedesktop/PolicyKit1/Authority'),
                                   'org.freedesktop.DBus.Mock')

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def call_error(fn, *args, **kw):
    try:
        fn(*args, **kw)
        return None
    except dbus.exceptions.DBusException as e:
        return e


def wait_owner(address, timeout=10):
    """Whether NAME gets an owner on the bus at ADDRESS within TIMEOUT."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if dbus.bus.BusConnection(address).name_has_owner(NAME):
                return True
        except dbus.exceptions.DBusException:
            pass
        time.sleep(0.1)
    return False
