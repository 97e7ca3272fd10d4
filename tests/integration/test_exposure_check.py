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


def test_baseline_flags_what_the_policy_allows(servers):
    loop_port, wild_port = servers
    policy = [{'name': 'loop', 'port': loop_port, 'bind': 'loopback'},
              {'name': 'declared', 'port': wild_port, 'bind': 'public', 'required': False}]
    result = run_module({'policy': policy, 'protocols': ['tcp'],
                         'baseline': {'public_ports': [25, 465, 587], 'internal': ['10.89.0.2', '8.8.8.8'],
                                      'private_only': True}})
    mine = [f for f in result['findings'] if f['port'] in (loop_port, wild_port)]
    assert [(f['check'], f['kind'], f['address'], f['port']) for f in mine] == [
        ('baseline', 'outside_baseline', '0.0.0.0', wild_port)]
    assert mine[0]['process'] and 'faces the outside' in mine[0]['reason']
    assert not [v for v in result['violations'] if v['port'] in (loop_port, wild_port)]
    assert result['baseline']['internal'] == ['10.89.0.2/32']
    assert result['baseline']['ignored'] == ['8.8.8.8 (globally routable: only securemail_audit_internal can make it '
                                             'internal)']
    assert result['compliant'] is False

    # Told that the port may face the outside, the audit accepts it.
    result = run_module({'policy': policy, 'protocols': ['tcp'], 'baseline': {'public_ports': [wild_port]}})
    assert not [f for f in result['findings'] if f['port'] == wild_port]


def test_key_files_document_roots_and_database_rules(tmp_path):
    key = tmp_path / 'server.key'
    key.write_text('-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n')
    cert = tmp_path / 'server.crt'
    cert.write_text('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n')
    pg_key = tmp_path / 'pg.key'
    pg_key.write_text(key.read_text())
    os.chmod(str(key), 0o644)
    os.chmod(str(cert), 0o644)
    os.chmod(str(pg_key), 0o640)
    os.chown(str(pg_key), 0, 0)
    result = run_module({
        'policy': [], 'protocols': ['udp'],
        'private_keys': [{'path': str(key), 'service': 'postfix'}, {'path': str(cert), 'service': 'postfix'},
                         {'path': str(pg_key), 'service': 'postgresql', 'group_readable_by': 'root'},
                         {'path': str(tmp_path / 'gone.key'), 'service': 'apache'},
                         {'path': str(key), 'service': 'opendkim', 'purpose': 'DKIM'}],
        'document_roots': [{'path': '/var/www/quarantine', 'service': 'quarantine web'},
                           {'path': '/etc', 'service': 'quarantine web'}],
        'postgresql': {'settings': {'ssl': 'on', 'ssl_min_protocol_version': 'TLSv1', 'ssl_ciphers': 'ALL'},
                       'hba_rules': [{'line_number': 7, 'type': 'host', 'database': ['all'], 'user_name': ['all'],
                                      'address': '192.0.2.0', 'netmask': '255.255.255.0',
                                      'auth_method': 'scram-sha-256', 'error': None}]},
    })
    assert sorted((f['check'], f['reason']) for f in result['findings'] if f['check'] != 'baseline') == [
        ('dkim keys', 'opendkim DKIM key %s is readable by others (0644 root:root)' % key),
        ('document root', 'quarantine web DocumentRoot /etc is outside /var/www and /srv'),
        ('pg_hba', 'pg_hba.conf line 7 (host all all 192.0.2.0/24 scram-sha-256) lets remote clients in without TLS '
                   '(use hostssl)'),
        ('postgresql tls', "ssl_ciphers 'ALL': ALL lets in unauthenticated (aNULL) cipher suites"),
        ('postgresql tls', 'ssl_min_protocol_version is TLSv1 (below TLSv1.2)'),
        ('tls keys', 'apache TLS key %s cannot be read: No such file or directory' % (tmp_path / 'gone.key')),
        ('tls keys', 'postfix TLS key %s is readable by others (0644 root:root)' % key),
    ]
    # The certificate is listed but holds no key; root:root 0640 is what group_readable_by allowed here.
    assert [(k['service'], k['holds_key'], k['mode']) for k in result['keys']] == [
        ('postfix', True, '0644'), ('postfix', False, '0644'), ('postgresql', True, '0640'), ('apache', False, None),
        ('opendkim', True, '0644')]
    assert 'MIIB' not in json.dumps(result)


def test_bad_baseline_and_relative_paths_are_refused():
    result = run_module({'policy': [], 'baseline': {'public_ports': [25, 'smtp']}})
    assert result.get('failed') is True
    assert result['msg'] == "baseline.public_ports: 'smtp' is not a port (25, tcp/25, udp/68)"
    result = run_module({'policy': [], 'baseline': {'internal': ['10.0.0.0/33']}})
    assert result.get('failed') is True and result['msg'] == "baseline.internal: '10.0.0.0/33' is not an address or network"
    result = run_module({'policy': [], 'private_keys': [{'path': 'relative.key', 'service': 'apache'}]})
    assert result.get('failed') is True and "apache: path" in result['msg'] and 'is not absolute' in result['msg']
