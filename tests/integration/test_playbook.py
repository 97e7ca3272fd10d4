# -*- coding: utf-8 -*-
"""Both postconf modules in one playbook against a running Postfix: change, then nothing."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import subprocess
import sys

import pytest

from conftest import COLLECTIONS, ROOT, free_port, listening, postfix_tree, run_postfix

PLAYBOOK = os.path.join(ROOT, 'tests', 'integration', 'playbooks', 'postconf_both.yml')


@pytest.fixture
def running_postfix():
    base, etc, spool, data = postfix_tree('postconf-play-')
    port = free_port()
    with open(os.path.join(etc, 'main.cf'), 'w') as handle:
        handle.write('compatibility_level = 3.6\nqueue_directory = %s\ndata_directory = %s\n'
                     'maillog_file = %s/maillog\nmaillog_file_prefixes = %s\ninet_interfaces = 127.0.0.1\n'
                     'inet_protocols = ipv4\nmyhostname = play.example.org\nmydestination =\n'
                     % (spool, data, base, base))
    with open('/usr/share/postfix/master.cf.dist') as handle:
        master = handle.read().replace('smtp      inet  n       -       y', '127.0.0.1:%d inet  n - n' % port, 1)
    with open(os.path.join(etc, 'master.cf'), 'w') as handle:
        handle.write(master)
    started = run_postfix(etc, 'start')
    assert started.returncode == 0, started.stdout
    assert listening(port)
    yield etc
    run_postfix(etc, 'stop')
    shutil.rmtree(base, ignore_errors=True)


def play(config_dir, reinject_port):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_LOCALHOST_WARNING='0',
               ANSIBLE_INVENTORY_UNPARSED_WARNING='0', ANSIBLE_STDOUT_CALLBACK='json',
               ANSIBLE_LOAD_CALLBACK_PLUGINS='1', ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    ansible_playbook = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
    proc = subprocess.run([ansible_playbook, '-i', 'localhost,', PLAYBOOK, '-e',
                           json.dumps({'postfix_dir': config_dir, 'reinject_port': reinject_port})],
                          env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(proc.stdout)['stats']['localhost']


def test_change_then_nothing(running_postfix):
    port = free_port()
    first = play(running_postfix, port)
    assert first['changed'] == 3  # main.cf, master.cf, the handler (a reload: no restart was asked for)
    assert listening(port), 'the new listener is not up after postfix reload'
    check = run_postfix(running_postfix, 'check')
    assert check.returncode == 0 and check.stdout.strip() == '', check.stdout
    second = play(running_postfix, port)
    assert second['changed'] == 0 and second['failures'] == 0
