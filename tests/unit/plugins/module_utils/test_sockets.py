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


# The audit's baseline: independent of any policy.

BASELINE = set(sockets.DEFAULT_PUBLIC_PORTS)


def test_baseline_flags_a_declared_listener_on_every_address():
    listeners = [listener('0.0.0.0', 25), listener('0.0.0.0', 2526), listener('127.0.0.1', 10025),
                 listener('10.89.0.2', 28443, 'apache2'), listener('10.89.0.2', 5432, 'postgres')]
    internal, ignored = sockets.split_internal(['10.89.0.2'])
    found = sockets.baseline_violations(listeners, BASELINE, internal)
    # 2526 is "allowed" by the policy entry a role published; the baseline does not read the policy.
    assert sockets.compare(listeners, POLICY + [dict(name='extra', port=2526, bind=['0.0.0.0'])], INTERNAL) \
        == [v for v in sockets.compare(listeners, POLICY, INTERNAL) if v['port'] != 2526]
    assert [(v['kind'], v['address'], v['port']) for v in found] == [('outside_baseline', '0.0.0.0', 2526)]
    assert found[0]['reason'] == ('tcp 0.0.0.0:2526 (master) faces the outside; the audit baseline allows only '
                                  'tcp 25, tcp 465, tcp 587 on non-internal addresses')
    assert ignored == []


@pytest.mark.parametrize('address, port, proto, flagged', [
    ('0.0.0.0', 25, 'tcp', False),
    ('::', 587, 'tcp', False),
    ('0.0.0.0', 25, 'udp', True),          # the baseline names TCP ports
    ('10.88.0.7', 5432, 'tcp', True),      # an external address
    ('10.89.0.2', 5432, 'tcp', False),     # the internal address
    ('10.89.0.3', 5432, 'tcp', True),      # another host's internal address is not ours
    ('127.0.0.1', 5432, 'tcp', False),
    ('::1', 10024, 'tcp', False),
    ('::', 5432, 'tcp', True),             # a wildcard answers on every address
    ('fe80::1', 22, 'tcp', True),
])
def test_baseline_classes(address, port, proto, flagged):
    internal, dummy = sockets.split_internal(['10.89.0.2'])
    found = sockets.baseline_violations([listener(address, port, proto=proto)], BASELINE, internal)
    assert bool(found) is flagged


def test_baseline_ipv6_endpoint_and_internal_network():
    internal, dummy = sockets.split_internal(['fd00:89::/64', '[fd00:90::1]'])
    found = sockets.baseline_violations([listener('fd00:89::5', 5432), listener('fd00:90::1', 5432),
                                         listener('2001:db8::5', 5432, None)], BASELINE, internal)
    assert [v['reason'].split(' faces')[0] for v in found] == ['tcp [2001:db8::5]:5432']


def test_a_wildcard_is_never_internal_even_when_listed():
    internal, dummy = sockets.split_internal(['0.0.0.0/0'])
    assert len(sockets.baseline_violations([listener('0.0.0.0', 2526)], BASELINE, internal)) == 1
    assert sockets.baseline_violations([listener('10.88.0.7', 2526)], BASELINE, internal) == []


@pytest.mark.parametrize('values, expected', [
    ([25, 465, 587], {('tcp', 25), ('tcp', 465), ('tcp', 587)}),
    (['25', 'tcp/22', 'udp/68', '53/udp', {'port': 123, 'proto': 'udp'}, {'port': '8443'}],
     {('tcp', 25), ('tcp', 22), ('udp', 68), ('udp', 53), ('udp', 123), ('tcp', 8443)}),
    ([], set()),
])
def test_parse_ports(values, expected):
    assert sockets.parse_ports(values) == expected


@pytest.mark.parametrize('bad', [0, 65536, 'smtp', 'sctp/25', '25/tcp/x', None, True, {'proto': 'tcp'}])
def test_parse_ports_names_the_bad_entry(bad):
    with pytest.raises(ValueError, match=r'^public_ports: .* is not a port'):
        sockets.parse_ports([25, bad])


def test_public_ports_are_honoured_per_protocol():
    ports = sockets.parse_ports([25, 'udp/68', 'tcp/22'])
    listeners = [listener('0.0.0.0', 22, 'sshd'), listener('0.0.0.0', 68, 'dhclient', 'udp'),
                 listener('0.0.0.0', 68, 'x'), listener('0.0.0.0', 587)]
    found = sockets.baseline_violations(listeners, ports, [])
    assert [(v['proto'], v['port']) for v in found] == [('tcp', 68), ('tcp', 587)]
    assert found[0]['reason'].endswith('allows only tcp 22, tcp 25, udp 68 on non-internal addresses')


def test_split_internal_private_only_refuses_public_addresses():
    nets, ignored = sockets.split_internal(['10.89.0.2', '192.0.2.10', '8.8.8.8', '0.0.0.0', 'fd00::1'],
                                           private_only=True)
    # 192.0.2.0/24 is documentation space (not global); 8.8.8.8 is global; a wildcard is never an address.
    assert [str(n) for n in nets] == ['10.89.0.2/32', '192.0.2.10/32', 'fd00::1/128']
    assert ignored == ['8.8.8.8 (globally routable: only securemail_audit_internal can make it internal)',
                       '0.0.0.0 (a wildcard, not an address)']
    # Told by the auditor: accepted as given.
    nets, ignored = sockets.split_internal(['8.8.8.8'])
    assert [str(n) for n in nets] == ['8.8.8.8/32'] and ignored == []
    with pytest.raises(ValueError, match="internal: 'eth0' is not an address or network"):
        sockets.split_internal(['eth0'])
