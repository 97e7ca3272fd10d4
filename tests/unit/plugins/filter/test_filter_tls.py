# -*- coding: utf-8 -*-
"""Forward-secret cipher strings and private key modes (plugins/filter/tls.py)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.securemail.gateway.plugins.filter import tls

MOZILLA_INTERMEDIATE = (
    'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:'
    'ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:'
    'DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384')


@pytest.mark.parametrize('value', [
    MOZILLA_INTERMEDIATE,
    'ECDHE-RSA-AES128-GCM-SHA256',
    'ECDHE-ECDSA-AES256-CCM8:ECDHE-RSA-AES128-SHA:DHE-RSA-AES256-SHA256',
    'ECDHE-RSA-AES128-GCM-SHA256:!aNULL:!eNULL:-3DES',
    'ECDHE-RSA-AES128-GCM-SHA256:@STRENGTH',
    'ECDHE-RSA-AES128-GCM-SHA256:@SECLEVEL=2',
    'DHE-RSA-CHACHA20-POLY1305:@SECLEVEL=3',
])
def test_forward_secret_strings_accepted(value):
    assert tls.tls_cipher_problems(value) == []


@pytest.mark.parametrize('value,bad', [
    ('ALL:eNULL', ['ALL', 'eNULL']),
    ('HIGH', ['HIGH']),
    ('DEFAULT', ['DEFAULT']),
    ('kRSA', ['kRSA']),
    ('ECDHE+AESGCM', ['ECDHE+AESGCM']),
    ('aNULL', ['aNULL']),
    ('AES128-SHA', ['AES128-SHA']),                       # RSA key exchange: no forward secrecy
    ('AES256-GCM-SHA384', ['AES256-GCM-SHA384']),
    ('ECDHE-RSA-AES128-GCM-SHA256:DES-CBC3-SHA', ['DES-CBC3-SHA']),
    ('ECDHE-RSA-AES128-GCM-SHA256:RC4-SHA', ['RC4-SHA']),
    ('ECDHE-RSA-AES128-GCM-SHA256:RC4-MD5', ['RC4-MD5']),
    ('ECDHE-RSA-NULL-SHA', ['ECDHE-RSA-NULL-SHA']),
    ('ECDHE-RSA-DES-CBC3-SHA', ['ECDHE-RSA-DES-CBC3-SHA']),
    ('ADH-AES128-GCM-SHA256', ['ADH-AES128-GCM-SHA256']),  # anonymous
    ('AECDH-AES128-SHA', ['AECDH-AES128-SHA']),
    ('EXP-RC4-MD5', ['EXP-RC4-MD5']),
    ('ECDHE-PSK-AES128-CBC-SHA256', ['ECDHE-PSK-AES128-CBC-SHA256']),
    ('TLS_AES_128_GCM_SHA256', ['TLS_AES_128_GCM_SHA256']),  # a TLS 1.3 name
    ('ECDHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0', ['@SECLEVEL=0']),
    ('ECDHE-RSA-AES128-GCM-SHA256:@SECLEVEL=1', ['@SECLEVEL=1']),
    ('ECDHE-RSA-AES128-GCM-SHA256 AES128-SHA', ['ECDHE-RSA-AES128-GCM-SHA256 AES128-SHA']),
    ('ECDHE-RSA-AES128-GCM-SHA256,AES128-SHA', ['ECDHE-RSA-AES128-GCM-SHA256,AES128-SHA']),
    ('ECDHE-RSA-AES128-GCM-SHA256:+AES128-SHA', ['+AES128-SHA']),
    ('ECDHE-RSA-AES128-GCM-SHA256::', ['""', '""']),
])
def test_weak_or_vague_elements_refused(value, bad):
    problems = tls.tls_cipher_problems(value)
    assert [p.split(' (', maxsplit=1)[0] for p in problems] == bad


@pytest.mark.parametrize('value', ['', '!aNULL:!eNULL', None, 42])
def test_nothing_to_offer_refused(value):
    assert tls.tls_cipher_problems(value) != []


def test_keyword_reason_names_the_danger():
    (problem,) = tls.tls_cipher_problems('ALL')
    assert 'forward secrecy' in problem and 'name the suites' in problem


def stat(mode, owner='root', group='root', **extra):
    return dict({'exists': True, 'isreg': True, 'mode': mode, 'pw_name': owner, 'gr_name': group}, **extra)


@pytest.mark.parametrize('st', [stat('0600'), stat('0400'), stat(0o600), stat('0600', group='ssl-cert')])
def test_root_only_keys_accepted(st):
    assert tls.private_key_problem(st) == ''


def test_root_ssl_cert_0640_accepted_only_when_allowed():
    snakeoil = stat('0640', group='ssl-cert')
    assert tls.private_key_problem(snakeoil, ['root', 'postgres'], ['ssl-cert']) == ''
    assert 'group ssl-cert' in tls.private_key_problem(snakeoil)


@pytest.mark.parametrize('st,owners,readers,words', [
    (stat('0644'), ['root'], [], 'others'),
    (stat('0604'), ['root'], [], 'others'),
    (stat('0601'), ['root'], [], 'others'),
    (stat('0644', group='ssl-cert'), ['root', 'postgres'], ['ssl-cert'], 'others'),
    (stat('0640'), ['root'], [], 'group root'),
    (stat('0640', group='root'), ['root', 'postgres'], ['ssl-cert'], 'group root'),
    (stat('0660', group='ssl-cert'), ['root', 'postgres'], ['ssl-cert'], 'group ssl-cert'),
    (stat('0650', group='ssl-cert'), ['root', 'postgres'], ['ssl-cert'], 'group ssl-cert'),
    # PostgreSQL's own rule: a group-readable key must be root's
    (stat('0640', owner='postgres', group='ssl-cert'), ['root', 'postgres'], ['ssl-cert'], 'group ssl-cert'),
    (stat('0600', owner='www-data'), ['root'], [], 'owned by www-data'),
    (stat('0600', owner='nobody'), ['root', 'postgres'], ['ssl-cert'], 'owned by nobody'),
    (stat('0600', exists=False), ['root'], [], 'does not exist'),
    (stat('0600', isreg=False), ['root'], [], 'not a regular file'),
])
def test_keys_others_or_groups_can_read_refused(st, owners, readers, words):
    assert words in tls.private_key_problem(st, owners, readers)


def test_postgres_own_key_accepted():
    assert tls.private_key_problem(stat('0600', owner='postgres', group='postgres'), ['root', 'postgres'],
                                   ['ssl-cert']) == ''


def test_bad_input_raises():
    with pytest.raises(AnsibleFilterError):
        tls.private_key_problem('0600')
    with pytest.raises(AnsibleFilterError):
        tls.private_key_problem(stat('rw-------'))


def test_filters_registered():
    assert set(tls.FilterModule().filters()) == {'tls_cipher_problems', 'private_key_problem', 'tls_in_place'}


def facts(kind, mode, owner='root', group='root'):
    return {'isdir': kind == 'dir', 'isreg': kind == 'file', 'mode': mode, 'pw_name': owner, 'gr_name': group}


PRIVATE_DIR, CERT, KEY = facts('dir', '0700'), facts('file', '0644'), facts('file', '0600')


def test_tls_in_place_when_everything_is_private():
    assert tls.tls_in_place(PRIVATE_DIR) is True
    assert tls.tls_in_place(PRIVATE_DIR, CERT, KEY) is True


@pytest.mark.parametrize('directory, cert, key', [
    (facts('missing', None), None, None),             # a fresh host: no directory
    (facts('dir', '0755'), None, None),               # others can list it
    (facts('dir', '0700', 'postfix'), None, None),    # not root's
    (facts('file', '0700'), None, None),              # not a directory
    (PRIVATE_DIR, facts('missing', None), KEY),       # no certificate yet
    (PRIVATE_DIR, CERT, facts('missing', None)),      # no key
    (PRIVATE_DIR, CERT, facts('file', '0640')),       # the group can read the key
    (PRIVATE_DIR, CERT, facts('file', '0600', 'root', 'ssl-cert')),
    (PRIVATE_DIR, CERT, None),                        # a pair is asked for but the key is not described
    (None, None, None),
])
def test_tls_not_in_place(directory, cert, key):
    assert tls.tls_in_place(directory, cert, key) is False
