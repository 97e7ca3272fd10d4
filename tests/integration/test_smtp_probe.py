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


# Recipients the hardened listener must refuse and the open ones accept (see server()).
ROUTED = ['percent_hack <relay-test%victim.example@example.org>',
          'source_route <@example.org:relay-test@victim.example>',
          'bang_path <victim.example!relay-test@example.org>']


@pytest.fixture(scope='module')
def postfix():
    """One Postfix on loopback relaying example.org, with three smtpd listeners:
    hardened (the role's relay restrictions), open (mynetworks takes in the
    probe: relays anything, the classic misconfiguration) and routing (relay restrictions right, but
    allow_untrusted_routing=yes lets sender-routed addresses through a relay
    domain, the percent-hack hole)."""
    base, etc, spool, data = postfix_tree('smtp-probe-')
    port, open_port, routing_port, strict_port, old_tls_port = free_port(), free_port(), free_port(), free_port(), free_port()
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
            'relay_domains = example.org',
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
    # The classic open relay: a mynetworks that takes in the world (here: the probe's own address).
    master += '127.0.0.1:%d inet n - n - - smtpd -o mynetworks=127.0.0.0/8\n' % open_port
    master += '127.0.0.1:%d inet n - n - - smtpd -o allow_untrusted_routing=yes\n' % routing_port
    # Hangs up on a client after its second error: the probe must reconnect and still try every form.
    master += ('127.0.0.1:%d inet n - n - - smtpd -o smtpd_soft_error_limit=1 -o smtpd_hard_error_limit=2 '
               '-o smtpd_error_sleep_time=0\n' % strict_port)
    # The positive control of the TLS version checks: a listener that still
    # speaks TLSv1 and TLSv1.1 (OpenSSL 3 needs security level 0 for them).
    master += ('127.0.0.1:%d inet n - n - - smtpd -o smtpd_tls_protocols=>=TLSv1 -o smtpd_tls_mandatory_protocols=>=TLSv1 '
               '-o tls_medium_cipherlist=DEFAULT:@SECLEVEL=0\n' % old_tls_port)
    with open(os.path.join(etc, 'master.cf'), 'w') as handle:
        handle.write(master)
    started = run_postfix(etc, 'start')
    if started.returncode != 0:
        with open(os.path.join(base, 'maillog')) as handle:
            pytest.fail('postfix start failed: %s\n%s' % (started.stdout, handle.read()))
    for each in (port, open_port, routing_port, strict_port, old_tls_port):
        assert listening(each), 'postfix did not start listening on %d' % each
    yield dict(hardened=port, open=open_port, routing=routing_port, strict=strict_port, old_tls=old_tls_port)
    run_postfix(etc, 'stop')
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope='module')
def server(postfix):
    return postfix['hardened']


def probe(args):
    env = dict(os.environ,
               ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, '.cache', 'collections'),
               ANSIBLE_LOAD_CALLBACK_PLUGINS='1', ANSIBLE_STDOUT_CALLBACK='json',
               ANSIBLE_LOCALHOST_WARNING='0', ANSIBLE_INVENTORY_UNPARSED_WARNING='0')
    proc = subprocess.run([ANSIBLE, 'localhost', '-c', 'local', '-m', 'securemail.gateway.smtp_probe',
                           '-a', json.dumps(args)], env=env, capture_output=True, text=True, check=False)
    return json.loads(proc.stdout)['plays'][0]['tasks'][0]['hosts']['localhost']


def test_probe_sees_old_tls_where_it_is_on(postfix):
    # Without this, "refused" could be the probe's own OpenSSL declining to
    # offer TLSv1: here the same probe gets TLSv1 and TLSv1.1 accepted.
    result = probe({'host': '127.0.0.1', 'port': postfix['old_tls'], 'tls_versions': ['TLSv1', 'TLSv1.1', 'TLSv1.2']})
    assert result['tls_versions'] == {'TLSv1': 'accepted', 'TLSv1.1': 'accepted', 'TLSv1.2': 'accepted'}, result


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
    # The probe proved it offered them (test_probe_sees_old_tls_where_it_is_on), so this is the server's refusal.
    assert result['tls_versions']['TLSv1'] == 'refused'
    assert result['tls_versions']['TLSv1.1'] == 'refused'
    assert result['vrfy'] == {'code': 502, 'message': '5.5.1 VRFY command is disabled', 'disclosed': False}
    assert result['relay']['accepted'] is False
    assert result['relay']['code'] == 554 and 'Relay access denied' in result['relay']['message']
    assert result['changed'] is False
    # Without relay_domains the routed and sibling forms cannot be built, and say so.
    assert sorted(result['relay_skipped']) == ['bang_path: no relay_domains given', 'parent_sibling: no relay_domains given',
                                               'percent_hack: no relay_domains given', 'source_route: no relay_domains given']
    assert result['relay_accepted'] == [] and result['relay_complete'] is True


def test_hardened_server_refuses_every_relay_form(postfix):
    result = probe({'host': '127.0.0.1', 'port': postfix['hardened'], 'vrfy_address': '',
                    'relay_domains': ['example.org']})
    tests = result['relay_tests']
    assert [t['form'] for t in tests] == ['relay_recipient', 'foreign', 'foreign', 'foreign', 'address_literal',
                                          'percent_hack', 'source_route', 'bang_path', 'parent_sibling']
    assert [t['recipient'] for t in tests] == [
        'relay-test@example.com', 'relay-test@example.net', 'relay-test@victim.example', 'relay-test@probe.test',
        'relay-test@[192.0.2.1]', 'relay-test%victim.example@example.org', '@example.org:relay-test@victim.example',
        'victim.example!relay-test@example.org', 'relay-test@securemail-probe.org']
    for test in tests:
        assert test['stage'] == 'rcpt' and test['accepted'] is False, test
        assert test['code'] // 100 in (4, 5), test
    assert result['relay_accepted'] == [] and result['relay_untested'] == [] and result['relay_complete'] is True
    # A relay domain itself is not foreign: the probe must not count it as a relay.
    assert 'relay-test@example.org' not in [t['recipient'] for t in tests]


def test_open_relay_is_flagged_form_by_form(postfix):
    result = probe({'host': '127.0.0.1', 'port': postfix['open'], 'vrfy_address': '', 'relay_domains': ['example.org']})
    assert result['relay']['accepted'] is True
    assert result['relay_accepted'] == [
        'relay_recipient <relay-test@example.com>', 'foreign <relay-test@example.net>',
        'foreign <relay-test@victim.example>', 'foreign <relay-test@probe.test>',
        'address_literal <relay-test@[192.0.2.1]>'] + ROUTED + ['parent_sibling <relay-test@securemail-probe.org>']
    assert result['relay_complete'] is True


def test_untrusted_routing_is_flagged_even_when_foreign_domains_are_refused(postfix):
    result = probe({'host': '127.0.0.1', 'port': postfix['routing'], 'vrfy_address': '',
                    'relay_domains': ['example.org']})
    assert result['relay']['accepted'] is False
    # Postfix strips a source route (RFC 5321 4.1.1.3), so that form stays refused; the other two get through.
    assert result['relay_accepted'] == [ROUTED[0], ROUTED[2]]
    assert result['relay_complete'] is True


def test_a_server_that_hangs_up_after_two_errors_is_still_probed_completely(postfix):
    result = probe({'host': '127.0.0.1', 'port': postfix['strict'], 'vrfy_address': '',
                    'relay_domains': ['example.org']})
    assert result['relay_complete'] is True, result['relay_untested']
    assert len(result['relay_tests']) == 9
    assert all(t['stage'] == 'rcpt' and t['code'] == 554 for t in result['relay_tests']), result['relay_tests']


def test_sibling_of_a_subdomain_and_time_budget(postfix):
    result = probe({'host': '127.0.0.1', 'port': postfix['open'], 'vrfy_address': '', 'tls_versions': [],
                    'relay_domains': ['mx.example.org'], 'relay_forms': ['parent_sibling']})
    assert [t['recipient'] for t in result['relay_tests']] == ['relay-test@example.com',
                                                               'relay-test@securemail-probe.example.org']
    # A budget too small for even one answer: every test is reported untested, none is counted refused.
    result = probe({'host': '127.0.0.1', 'port': postfix['hardened'], 'vrfy_address': '',
                    'relay_domains': ['example.org'], 'relay_time_budget': 0.000001})
    assert result['relay_complete'] is False and result['relay_accepted'] == []
    assert len(result['relay_untested']) == len(result['relay_tests']) == 9


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
    result = probe({'host': '127.0.0.1', 'relay_domains': ['example.org', 'bad domain']})
    assert result['failed'] is True and result['msg'] == "relay_domains: 'bad domain' is not a domain name"
    result = probe({'host': '127.0.0.1', 'relay_forms': ['percent']})
    assert result['failed'] is True and 'relay_forms' in result['msg']
    result = probe({'host': '127.0.0.1', 'relay_time_budget': 0})
    assert result['failed'] is True and result['msg'] == 'relay_time_budget: must be positive, got 0.0'
