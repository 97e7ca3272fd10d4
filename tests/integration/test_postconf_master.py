# -*- coding: utf-8 -*-
"""securemail.gateway.postconf_master against the real postconf binary."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from conftest import digest, postconf, run_module

REINJECT = {
    'service': '127.0.0.1:10025', 'type': 'inet', 'private': 'n', 'chroot': False, 'command': 'smtpd',
    'options': {'content_filter': '', 'smtpd_client_restrictions': ['permit_mynetworks', 'reject'],
                'mynetworks': '127.0.0.0/8', 'receive_override_options': 'no_unknown_recipient_checks'},
}
AMAVIS = {'service': 'smtp-amavis', 'type': 'unix', 'chroot': 'n', 'maxproc': 2, 'command': 'smtp',
          'options': {'smtp_data_done_timeout': 1200, 'disable_dns_lookups': True}}


def files(confdir):
    return os.path.join(confdir, 'main.cf'), os.path.join(confdir, 'master.cf')


def test_add_services_with_overrides_then_idempotent(confdir):
    first = run_module('postconf_master', {'config_dir': confdir, 'services': [REINJECT, AMAVIS]})
    assert first['changed'] is True, first
    assert first['restart_required'] is False  # master(8) starts a new listener on reload
    assert first['processes'] == 3  # one -M read, daemon_directory for the new commands, one -Me write
    line = postconf(confdir, '-M', '127.0.0.1:10025/inet').split()
    assert line[:8] == ['127.0.0.1:10025', 'inet', 'n', '-', 'n', '-', '-', 'smtpd']
    params = postconf(confdir, '-P', '127.0.0.1:10025/inet')
    assert '127.0.0.1:10025/inet/smtpd_client_restrictions = permit_mynetworks, reject' in params
    assert '127.0.0.1:10025/inet/content_filter =' in params
    assert 'smtp-amavis/unix/disable_dns_lookups = yes' in postconf(confdir, '-P', 'smtp-amavis/unix')
    second = run_module('postconf_master', {'config_dir': confdir, 'services': [REINJECT, AMAVIS]})
    assert second['changed'] is False, second['changed_services']
    assert second['processes'] == 1


def test_change_override_is_a_reload(confdir):
    run_module('postconf_master', {'config_dir': confdir, 'services': [REINJECT]})
    changed = dict(REINJECT, options=dict(REINJECT['options'], smtpd_hard_error_limit=1000))
    result = run_module('postconf_master', {'config_dir': confdir, 'services': [changed]}, diff=True)
    assert result['changed'] is True and result['restart_required'] is False
    assert '-o smtpd_hard_error_limit=1000' in result['diff']['after']


def test_fields_left_alone_when_omitted_and_options_merged(confdir):
    postconf(confdir, '-Me', 'smtp/inet=smtp inet n - y - - smtpd -o syslog_name=postfix/smtp')
    result = run_module('postconf_master', {'config_dir': confdir, 'services': [
        {'service': 'smtp', 'type': 'inet', 'options': {'smtpd_tls_security_level': 'may'}}]})
    assert result['changed'] is True and result['restart_required'] is False
    line = postconf(confdir, '-M', 'smtp/inet').split()
    assert line[:8] == ['smtp', 'inet', 'n', '-', 'y', '-', '-', 'smtpd']
    assert '-o syslog_name=postfix/smtp -o smtpd_tls_security_level=may' in ' '.join(line)
    purged = run_module('postconf_master', {'config_dir': confdir, 'services': [
        {'service': 'smtp', 'type': 'inet', 'purge_options': True, 'options': {'smtpd_tls_security_level': 'may'}}]})
    assert purged['changed'] is True
    assert 'syslog_name' not in postconf(confdir, '-M', 'smtp/inet')


def test_check_mode_predicts_the_real_run(confdir):
    before = digest(*files(confdir))
    services = [REINJECT, {'service': 'submission', 'type': 'inet', 'state': 'absent'},
                {'service': 'smtp', 'type': 'inet', 'chroot': 'n'}]
    predicted = run_module('postconf_master', {'config_dir': confdir, 'services': services}, check=True, diff=True)
    assert digest(*files(confdir)) == before
    real = run_module('postconf_master', {'config_dir': confdir, 'services': services}, diff=True)
    assert predicted['changed_services'] == real['changed_services']
    assert predicted['diff'] == real['diff'] and predicted['restart_required'] == real['restart_required']
    # submission is commented out in Debian's master.cf: nothing to remove.
    assert set(real['changed_services']) == {'127.0.0.1:10025/inet', 'smtp/inet'}


def test_remove_a_listener(confdir):
    run_module('postconf_master', {'config_dir': confdir, 'services': [REINJECT]})
    result = run_module('postconf_master', {'config_dir': confdir, 'services': [
        {'service': '127.0.0.1:10025', 'type': 'inet', 'state': 'absent'}]})
    assert result['changed'] is True and result['restart_required'] is False  # reload stops it
    assert postconf(confdir, '-M', '127.0.0.1:10025/inet') == ''
    again = run_module('postconf_master', {'config_dir': confdir, 'services': [
        {'service': '127.0.0.1:10025', 'type': 'inet', 'state': 'absent'}]})
    assert again['changed'] is False


def test_pipe_service_arguments_survive(confdir):
    svc = {'service': 'filter', 'type': 'unix', 'private': 'n', 'unpriv': 'n', 'chroot': 'n', 'command':
           'pipe flags=Rq user=nobody argv=/usr/bin/true -f ${sender} -- ${recipient}'}
    run_module('postconf_master', {'config_dir': confdir, 'services': [svc]})
    assert 'argv=/usr/bin/true -f ${sender} -- ${recipient}' in postconf(confdir, '-M', 'filter/unix')
    assert run_module('postconf_master', {'config_dir': confdir, 'services': [svc]})['changed'] is False


BAD = [
    ([dict(REINJECT, private='x')], "services[0] (127.0.0.1:10025/inet).private: 'x' is not valid"),
    ([dict(REINJECT, chroot='yes')], "chroot: 'yes' is not valid"),
    ([dict(REINJECT, maxproc='ten')], "maxproc: 'ten' is not valid"),
    ([dict(REINJECT, wakeup='60s')], "wakeup: '60s' is not valid"),
    ([dict(REINJECT, service='smtp inet')], "services[0].service: 'smtp inet' is not a valid master.cf service name"),
    ([dict(REINJECT, service='')], 'services[0].service'),
    ([dict(REINJECT, type='tcp')], 'value of type must be one of'),
    ([dict(REINJECT, command='smtpd\nevil inet n - n - - smtpd')], 'command: contains a newline'),
    ([dict(REINJECT, command='smtpd -o content_filter=')], 'put -o overrides in options'),
    ([dict(REINJECT, command='')], 'command: is empty'),
    ([dict(REINJECT, options={'content filter': 'x'})], "options: 'content filter' is not a valid parameter name"),
    ([dict(REINJECT, options={'content_filter': 'a\nb'})], 'options.content_filter: value contains a newline'),
    ([dict(REINJECT, options={'content_filter': 'a\x00'})], 'options.content_filter: value contains a NUL'),
    ([dict(REINJECT, options={'x': '{a'})], 'unbalanced { }'),
    ([{'service': 'newsvc', 'type': 'unix'}], 'newsvc/unix does not exist yet, so command is required'),
    ([REINJECT, REINJECT], 'declared more than once'),
    ([dict(REINJECT, command='smtpdd')], "127.0.0.1:10025/inet: command 'smtpdd' is not a program in daemon_directory"),
    ([dict(AMAVIS, command='/usr/lib/postfix/sbin/nosuch')], "command '/usr/lib/postfix/sbin/nosuch' is not a program"),
]


@pytest.mark.parametrize('services,message', BAD, ids=[m for s, m in BAD])
def test_bad_input_changes_nothing(confdir, services, message):
    before = digest(*files(confdir))
    result = run_module('postconf_master', {'config_dir': confdir, 'services': services})
    assert result.get('failed') is True, result
    assert message in result['msg'], result['msg']
    assert digest(*files(confdir)) == before
