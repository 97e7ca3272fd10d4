# -*- coding: utf-8 -*-
"""Shared fixtures: run a collection module for real, and a scratch Postfix config dir."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(ROOT, '.cache', 'collections')


def run_module(name, args, check=False, diff=False, tmp_path=None):
    """Execute plugins/modules/NAME.py the way Ansible's local runner does; return its result dict."""
    module_args = dict(args, _ansible_check_mode=check, _ansible_diff=diff)
    if tmp_path is None:
        tmp_path = os.environ.get('TMPDIR', '/tmp')
    args_file = os.path.join(str(tmp_path), 'module-args-%d.json' % os.getpid())
    with open(args_file, 'w') as handle:
        json.dump({'ANSIBLE_MODULE_ARGS': module_args}, handle)
    env = dict(os.environ, PYTHONPATH=COLLECTIONS, LC_ALL='C')
    proc = subprocess.run([sys.executable, os.path.join(ROOT, 'plugins', 'modules', name + '.py'), args_file],
                          capture_output=True, text=True, env=env, check=False)
    os.unlink(args_file)
    try:
        return json.loads(proc.stdout)
    except ValueError:
        raise AssertionError('module %s printed no JSON (rc=%d): %s %s'
                             % (name, proc.returncode, proc.stdout, proc.stderr))


def digest(*paths):
    """sha256 of each file, to prove a failed call left them byte-identical."""
    return dict((p, hashlib.sha256(open(p, 'rb').read()).hexdigest()) for p in paths)


@pytest.fixture
def confdir(tmp_path):
    """A config dir holding Debian's stock main.cf and master.cf."""
    if not shutil.which('postconf', path='/usr/sbin:/usr/bin'):
        pytest.fail('postconf is not installed: run `make host` (the test command installs Postfix)')
    path = tmp_path / 'etc'
    path.mkdir()
    shutil.copy('/usr/share/postfix/main.cf.dist', str(path / 'main.cf'))
    shutil.copy('/usr/share/postfix/master.cf.dist', str(path / 'master.cf'))
    return str(path)


def postconf(confdir, *args):
    return subprocess.run(['postconf', '-c', confdir] + list(args), capture_output=True, text=True, check=True).stdout


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def listening(port, timeout=15):
    """Wait until something accepts connections on 127.0.0.1:port."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(('127.0.0.1', port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.2)
    return False


def run_postfix(config_dir, *args):
    """postfix -c DIR ARGS. Postfix writes errors to stderr only when it is a terminal; `script` gives it one."""
    cmd = 'postfix -c %s %s' % (config_dir, ' '.join(args))
    return subprocess.run(['script', '-qec', cmd, '/dev/null'], capture_output=True, text=True, check=False)


def postfix_tree(prefix):
    """A scratch tree for a private Postfix instance: (base, etc, spool, data)."""
    base = tempfile.mkdtemp(prefix=prefix)
    # mkdtemp makes 0700; the postfix user must reach its data directory.
    os.chmod(base, 0o755)
    etc, spool, data = (os.path.join(base, d) for d in ('etc', 'spool', 'data'))
    for path in (etc, spool, data):
        os.makedirs(path)
    shutil.chown(data, 'postfix')
    return base, etc, spool, data
