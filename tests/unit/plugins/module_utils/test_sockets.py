# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

import pytest

from ansible_collections.securemail.gateway.plugins.module_utils import sockets

HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n'


def row(local, state, inode, remote='00000000:0000'):
    return '   0: %s %s %s 00000000:00000000 00:00000000 00000000     0        0 %d 1 0000 100 0 0 10 0\n' % (
        local, remote, state, inode)


@pytest.mark.parametrize('hexaddr, expected', [
    ('0100007F:0019', ('127.0.0.1', 25)),
    ('00000000:1538', ('0.0.0.0', 5432)),
    ('0500000A:6E1B', ('10.0.0.5', 28187)),
    ('00000000000000000000000001000000:0019', ('::1', 25)),
    ('00000000000000000000000000000000:0019', ('::', 25)),
    # An IPv4-mapped IPv6 bind is reported as the IPv4 address it stands for.
    ('0000000000000000FFFF00000500000A:0019', ('10.0.0.5', 25)),
])
def test_decode_address(hexaddr, expected):
    assert sockets.decode_address(hexaddr) == expected


def test_parse_proc_net_keeps_only_listeners():
    text = HEADER + row('0100007F:0019', '0A', 11) + row('0100007F:0019', '01', 12, '0100007F:A000') \
        + row('00000000:1538', '0A', 13)
    found = sockets.parse_proc_net(text, 'tcp')
    assert [(f['address'], f['port'], f['inode']) for f in found] == [('127.0.0.1', 25, 11), ('0.0.0.0', 5432, 13)]


def test_parse_proc_net_udp_skips_port_zero_and_connected():
    text = HEADER + row('00000000:0035', '07', 21) + row('0100007F:0000', '07', 22) + row('0100007F:0035', '01', 23)
    found = sockets.parse_proc_net(text, 'udp')
    assert [(f['address'], f['port']) for f in found] == [('0.0.0.0', 53)]


INTERNAL = [ipaddress.ip_network('10.89.0.0/16')]


@pytest.mark.parametrize('address, klass', [
    ('0.0.0.0', 'public'), ('::', 'public'), ('127.0.0.1', 'loopback'), ('127.0.0.53', 'loopback'),
    ('::1', 'loopback'), ('10.89.3.4', 'internal'), ('10.88.0.7', 'public'),
])
def test_address_class(address, klass):
    assert sockets.address_class(address, INTERNAL) == klass


def listener(address, port, process='master', proto='tcp'):
    return dict(proto=proto, address=address, port=port, process=process, pid=1)


POLICY = [
    dict(name='smtp', port=25, bind='public', process='master'),
    dict(name='reinjection', port=10025, bind='loopback'),
    dict(name='quarantine', port=28443, bind='internal'),
    dict(name='postgresql', port=5432, bind=['127.0.0.1', '10.89.0.9'], required=False),
]


def kinds(violations):
    return sorted((v['kind'], v['port']) for v in violations)


def test_compliant_host_has_no_violation():
    listeners = [listener('0.0.0.0', 25), listener('127.0.0.1', 10025), listener('10.89.0.2', 28443, 'apache2'),
                 listener('127.0.0.1', 28443, 'apache2')]
    assert sockets.compare(listeners, POLICY, INTERNAL) == []


def test_each_kind_of_violation_is_named():
    listeners = [listener('0.0.0.0', 25, 'sendmail'), listener('0.0.0.0', 10025), listener('10.88.0.2', 28443),
                 listener('0.0.0.0', 5432, 'postgres'), listener('0.0.0.0', 8080, 'python3')]
    found = sockets.compare(listeners, POLICY, INTERNAL)
    assert kinds(found) == [('too_wide', 5432), ('too_wide', 10025), ('too_wide', 28443), ('unexpected', 8080),
                            ('wrong_process', 25)]
    wide = [v for v in found if v['port'] == 10025][0]
    assert wide['service'] == 'reinjection' and 'allows loopback' in wide['reason']


def test_missing_required_listener():
    found = sockets.compare([listener('0.0.0.0', 25)], POLICY, INTERNAL)
    assert kinds(found) == [('missing', 10025), ('missing', 28443)]


def test_parse_networks_names_bad_value():
    with pytest.raises(ValueError, match="internal_networks: '10.0.0.0/33'"):
        sockets.parse_networks(['10.0.0.0/33'])
