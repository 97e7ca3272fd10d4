# -*- coding: utf-8 -*-
"""securemail.gateway.postconf against the real postconf binary."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

from conftest import digest, postconf, run_module


def main_cf(confdir):
    return os.path.join(confdir, 'main.cf')


def test_set_then_idempotent(confdir, tmp_path):
    params = {'disable_vrfy_command': True, 'smtpd_helo_required': 'yes', 'message_size_limit': 26214400,
              'smtpd_relay_restrictions': ['permit_mynetworks', 'reject_unauth_destination'],
              'smtpd_banner': '$myhostname ESMTP'}
    first = run_module('postconf', {'config_dir': confdir, 'parameters': params})
    assert first['changed'] is True, first
    assert first['changed_parameters']['disable_vrfy_command'] == {'before': None, 'after': 'yes'}
    assert first['restart_required'] is False
    assert postconf(confdir, '-h', 'smtpd_relay_restrictions').strip() == 'permit_mynetworks, reject_unauth_destination'
    assert postconf(confdir, '-h', 'smtpd_banner').strip() == '$myhostname ESMTP'
    second = run_module('postconf', {'config_dir': confdir, 'parameters': params})
    assert second['changed'] is False and second['changed_parameters'] == {}


def test_constant_process_count(confdir):
    # Every parameter below has a default, so each one is a real change.
    names = postconf(confdir, '-d').splitlines()[:150]
    params = dict((line.split(' = ')[0], 'x%d' % i) for i, line in enumerate(names) if ' = ' in line)
    params.pop('config_directory', None)
    result = run_module('postconf', {'config_dir': confdir, 'parameters': params})
    assert result['changed'] is True and len(result['changed_parameters']) == len(params)
    assert result["processes"] == 2  # one -n NAMES read, one -e write
    again = run_module('postconf', {'config_dir': confdir, 'parameters': params})
    assert again["changed"] is False and again["processes"] == 1


def test_list_values_compare_by_meaning(confdir):
    postconf(confdir, '-e', 'smtpd_recipient_restrictions=permit_mynetworks,reject_unauth_destination,'
             '  check_policy_service { inet:127.0.0.1:10040, timeout=10s }')
    same = run_module('postconf', {'config_dir': confdir, 'parameters': {'smtpd_recipient_restrictions': [
        'permit_mynetworks', 'reject_unauth_destination', 'check_policy_service',
        '{inet:127.0.0.1:10040, timeout=10s}']}})
    assert same['changed'] is False, same
    reordered = run_module('postconf', {'config_dir': confdir, 'parameters': {'smtpd_recipient_restrictions':
                                                                              'reject_unauth_destination permit_mynetworks'}},
                           check=True)
    assert reordered['changed'] is True


def test_banner_is_free_text(confdir):
    postconf(confdir, '-e', 'smtpd_banner=$myhostname ESMTP, ready')
    result = run_module('postconf', {'config_dir': confdir, 'parameters': {'smtpd_banner': '$myhostname ESMTP ready'}},
                        check=True)
    assert result['changed'] is True


def test_check_mode_predicts_the_real_run(confdir):
    postconf(confdir, '-e', 'smtpd_helo_required=no', 'mynetworks=127.0.0.0/8')
    params = {'smtpd_helo_required': True, 'mynetworks': ['127.0.0.0/8'], 'inet_interfaces': 'loopback-only'}
    before = digest(main_cf(confdir))
    predicted = run_module('postconf', {'config_dir': confdir, 'parameters': params}, check=True, diff=True)
    assert digest(main_cf(confdir)) == before, 'check mode wrote main.cf'
    real = run_module('postconf', {'config_dir': confdir, 'parameters': params}, diff=True)
    assert predicted['changed'] is real['changed'] is True
    assert predicted['changed_parameters'] == real['changed_parameters']
    assert set(real['changed_parameters']) == {'smtpd_helo_required', 'inet_interfaces'}
    assert predicted['diff'] == real['diff']
    assert 'inet_interfaces = loopback-only' in real['diff']['after']
    assert real['restart_required'] is True and real['restart_parameters'] == ['inet_interfaces']


def test_absent_falls_back_to_default(confdir):
    postconf(confdir, '-e', 'smtpd_tls_loglevel=2', 'smtpd_helo_required=yes')
    result = run_module('postconf', {'config_dir': confdir, 'state': 'absent',
                                     'parameters': ['smtpd_tls_loglevel', 'smtpd_sasl_auth_enable']})
    assert result['changed'] is True
    assert result['changed_parameters'] == {'smtpd_tls_loglevel': {'before': '2', 'after': '0'}}
    assert postconf(confdir, '-n', 'smtpd_tls_loglevel') == ''
    assert postconf(confdir, '-h', 'smtpd_helo_required').strip() == 'yes'
    again = run_module('postconf', {'config_dir': confdir, 'state': 'absent', 'parameters': ['smtpd_tls_loglevel']})
    assert again['changed'] is False


def test_vendor_config_dir_keeps_unmanaged_lines(tmp_path):
    vendor = tmp_path / 'opt' / 'vendor' / 'postfix' / 'etc'
    vendor.mkdir(parents=True)
    (vendor / 'main.cf').write_text('# vendor file, do not edit\nmyhostname = mx.vendor.example\n'
                                    'vendor_knob = 1\nsmtpd_banner = $myhostname ESMTP $mail_name\n')
    (vendor / 'master.cf').write_text(open('/usr/share/postfix/master.cf.dist').read())
    result = run_module('postconf', {'config_dir': str(vendor), 'parameters': {'smtpd_banner': '$myhostname ESMTP'}})
    assert result['changed'] is True
    text = (vendor / 'main.cf').read_text()
    assert text.startswith('# vendor file, do not edit\nmyhostname = mx.vendor.example\nvendor_knob = 1\n')
    assert 'smtpd_banner = $myhostname ESMTP\n' in text


def test_unknown_allowed_is_reported(confdir):
    result = run_module('postconf', {'config_dir': confdir, 'allow_unknown': True,
                                     'parameters': {'smtpd_future_knob': 'yes'}})
    assert result['changed'] is True
    assert result['unused_parameters'] == ['smtpd_future_knob']
    assert 'smtpd_future_knob' in json.dumps(result['warnings'])
    again = run_module('postconf', {'config_dir': confdir, 'allow_unknown': True,
                                    'parameters': {'smtpd_future_knob': 'yes'}})
    assert again['changed'] is False
    assert any('unused parameter: smtpd_future_knob=yes' in w for w in again['postconf_warnings'])


def test_user_defined_parameter_referenced_elsewhere_is_known(confdir):
    result = run_module('postconf', {'config_dir': confdir, 'parameters': {
        'mua_client_restrictions': 'permit_sasl_authenticated, reject',
        'smtpd_client_restrictions': '$mua_client_restrictions'}})
    assert result['changed'] is True and result['unused_parameters'] == []


def test_backup(confdir):
    result = run_module('postconf', {'config_dir': confdir, 'backup': True, 'parameters': {'smtpd_helo_required': True}})
    assert os.path.exists(result['backup_file'])
    assert open(result['backup_file']).read() == open('/usr/share/postfix/main.cf.dist').read()


BAD_INPUTS = [
    ({'parameters': {'smtpd_banner': '$myhostname\nrelayhost = evil.example'}},
     'parameters: smtpd_banner: value contains a newline'),
    ({'parameters': {'smtpd_banner': 'a\rb'}}, 'parameters: smtpd_banner: value contains a newline'),
    ({'parameters': {'smtpd_banner': 'a\x00b'}}, 'parameters: smtpd_banner: value contains a NUL character'),
    ({'parameters': {'': 'x'}}, 'parameters: a parameter name is empty'),
    ({'parameters': {'   ': 'x'}}, 'parameters: a parameter name is empty'),
    ({'parameters': {'relay host': 'x'}}, "parameters: 'relay host' is not a valid parameter name"),
    ({'parameters': {'a=b': 'x'}}, "parameters: 'a=b' is not a valid parameter name"),
    ({'parameters': {'smtpd_helo_requird': 'yes'}}, 'parameters: unknown to this Postfix'),
    ({'parameters': {'mynetworks': {'a': 1}}}, 'parameters: mynetworks: a value cannot be a dict'),
    ({'parameters': {'mynetworks': [['127.0.0.1']]}}, 'parameters: mynetworks: list elements must be strings'),
    ({'parameters': {}}, 'parameters: is empty'),
    ({'parameters': 'smtpd_helo_required=yes'}, 'parameters: expected a dict'),
    ({'parameters': {'config_directory': '/tmp'}}, 'config_directory cannot be set'),
    ({'parameters': {'smtpd_helo_required': 'yes'}, 'state': 'gone'}, 'value of state must be one of'),
    ({'parameters': {'smtpd_helo_required': 'yes'}, 'config_dir': '/nonexistent/postfix'},
     'config_dir: /nonexistent/postfix is not a directory'),
    # Valid for -e, refused by postconf itself when it writes: main.cf must stay intact.
    ({'parameters': {'smtpd_helo_required': 'yes', 'smtpd_helo_requird': 'yes'}}, 'smtpd_helo_requird'),
]


@pytest.mark.parametrize('args,message', BAD_INPUTS, ids=[m for a, m in BAD_INPUTS])
def test_bad_input_changes_nothing(confdir, args, message):
    postconf(confdir, '-e', 'smtpd_helo_required=no')
    before = digest(main_cf(confdir), os.path.join(confdir, 'master.cf'))
    args = dict(args)
    args.setdefault('config_dir', confdir)
    result = run_module('postconf', args)
    assert result.get('failed') is True, result
    assert message in result['msg'], result['msg']
    assert digest(main_cf(confdir), os.path.join(confdir, 'master.cf')) == before
