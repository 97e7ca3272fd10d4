# -*- coding: utf-8 -*-
"""securemail.gateway.postmap against the real postmap and postalias binaries."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess
import time

import pytest

from conftest import run_module


@pytest.fixture
def confdir(confdir):
    # main.cf.dist leaves setgid_group empty, which postmap refuses; a
    # deployed main.cf never does.
    with open(os.path.join(confdir, 'main.cf'), 'w') as handle:
        handle.write('compatibility_level = 3.6\n')
    return confdir


def test_builds_only_when_the_source_changed(confdir):
    source = os.path.join(confdir, 'transport')
    with open(source, 'w') as handle:
        handle.write('example.org smtp:[hub.example.net]\n')
    first = run_module('postmap', {'path': source, 'config_dir': confdir, 'type': 'hash'})
    assert first['changed'] is True and first['map'] == 'hash:%s' % source
    assert os.path.exists(source + '.db')
    looked_up = subprocess.run(['postmap', '-c', confdir, '-q', 'example.org', 'hash:' + source],
                               capture_output=True, text=True, check=True).stdout.strip()
    assert looked_up == 'smtp:[hub.example.net]'
    assert run_module('postmap', {'path': source, 'config_dir': confdir, 'type': 'hash'})['changed'] is False
    time.sleep(0.05)
    with open(source, 'a') as handle:
        handle.write('example.net smtp:[hub2.example.net]\n')
    predicted = run_module('postmap', {'path': source, 'config_dir': confdir, 'type': 'hash'}, check=True)
    assert predicted['changed'] is True
    assert run_module('postmap', {'path': source, 'config_dir': confdir, 'type': 'hash'})['changed'] is True
    assert run_module('postmap', {'path': source, 'config_dir': confdir, 'type': 'hash'})['changed'] is False


def test_malformed_table_fails_and_stays_stale(confdir):
    source = os.path.join(confdir, 'access')
    with open(source, 'w') as handle:
        handle.write('192.0.2.1 REJECT\nbroken-line-without-value\n')
    result = run_module('postmap', {'path': source, 'config_dir': confdir, 'type': 'hash'})
    assert result.get('failed') is True and 'expected format' in result['msg'], result
    again = run_module('postmap', {'path': source, 'config_dir': confdir, 'type': 'hash'}, check=True)
    assert again['changed'] is True, 'a table built from a broken source must not count as up to date'


def test_aliases(confdir):
    source = os.path.join(confdir, 'aliases')
    with open(source, 'w') as handle:
        handle.write('postmaster: root\nabuse: root\n')
    result = run_module('postmap', {'path': source, 'config_dir': confdir, 'aliases': True, 'type': 'hash'})
    assert result['changed'] is True and os.path.exists(source + '.db')
    assert run_module('postmap', {'path': source, 'config_dir': confdir, 'aliases': True})['changed'] is False


def test_missing_source_is_named(confdir):
    result = run_module('postmap', {'path': os.path.join(confdir, 'nope'), 'config_dir': confdir})
    assert result['failed'] is True and result['msg'].startswith('path: ') and 'does not exist' in result['msg']
