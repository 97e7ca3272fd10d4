# -*- coding: utf-8 -*-
"""The audit's judgements of key files, document roots and PostgreSQL's rules and TLS settings."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.securemail.gateway.plugins.module_utils import audit

KEY = b'-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n'
CERT = b'-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n'


def info(mode, owner='root', group='root', holds_key=True, path='/etc/k.pem'):
    return dict(path=path, exists=True, holds_key=holds_key, mode=mode, owner=owner, group=group)


def texts(findings):
    return [f['reason'] for f in findings]


# ---------------------------------------------------------------- private keys

@pytest.mark.parametrize('mode, owner, group, allow, expected', [
    ('0600', 'root', 'root', None, []),
    ('0400', 'postgres', 'postgres', None, []),
    ('0644', 'root', 'root', None, ['postfix TLS key /etc/k.pem is readable by others (0644 root:root)']),
    ('0604', 'root', 'root', None, ['postfix TLS key /etc/k.pem is readable by others (0604 root:root)']),
    ('0602', 'root', 'root', None, ['postfix TLS key /etc/k.pem is writable by others (0602 root:root)']),
    ('0640', 'root', 'ssl-cert', None, ['postfix TLS key /etc/k.pem is readable by group ssl-cert (0640 root:ssl-cert)']),
    # PostgreSQL's accepted form, and only that exact form.
    ('0640', 'root', 'ssl-cert', 'ssl-cert', []),
    ('0660', 'root', 'ssl-cert', 'ssl-cert', ['postfix TLS key /etc/k.pem is readable and writable by group ssl-cert '
                                              '(0660 root:ssl-cert) (only root:ssl-cert 0640 is accepted)']),
    ('0640', 'postgres', 'ssl-cert', 'ssl-cert', ['postfix TLS key /etc/k.pem is readable by group ssl-cert '
                                                  '(0640 postgres:ssl-cert) (only root:ssl-cert 0640 is accepted)']),
    ('0640', 'root', 'adm', 'ssl-cert', ['postfix TLS key /etc/k.pem is readable by group adm (0640 root:adm) '
                                         '(only root:ssl-cert 0640 is accepted)']),
    ('0644', 'root', 'ssl-cert', 'ssl-cert', ['postfix TLS key /etc/k.pem is readable by others (0644 root:ssl-cert)']),
    ('0606', 'root', 'root', None, ['postfix TLS key /etc/k.pem is readable and writable by others (0606 root:root)']),
])
def test_key_modes(mode, owner, group, allow, expected):
    assert texts(audit.key_findings(info(mode, owner, group), 'postfix', allow)) == expected


def test_a_certificate_file_is_not_judged_and_a_missing_key_is():
    assert audit.key_findings(info('0644', holds_key=False), 'postfix') == []
    missing = dict(path='/etc/gone.pem', exists=False, error='No such file or directory')
    found = audit.key_findings(missing, 'apache')
    assert [(f['check'], f['kind']) for f in found] == [('tls keys', 'key_missing')]
    assert found[0]['reason'] == 'apache TLS key /etc/gone.pem cannot be read: No such file or directory'


def test_a_dkim_key_is_its_own_check_and_says_what_it_is():
    found = audit.key_findings(info('0640', 'opendkim', 'opendkim'), 'opendkim', purpose='DKIM')
    assert [(f['check'], f['kind']) for f in found] == [('dkim keys', 'key_open_to_group')]
    assert found[0]['reason'] == 'opendkim DKIM key /etc/k.pem is readable by group opendkim (0640 opendkim:opendkim)'
    assert audit.key_findings(info('0600', 'opendkim', 'opendkim'), 'opendkim', purpose='DKIM') == []


def test_inspect_key_reads_mode_owner_and_marker_only(tmp_path):
    chain = tmp_path / 'chain.pem'
    chain.write_bytes(KEY + CERT)
    os.chmod(str(chain), 0o640)
    cert = tmp_path / 'cert.pem'
    cert.write_bytes(CERT)
    found = audit.inspect_key(str(chain))
    assert found['exists'] and found['holds_key'] and found['mode'] == '0640'
    assert found['owner'] and found['group']
    assert 'MIIB' not in repr(found)
    assert audit.inspect_key(str(cert))['holds_key'] is False
    gone = audit.inspect_key(str(tmp_path / 'gone.pem'))
    assert gone['exists'] is False and gone['error'] == 'No such file or directory'


# -------------------------------------------------------------- document roots

@pytest.mark.parametrize('path, outside', [
    ('/var/www/quarantine', False), ('/var/www', False), ('/srv/quarantine/htdocs', False),
    ('/etc', True), ('/', True), ('/var/www-old', True), ('/srv/../etc', True), ('/var/www/../../etc', True),
])
def test_document_root_bases(path, outside):
    assert bool(audit.document_root_findings(path, 'quarantine web')) is outside


def test_document_root_text_and_links(tmp_path):
    assert texts(audit.document_root_findings('/etc', 'quarantine web')) == [
        'quarantine web DocumentRoot /etc is outside /var/www and /srv']
    base = tmp_path / 'www'
    base.mkdir()
    (base / 'inside').mkdir()
    (base / 'escape').symlink_to('/etc')
    bases = [str(base)]
    assert audit.document_root_findings(str(base / 'inside'), 'web', bases) == []
    found = audit.document_root_findings(str(base / 'escape'), 'web', bases)
    assert found[0]['reason'] == 'web DocumentRoot %s (resolves to /etc) is outside %s' % (base / 'escape', base)


# ------------------------------------------------------------------ PostgreSQL

def rule(line, type_, address, netmask, method='scram-sha-256', database=('all',), user=('all',), error=None):
    return dict(line_number=line, type=type_, database=list(database), user_name=list(user), address=address,
                netmask=netmask, auth_method=method, error=error)


HBA = [
    rule(5, 'local', None, None, 'peer', user=('postgres',)),
    rule(8, 'host', '127.0.0.1', '255.255.255.255'),
    rule(9, 'host', '::1', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'),
    rule(10, 'host', '127.0.0.0', '255.0.0.0'),
    rule(11, 'host', 'localhost', None),
    rule(12, 'host', 'samehost', None),
    rule(13, 'hostssl', '10.89.0.5', '255.255.255.255', database=('quarantine',), user=('quarantine',)),
    rule(14, 'host', '192.0.2.0', '255.255.255.0'),
    rule(15, 'hostnossl', 'all', None, 'md5'),
    rule(16, 'host', '0.0.0.0', '0.0.0.0', 'reject'),
    rule(17, 'host', 'samenet', None),
    rule(18, 'host', '2001:db8::', 'ffff:ffff:ffff:ffff::'),
    rule(19, 'host', 'db.example.org', None),
    rule(20, 'host', '127.0.0.1', '0.0.0.0'),          # 127.0.0.1/0: everyone
    rule(21, 'host', None, None, error='invalid IP mask'),
    rule(22, 'hostgssenc', '10.0.0.0', '255.0.0.0', 'gss'),
]


def test_hba_rules_that_let_remote_clients_in_without_tls():
    found = audit.hba_findings(HBA)
    assert [f['line_number'] for f in found] == [14, 15, 17, 18, 19, 20]
    assert texts(found)[0] == ('pg_hba.conf line 14 (host all all 192.0.2.0/24 scram-sha-256) lets remote clients in '
                               'without TLS (use hostssl)')
    assert 'line 15 (hostnossl all all all md5)' in texts(found)[1]
    assert 'line 18 (host all all 2001:db8::/64 scram-sha-256)' in texts(found)[3]
    assert 'line 20 (host all all 0.0.0.0/0 scram-sha-256)' in texts(found)[5]
    assert all(f['check'] == 'pg_hba' and f['kind'] == 'remote_without_tls' for f in found)


def test_the_roles_default_rules_pass():
    assert audit.hba_findings(HBA[:7]) == []


@pytest.mark.parametrize('settings, expected', [
    ({'ssl': 'on', 'ssl_min_protocol_version': 'TLSv1.2', 'ssl_ciphers': 'HIGH:MEDIUM:+3DES:!aNULL'}, []),
    ({'ssl': 'on', 'ssl_min_protocol_version': 'TLSv1.3', 'ssl_ciphers': 'HIGH:!aNULL'}, []),
    ({'ssl': 'off', 'ssl_min_protocol_version': 'TLSv1', 'ssl_ciphers': 'ALL'},
     ['ssl is off: remote clients cannot encrypt']),
    ({'ssl': 'on', 'ssl_min_protocol_version': 'TLSv1', 'ssl_ciphers': 'HIGH:!aNULL'},
     ['ssl_min_protocol_version is TLSv1 (below TLSv1.2)']),
    ({'ssl': 'on', 'ssl_min_protocol_version': 'TLSv1.1', 'ssl_ciphers': 'HIGH:!aNULL'},
     ['ssl_min_protocol_version is TLSv1.1 (below TLSv1.2)']),
    ({'ssl': 'on', 'ssl_min_protocol_version': '', 'ssl_ciphers': 'HIGH:!aNULL'},
     ["ssl_min_protocol_version is '' (any) (below TLSv1.2)"]),
    ({'ssl': 'on', 'ssl_min_protocol_version': 'TLSv1.2', 'ssl_ciphers': 'ALL'},
     ["ssl_ciphers 'ALL': ALL lets in unauthenticated (aNULL) cipher suites"]),
])
def test_postgresql_tls(settings, expected):
    assert texts(audit.postgresql_tls_findings(settings)) == expected


@pytest.mark.parametrize('ciphers, expected', [
    ('HIGH:MEDIUM:+3DES:!aNULL', []),                  # PostgreSQL's default
    ('ALL:!aNULL', []),
    ('ALL:-aNULL', []),
    ('-aNULL:ALL', [('ALL', 'aNULL')]),                 # '-' only removes what came before it
    ('ALL', [('ALL', 'aNULL')]),
    ('HIGH', [('HIGH', 'aNULL')]),
    ('ECDHE+AESGCM:DHE+AESGCM', []),
    ('DEFAULT', []),
    ('NULL', [('NULL', 'eNULL')]),
    ('eNULL:!aNULL', [('eNULL', 'eNULL')]),
    ('HIGH:aNULL', [('HIGH', 'aNULL'), ('aNULL', 'aNULL')]),
    ('HIGH:!aNULL:EXPORT', [('EXPORT', 'EXPORT')]),
    ('HIGH:!aNULL:EXP', [('EXP', 'EXPORT')]),
    ('HIGH:!aNULL:!EXPORT:EXPORT', []),
    ('ADH+AES', [('ADH+AES', 'aNULL')]),
    ('COMPLEMENTOFALL:!aNULL', [('COMPLEMENTOFALL', 'eNULL')]),
    ('HIGH !aNULL, ECDHE', []),
    ('', []),
    ('@SECLEVEL=2:HIGH:!aNULL', []),
])
def test_cipher_weaknesses(ciphers, expected):
    assert audit.cipher_weaknesses(ciphers) == expected
