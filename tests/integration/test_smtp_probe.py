# -*- coding: utf-8 -*-
"""smtp_probe against a real Postfix started by the test on a loopback port."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import subprocess
import sys

import pytest

from conftest import free_port, listening, postfix_tree, run_postfix

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ANSIBLE = os.path.join(os.path.dirname(sys.executable), 'ansible')

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which('postfix', path='/usr/sbin:/usr/bin'),
                                reason='needs root and Postfix (make host installs it)')


@pytest.fixture(scope='module')
def server():
    base, etc, spool, data = postfix_tree('smtp-probe-')
    port = free_port()
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj',
                    '/CN=probe-test.example.org', '-keyout', os.path.join(etc, 'key.pem'),
                    '-out', os.path.join(etc, 'cert.pem')], check=True, capture_output=True)
    with open(os.path.join(etc, 'main.cf'), 'w') as handle:
        handle.write('\n'.join([
            'compatibility_level = 3.6',
            'queue_directory = %s' % spool,
            'data_directory = %s' % data,
            'maillog_file = %s/maillog' % base,
            'maillog_file_prefixes = %s' % base,
            'inet_interfaces = 127.0.0.1',
            'inet_protocols = ipv4',
            'myhostname = probe-test.example.org',
            'mydestination =',
            'mynetworks = 192.0.2.1/32',
            'smtpd_banner = $myhostname ESMTP Postfix (Debian/GNU)',
            'disable_vrfy_command = yes',
            'smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination',
            'smtpd_tls_chain_files = %s/key.pem, %s/cert.pem' % (etc, etc),
            'smtpd_tls_security_level = may',
            'smtpd_tls_protocols = >=TLSv1.2',
            'smtpd_tls_mandatory_protocols = >=TLSv1.2',
            '',
        ]))
    with open('/usr/share/postfix/master.cf.dist') as handle:
        master = handle.read()
    master = master.replace('smtp      inet  n       -       y', '127.0.0.1:%d inet  n       -       n' % port, 1)
    with open(os.path.join(etc, 'master.cf'), 'w') as handle:
        handle.write(master)
    started = run_postfix(etc, 'start')
    if started.returncode != 0:
        with open(os.path.join(base, 'maillog')) as handle:
            pytest.fail('postfix start failed: %s\n%s' % (started.stdout, handle.read()))
    assert listening(port), 'postfix did not start listening on %d' % port
    yield port
    run_postfix(etc, 'stop')
    shutil.rmtree(base, ignore_errors=True)


def probe(args):
    env = dict(os.environ,
               ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, '.cache', 'collections'),
               ANSIBLE_LOAD_CALLBACK_PLUGINS='1', ANSIBLE_STDOUT_CALLBACK='json',
               ANSIBLE_LOCALHOST_WARNING='0', ANSIBLE_INVENTORY_UNPARSED_WARNING='0')
    proc = subprocess.run([ANSIBLE, 'localhost', '-c', 'local', '-m', 'securemail.gateway.smtp_probe',
                           '-a', json.dumps(args)], env=env, capture_output=True, text=True, check=False)
    return json.loads(proc.stdout)['plays'][0]['tasks'][0]['hosts']['localhost']


def test_probe_sees_what_a_client_sees(server):
    result = probe({'host': '127.0.0.1', 'port': server, 'tls_versions': ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3']})
    assert 'reachable' in result, result.get('msg')
    assert result['reachable'] is True
    assert result['banner'] == 'probe-test.example.org ESMTP Postfix (Debian/GNU)'
    assert result['banner_discloses'] == ['Postfix', 'Debian']
    assert result['starttls']['offered'] is True and result['starttls']['negotiated'] is True
    assert result['starttls']['protocol'] in ('TLSv1.2', 'TLSv1.3')
    assert result['tls_versions']['TLSv1.2'] == 'accepted'
    assert result['tls_versions']['TLSv1.3'] == 'accepted'
    # Refused by the server (>=TLSv1.2), or impossible for this host's OpenSSL: never accepted.
    assert result['tls_versions']['TLSv1'] in ('refused', 'unsupported by probe')
    assert result['tls_versions']['TLSv1.1'] in ('refused', 'unsupported by probe')
    assert result['vrfy'] == {'code': 502, 'message': '5.5.1 VRFY command is disabled', 'disclosed': False}
    assert result['relay']['accepted'] is False
    assert result['relay']['code'] == 554 and 'Relay access denied' in result['relay']['message']
    assert result['changed'] is False


def test_unreachable_is_a_result_not_a_crash():
    result = probe({'host': '127.0.0.1', 'port': free_port(), 'timeout': 2})
    assert result.get('failed') is not True
    assert result['reachable'] is False
    assert 'Connection refused' in result['error']


def test_bad_input_is_named():
    result = probe({'host': '127.0.0.1', 'port': 70000})
    assert result['failed'] is True and result['msg'] == 'port: 70000 is out of range 1-65535'
    result = probe({'host': '127.0.0.1', 'relay_recipient': 'a@b.example\r\nDATA'})
    assert result['failed'] is True and result['msg'].startswith('relay_recipient: control characters')
