# -*- coding: utf-8 -*-
"""exposure_check against real sockets opened by this test on the host."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import socket
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ANSIBLE = os.path.join(os.path.dirname(sys.executable), 'ansible')


def run_module(args):
    env = dict(os.environ,
               ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, '.cache', 'collections'),
               ANSIBLE_LOAD_CALLBACK_PLUGINS='1', ANSIBLE_STDOUT_CALLBACK='json',
               ANSIBLE_LOCALHOST_WARNING='0', ANSIBLE_INVENTORY_UNPARSED_WARNING='0')
    proc = subprocess.run([ANSIBLE, 'localhost', '-c', 'local', '-m', 'securemail.gateway.exposure_check',
                           '-a', json.dumps(args)], env=env, capture_output=True, text=True, check=False)
    data = json.loads(proc.stdout)
    return data['plays'][0]['tasks'][0]['hosts']['localhost']


@pytest.fixture
def servers():
    opened = []
    for address in ('127.0.0.1', '0.0.0.0'):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((address, 0))
        sock.listen(1)
        opened.append(sock)
    yield [s.getsockname()[1] for s in opened]
    for sock in opened:
        sock.close()


def test_finds_real_listeners_with_owner(servers):
    loop_port, wild_port = servers
    result = run_module({'policy': [{'name': 'loop', 'port': loop_port}], 'protocols': ['tcp']})
    assert result['changed'] is False
    ours = {(item['address'], item['port']): item for item in result['listeners']}
    assert ('127.0.0.1', loop_port) in ours
    assert ('0.0.0.0', wild_port) in ours
    # The owner is this pytest process (run as root, so /proc/PID/fd is readable).
    assert ours[('127.0.0.1', loop_port)]['pid'] == os.getpid()


def test_reports_wide_and_unexpected_listeners(servers):
    loop_port, wild_port = servers
    policy = [{'name': 'loop', 'port': loop_port, 'bind': 'loopback'},
              {'name': 'wild', 'port': wild_port, 'bind': 'loopback'}]
    result = run_module({'policy': policy, 'protocols': ['tcp']})
    mine = [v for v in result['violations'] if v['port'] in (loop_port, wild_port)]
    assert [(v['kind'], v['service']) for v in mine] == [('too_wide', 'wild')]
    assert result['compliant'] is False


def test_fail_on_violation_and_bad_policy(servers):
    wild_port = servers[1]
    result = run_module({'policy': [{'name': 'wild', 'port': wild_port, 'bind': 'internal'}],
                         'internal_networks': ['10.0.0.0/8'], 'protocols': ['tcp'], 'fail_on_violation': True})
    assert result.get('failed') is True
    assert 'wild is bound on 0.0.0.0 (public) but the policy allows internal' in result['msg']

    result = run_module({'policy': [{'name': 'db', 'port': 5432, 'bind': 'everywhere'}]})
    assert result.get('failed') is True
    assert "policy[0] (db): bind must be one of internal, loopback, public" in result['msg']

    result = run_module({'policy': [{'name': 'db', 'port': 5432}], 'internal_networks': ['10.0.0.0/33']})
    assert result.get('failed') is True
    assert "internal_networks: '10.0.0.0/33' is not a network" in result['msg']
