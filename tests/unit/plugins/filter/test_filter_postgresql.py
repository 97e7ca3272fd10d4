# -*- coding: utf-8 -*-
"""pg_hba decisions: trusted networks and TLS for remote clients (plugins/filter/postgresql.py)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.securemail.gateway.plugins.filter import postgresql as pf


def entry(type_, address, method='scram-sha-256', database='quarantine', user='quarantine'):
    return {'type': type_, 'database': database, 'user': user, 'address': address, 'method': method}


@pytest.mark.parametrize('value', ['127.0.0.1', '127.0.0.1/32', '127.0.0.0/8', '::1', '::1/128', '[::1]/128',
                                   '::ffff:127.0.0.1'])
def test_loopback(value):
    assert pf.is_loopback_network(value)


@pytest.mark.parametrize('value', ['10.0.0.1', '0.0.0.0/0', '::/0', '126.0.0.0/7', 'fd00::1', 'localhost', ''])
def test_not_loopback(value):
    assert not pf.is_loopback_network(value)


def test_remote_networks():
    assert pf.remote_networks(['127.0.0.1', '10.0.0.0/24', '::1', '2001:db8::/64']) == ['10.0.0.0/24', '2001:db8::/64']
    with pytest.raises(AnsibleFilterError):
        pf.remote_networks('10.0.0.1')


def test_untrusted_entries():
    entries = [
        entry('hostssl', '10.1.2.0/24'),
        entry('hostssl', '0.0.0.0/0'),
        entry('hostssl', '203.0.113.0/24'),
        entry('hostnossl', '0.0.0.0/0', method='reject'),   # refuses: may name anything
        {'type': 'local', 'database': 'all', 'user': 'all', 'method': 'peer'},
        entry('host', '::/0'),
        entry('hostssl', '10.0.0.0/7'),
    ]
    problems = pf.postgresql_hba_untrusted(entries)
    assert [p.split(' (')[0] for p in problems] == ['[1] 0.0.0.0/0', '[2] 203.0.113.0/24', '[5] ::/0', '[6] 10.0.0.0/7']
    assert 'whole IPv4 Internet' in problems[0]
    # the opt-in lets the public /24 in, never the Internet
    trusted = pf.postgresql_hba_untrusted(entries, ['203.0.113.0/24', '0.0.0.0/0'])
    assert [p.split(' (')[0] for p in trusted] == ['[1] 0.0.0.0/0', '[5] ::/0', '[6] 10.0.0.0/7']


def test_entries_without_tls():
    entries = [
        entry('host', '127.0.0.1/32'),        # loopback: fine
        entry('host', '::1/128'),
        entry('hostssl', '10.0.0.0/8'),
        entry('host', '10.0.0.0/8'),
        entry('hostnossl', '192.168.1.0/24'),
        entry('hostnossl', '0.0.0.0/0', method='reject'),
        entry('hostgssenc', '10.2.0.0/16', method='scram-sha-256'),
        {'type': 'local', 'database': 'all', 'user': 'all', 'method': 'peer'},
    ]
    assert pf.postgresql_hba_without_tls(entries) == [
        '[3] host 10.0.0.0/8', '[4] hostnossl 192.168.1.0/24', '[6] hostgssenc 10.2.0.0/16']


def test_malformed_input():
    with pytest.raises(AnsibleFilterError):
        pf.postgresql_hba_untrusted({'type': 'host'})
    assert pf.postgresql_hba_without_tls(['not a dict']) == []


def test_filters_registered():
    assert set(pf.FilterModule().filters()) == {
        'is_loopback_network', 'remote_networks', 'postgresql_hba_untrusted', 'postgresql_hba_without_tls'}
