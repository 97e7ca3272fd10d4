# -*- coding: utf-8 -*-
"""The one decision on trusted networks, and the relay-domain scope check."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.securemail.gateway.plugins.filter import network as nf


@pytest.mark.parametrize('value', [
    '127.0.0.0/8', '127.0.0.1', '10.0.0.0/8', '10.89.0.7/32', '172.16.0.0/12', '172.31.255.0/24',
    '192.168.0.0/16', '192.168.1.25', '::1', '::1/128', '[::1]/128', 'fd12:3456:789a::/48',
    'fd12:3456:789a:1::/64', '[fd00:1:2::5]/128',
    # IPv4-mapped loopback, as in Postfix's own default mynetworks
    '[::ffff:127.0.0.0]/104',
])
def test_private_narrow_networks_are_trusted(value):
    assert nf.network_trust_problem(value) == ''


@pytest.mark.parametrize('value,reason', [
    ('0.0.0.0/0', 'the whole IPv4 Internet'),
    ('::/0', 'the whole IPv6 Internet'),
    ('[::]/0', 'the whole IPv6 Internet'),
    ('[::ffff:0.0.0.0]/96', 'the whole IPv4 Internet'),
    ('0.0.0.0/1', 'wider than /8'),
    ('10.0.0.0/7', 'wider than /8'),
    ('fc00::/7', 'wider than /48'),
    ('fd00::/8', 'wider than /48'),
    ('fd12:3456::/32', 'wider than /48'),
    ('8.8.8.8', 'a public network'),
    ('203.0.113.0/24', 'a public network'),
    ('100.64.0.0/10', 'a public network'),       # CGNAT: shared with the ISP's other customers
    ('169.254.0.0/16', 'a public network'),      # link-local
    ('172.32.0.0/16', 'a public network'),       # just outside 172.16/12
    ('11.0.0.0/8', 'a public network'),
    ('2001:db8::/48', 'a public network'),
    ('fe80::/64', 'a public network'),
    ('[::ffff:8.8.8.0]/120', 'a public network'),
    ('10.0.0.0/33', 'not an address'),
    ('hash:/etc/postfix/network_table', 'not an address'),
    ('$myhostname', 'not an address'),
    ('', 'not an address'),
])
def test_refused_networks(value, reason):
    assert reason in nf.network_trust_problem(value)


def test_public_network_passes_only_inside_an_opt_in():
    assert 'public' in nf.network_trust_problem('198.51.100.7/32')
    assert nf.network_trust_problem('198.51.100.7/32', ['198.51.100.0/28']) == ''
    assert nf.network_trust_problem('198.51.100.0/28', ['198.51.100.0/28']) == ''
    assert 'public' in nf.network_trust_problem('198.51.100.0/24', ['198.51.100.0/28'])
    assert 'public' in nf.network_trust_problem('198.51.100.7/32', ['2001:db8::/48'])
    # an opt-in never stretches past the widest trusted network
    assert 'public' in nf.network_trust_problem('8.8.8.8', ['0.0.0.0/1'])
    assert 'whole' in nf.network_trust_problem('0.0.0.0/0', ['0.0.0.0/0'])
    assert 'wider' in nf.network_trust_problem('8.0.0.0/7', ['8.0.0.0/7'])
    # Postfix's own list syntax works as the opt-in too
    assert nf.network_trust_problem('192.0.2.9', '198.51.100.0/24, 192.0.2.0/24') == ''


def test_untrusted_networks_lists_each_bad_word_with_its_reason():
    assert nf.untrusted_networks(['127.0.0.0/8', '[::1]/128']) == []
    assert nf.untrusted_networks(['127.0.0.0/8', '0.0.0.0/0']) == ['0.0.0.0/0 (the whole IPv4 Internet)']
    # Postfix's own syntax, as postfix_extra_parameters may give it, and a
    # list element holding two networks
    assert nf.untrusted_networks('127.0.0.0/8, ::/0 10.0.0.0/8') == ['::/0 (the whole IPv6 Internet)']
    assert [p.split()[0] for p in nf.untrusted_networks(['10.0.0.0/8 8.8.8.0/24'])] == ['8.8.8.0/24']
    assert nf.untrusted_networks(['8.8.8.0/24'], ['8.8.0.0/16']) == []
    assert nf.untrusted_networks([]) == []


@pytest.mark.parametrize('value', ['net', '.com', 'COM', 'corp', 'localhost', 'co.uk', '.co.uk', 'Com.Au', 'co.jp.'])
def test_domains_that_relay_for_many_owners(value):
    assert nf.domain_scope_problem(value) != ''


@pytest.mark.parametrize('value', ['example.org', '.example.org', 'example.co.uk', 'mail.example.com.au', 'uk.com'])
def test_ordinary_domains(value):
    assert nf.domain_scope_problem(value) == ''


def test_public_suffix_domains_and_the_opt_in():
    assert nf.public_suffix_domains(['example.org', 'net', '.com', 'co.uk']) == [
        'net (a top-level domain: it relays for every domain under it)',
        '.com (a top-level domain: it relays for every domain under it)',
        'co.uk (a public suffix: it relays for every registrant under it)']
    assert nf.public_suffix_domains(['corp', 'example.org'], ['corp']) == []
    assert nf.public_suffix_domains(['.Corp'], ['corp.']) == []
    assert nf.public_suffix_domains(['net'], ['corp']) != []
    with pytest.raises(AnsibleFilterError):
        nf.public_suffix_domains('net')


def test_filters_are_registered():
    filters = nf.FilterModule().filters()
    for name in ('network_trust_problem', 'untrusted_networks', 'domain_scope_problem', 'public_suffix_domains'):
        assert filters[name] is getattr(nf, name)


@pytest.mark.parametrize('value', ['example.org\n', 'example.org\nnet', '\nexample.org', 'exa mple.org', ''])
def test_bad_domains_refuses_control_characters_and_blanks(value):
    assert nf.bad_domains([value, 'example.org']) == [value]


@pytest.mark.parametrize('value,brackets,expected', [
    ('10.1.2.3/24', True, '10.1.2.0/24'),
    ('192.0.2.7', True, '192.0.2.7/32'),
    ('::1', True, '[::1]/128'),
    ('[2001:db8::1]/48', True, '[2001:db8::]/48'),
    ('2001:db8::1/48', False, '2001:db8::/48'),
    ('192.0.2.7', False, '192.0.2.7/32'),
])
def test_postfix_network_writes_main_cf_and_cidr_table_forms(value, brackets, expected):
    assert nf.postfix_network(value, brackets) == expected


def test_too_wide_networks_uses_the_trust_bound_and_leaves_bad_entries_to_bad_networks():
    assert nf.too_wide_networks(['0.0.0.0/0', '10.0.0.0/8', '10.0.0.0/7', '[2001:db8::]/47', '2001:db8::/48',
                                 '::ffff:0:0/96', 'not-a-net']) == ['0.0.0.0/0', '10.0.0.0/7', '[2001:db8::]/47',
                                                                    '::ffff:0:0/96']
