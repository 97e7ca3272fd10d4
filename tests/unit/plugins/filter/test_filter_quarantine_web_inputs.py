# -*- coding: utf-8 -*-
"""The quarantine_web role's refusals and warning (plugins/filter/quarantine_web_inputs.py)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import os

import pytest

from ansible_collections.securemail.gateway.plugins.filter.quarantine_web_inputs import (
    quarantine_accounts, quarantine_web_input_problems, quarantine_web_input_warnings)
from ansible_collections.securemail.gateway.plugins.module_utils.path_facts import path_facts
from role_input_cases import (
    D, HOST, assert_refused, by_case, cases_of, facts, molecule_tables, opt_ins_of, probe, role_file, through_opt_in)

ADDRESSES = ['10.89.0.5', '192.0.2.7', 'fd00::5']
ROLE_VARS = role_file('quarantine_web', 'vars')
PARENTS = ROLE_VARS['quarantine_web__docroot_parents']
# vars/main.yml's quarantine_web__needed_modules: the modules of quarantine_web__module_files.
NEEDED = sorted(set(os.path.splitext(f)[0] for f in ROLE_VARS['quarantine_web__module_files']))


def inputs(**changes):
    values = role_file('quarantine_web', 'defaults')
    # The templated default (the host's fqdn) and the required address, as the
    # reliability inventory gives them.
    values.update(quarantine_web_server_name='quarantine.example.test', quarantine_web_listen_address='10.89.0.5')
    values.update(changes)
    return values


def probe_of(values, host=None):
    """What tasks/validate.yml's path_facts task would find (vars/main.yml's quarantine_web__probe_paths)."""
    paths = dict((parent, parent) for parent in PARENTS)
    paths['document_root'] = values['quarantine_web_document_root']
    if values['quarantine_web_tls_cert_file']:
        paths.update(cert=values['quarantine_web_tls_cert_file'], key=values['quarantine_web_tls_key_file'])
    return probe(paths, host=host)


def problems(values, host=None):
    return quarantine_web_input_problems(values, probe_of(values, host), host='gw1', addresses=ADDRESSES,
                                         needed_modules=NEEDED, docroot_parents=PARENTS)


def warnings(values, host=None):
    return quarantine_web_input_warnings(values, probe_of(values, host), host='gw1', docroot_parents=PARENTS)


# The molecule scenario's cases (tests/test_quarantine_web.py), with the files
# its test makes, and the malformed-input table's quarantine_web cases
# (molecule/reliability/tests/test_bad_input.py) but a key of another
# certificate, which the engine's validator refuses (tasks/config.yml).
SCENARIO = molecule_tables('quarantine_web/tests/test_quarantine_web.py')
MOLECULE_REFUSED = SCENARIO['REFUSED']
TABLE = molecule_tables('reliability/tests/test_bad_input.py')
BAD_INPUT = [c for c in TABLE['ROLE_CASES']
             if c[1] == 'quarantine_web' and c[2].get('quarantine_web_tls_key_file') != TABLE['OTHER_KEY']]
CASE_HOST = dict(HOST, **dict((f['path'], f) for f in [
    facts(SCENARIO['CASE_KEY'], 'file', '0644'), facts(SCENARIO['CASE_CERT'], 'file', '0644'),
    facts(SCENARIO['CASE_KEY_0640'], 'file', '0640'),
    facts(SCENARIO['ROOT_LINK'], 'dir', '0700', real='/root', link=True)]))
# More of what tasks/validate.yml refuses.
MALFORMED = [
    ('quarantine_web_listen_address', {'quarantine_web_listen_address': '192.0.2.77'}),
    ('quarantine_web_listen_address', {'quarantine_web_listen_address': ''}),
    ('quarantine_web_http_port', {'quarantine_web_http_port': 28443}),
    ('quarantine_web_http_port', {'quarantine_web_http_port': '80.5'}),
    ('quarantine_web_https_port', {'quarantine_web_https_port': 'https'}),
    ('quarantine_web_server_name', {'quarantine_web_server_name': ''}),
    ('quarantine_web_server_name', {'quarantine_web_server_name': '.example.org'}),
    ('quarantine_web_server_name', {'quarantine_web_server_name': 'quarantine.example.test\nListen 80'}),
    ('quarantine_web_document_root', {'quarantine_web_document_root': 'var/www/q'}),
    ('quarantine_web_document_root', {'quarantine_web_document_root': '//'}),
    ('quarantine_web_document_root', {'quarantine_web_document_root': '/var/www/q w'}),
    ('quarantine_web_document_root', {'quarantine_web_document_root': '/var/www/q\n'}),
    ('quarantine_web_disabled_modules', {'quarantine_web_disabled_modules': ['ssl']}),
    ('quarantine_web_disabled_modules', {'quarantine_web_disabled_modules': ['socache_shmcb']}),
    ('quarantine_web_disabled_modules', {'quarantine_web_disabled_modules': ['cgi;reboot']}),
    ('quarantine_web_disabled_modules', {'quarantine_web_disabled_modules': 'cgi'}),
    ('quarantine_web_tls_selfsigned_days', {'quarantine_web_tls_selfsigned_days': 0}),
    ('quarantine_web_backup_retention', {'quarantine_web_backup_retention': '5.5'}),
    ('quarantine_web_backup_retention', {'quarantine_web_backup_retention': True}),
    ('quarantine_web_tls_cipher_suite', {'quarantine_web_tls_cipher_suite': ''}),
    ('quarantine_web_tls_key_file', {'quarantine_web_tls_cert_file': D.SNAKEOIL_CERT}),
    ('quarantine_web_tls_cert_file', {'quarantine_web_tls_key_file': D.KEY_0644}),
    ('quarantine_web_tls_key_file', {'quarantine_web_tls_cert_file': D.SNAKEOIL_CERT,
                                     'quarantine_web_tls_key_file': '/root'}),
]


def test_the_defaults_pass_on_a_fresh_host_and_with_an_existing_root():
    assert problems(inputs()) == []
    assert problems(inputs(), host={}) == []
    host = dict(HOST, **{'/var/www/quarantine': facts('/var/www/quarantine', 'dir', '0750')})
    assert problems(inputs(), host) == []
    assert warnings(inputs()) == []


def test_the_tables_have_their_cases():
    assert len(cases_of('quarantine_web')) >= 15 and len(opt_ins_of('quarantine_web')) >= 2
    assert len(MOLECULE_REFUSED) >= 8 and len(BAD_INPUT) >= 7


@by_case(cases_of('quarantine_web') + MOLECULE_REFUSED + BAD_INPUT + MALFORMED)
def test_each_case_is_refused_naming_its_variable_first(name, variables):
    assert_refused(problems(inputs(**variables), CASE_HOST), name, 'quarantine_web')


@pytest.mark.parametrize('refused,opt_in', opt_ins_of('quarantine_web'))
def test_each_opt_in_lets_its_case_through_with_the_warning(refused, opt_in):
    found = through_opt_in(lambda v: problems(inputs(**v)), lambda v: warnings(inputs(**v)), refused, opt_in)
    assert len(found) == 1 and found[0].startswith('WARNING: quarantine_web_allow_any_document_root is true on gw1')


def test_messages_are_worded_as_before():
    assert problems(inputs(quarantine_web_document_root=D.ROOT_LINK)) == [
        'quarantine_web_document_root: %s (really /root, after symlinks) is not below /var/www or /srv: Apache would '
        'serve whatever it holds to every LAN user. Use a directory below them, or set '
        'quarantine_web_allow_any_document_root: true if you really mean it' % D.ROOT_LINK]
    assert problems(inputs(quarantine_web_listen_address='192.0.2.10')) == [
        'quarantine_web_listen_address: 192.0.2.10 is not an address of gw1 (it has 10.89.0.5, 192.0.2.7, fd00::5)']
    assert problems(inputs(quarantine_web_tls_cert_file=D.SNAKEOIL_CERT, quarantine_web_tls_key_file=D.KEY_WWW_DATA)) \
        == ['quarantine_web_tls_key_file: %s is not private enough: owned by www-data; it must be owned by root'
            % D.KEY_WWW_DATA]
    assert problems(inputs(quarantine_web_hsts_max_age=10 ** 10)) == [
        'quarantine_web_hsts_max_age: 10000000000 must be a whole number from 86400 to 63072000']


def test_a_root_owned_private_key_passes():
    host = dict(HOST, **{'/etc/ssl/private/q.key': facts('/etc/ssl/private/q.key', 'file', '0400')})
    assert problems(inputs(quarantine_web_tls_cert_file=D.SNAKEOIL_CERT,
                           quarantine_web_tls_key_file='/etc/ssl/private/q.key'), host) == []


def test_a_missing_pair_is_said_once_per_file():
    assert problems(inputs(quarantine_web_tls_cert_file='/etc/ssl/nosuch.pem',
                           quarantine_web_tls_key_file='/etc/ssl/nosuch.key')) == [
        'quarantine_web_tls_cert_file: /etc/ssl/nosuch.pem does not exist on gw1',
        'quarantine_web_tls_key_file: /etc/ssl/nosuch.key does not exist on gw1']


def test_ports_that_collide_name_both():
    assert [p.split(':', maxsplit=1)[0] for p in problems(inputs(quarantine_web_http_port=28443))] == [
        'quarantine_web_http_port', 'quarantine_web_https_port']


def test_document_roots_below_the_parents_pass_as_written_and_after_symlinks():
    host = dict(HOST, **{'/srv/q': facts('/srv/q', 'dir', real='/var/www/q', link=True),
                         '/var/www/up': facts('/var/www/up', 'dir', real='/srv', link=True)})
    for root in ('/srv/quarantine', '/var/www/a/b', '/srv/q'):
        assert problems(inputs(quarantine_web_document_root=root), host) == [], root
    assert problems(inputs(quarantine_web_document_root='/var/www/up'), host)[0].startswith(
        'quarantine_web_document_root: /var/www/up (really /srv, after symlinks) is not below')
    # /var/www itself a symlink: its children are judged where it really is.
    moved = dict(HOST, **{'/var/www': facts('/var/www', 'dir', real='/data/www', link=True),
                          '/var/www/q': facts('/var/www/q', 'dir', real='/data/www/q')})
    assert problems(inputs(quarantine_web_document_root='/var/www/q'), moved) == []


def test_a_dangling_document_root_symlink_is_not_a_directory():
    host = dict(HOST, **{'/var/www/gone': facts('/var/www/gone', link=True, real='/var/www/nowhere')})
    assert problems(inputs(quarantine_web_document_root='/var/www/gone'), host) == [
        'quarantine_web_document_root: /var/www/gone exists and is not a directory']


def test_without_a_probe_the_files_are_not_judged():
    values = inputs(quarantine_web_document_root='/root', quarantine_web_tls_cert_file='/nosuch',
                    quarantine_web_tls_key_file='/nosuch')
    assert quarantine_web_input_problems(values, None, addresses=ADDRESSES, needed_modules=NEEDED,
                                         docroot_parents=PARENTS) == []


@pytest.mark.skipif(os.geteuid() != 0, reason='a root-owned key needs root')
def test_real_files_as_path_facts_reports_them(tmp_path):
    key, cert, root = tmp_path / 'q.key', tmp_path / 'q.crt', tmp_path / 'root-link'
    key.write_text('')
    cert.write_text('')
    root.symlink_to('/root')
    values = inputs(quarantine_web_tls_cert_file=str(cert), quarantine_web_tls_key_file=str(key),
                    quarantine_web_document_root=str(root), quarantine_web_allow_any_document_root=True)
    paths = dict(cert=str(cert), key=str(key), document_root=str(root), **dict((p, p) for p in PARENTS))
    found = {}
    for mode in (0o600, 0o640):
        os.chmod(str(key), mode)
        result = dict(paths=dict((name, path_facts(path)) for name, path in paths.items()))
        found[mode] = quarantine_web_input_problems(values, result, addresses=ADDRESSES, needed_modules=NEEDED,
                                                    docroot_parents=PARENTS)
    assert found[0o600] == []
    assert found[0o640] == ['quarantine_web_tls_key_file: %s is not private enough: group root can access it (mode '
                            '0640, owner root); it must be 0600' % key]
    assert quarantine_web_input_warnings(values, result, 'gw1', PARENTS) == [
        'WARNING: quarantine_web_allow_any_document_root is true on gw1 and Apache serves /root to every LAN user']


APP = dict(quarantine_web_app=True, quarantine_web_db_password='web-pw', quarantine_web_secret_key='k' * 32,
           quarantine_web_users=[{'email': 'alice@example.org', 'password': 'long-enough-pw'}],
           quarantine_web_gateways={'gw1.example.org': '10.0.0.11:9998'})


def test_the_application_settings_pass():
    assert problems(inputs(**APP)) == []


@pytest.mark.parametrize('name, change', [
    ('quarantine_web_secret_key', {'quarantine_web_secret_key': 'short'}),
    ('quarantine_web_db_password', {'quarantine_web_db_password': ''}),
    ('quarantine_web_db_sslmode', {'quarantine_web_db_host': '10.0.0.5', 'quarantine_web_db_sslmode': 'disable'}),
    ('quarantine_web_db_user', {'quarantine_web_db_user': 'web; DROP'}),
    ('quarantine_web_db_user', {'quarantine_web_db_user': 'quarantine_web\n'}),
    ('quarantine_web_users', {'quarantine_web_users': [{'email': 'Alice@Example.org', 'password': 'long-enough-pw'}]}),
    ('quarantine_web_users', {'quarantine_web_users': [{'email': 'alice@example.org', 'password': 'short'}]}),
    ('quarantine_web_users', {'quarantine_web_users': [{'email': 'alice@example.org', 'password': 'long-enough-pw',
                                                        'role': 'admin'}]}),
    ('quarantine_web_gateways', {'quarantine_web_gateways': {'gw1.example.org': '10.0.0.11'}}),
    ('quarantine_web_session_timeout', {'quarantine_web_session_timeout': 0}),
    ('quarantine_web_login_attempts', {'quarantine_web_login_attempts': 0}),
])
def test_each_application_case_is_refused_naming_its_variable(name, change):
    found = problems(inputs(**dict(APP, **change)))
    assert found and found[0].startswith(name + ':'), found
    # Never a secret in a message.
    assert not any(secret in ' '.join(found) for secret in ('web-pw', 'long-enough-pw', 'k' * 32))


def test_accounts_carry_a_hash_that_is_the_same_on_every_run_and_differs_per_site():
    users = [{'email': 'alice@example.org', 'password': 'long-enough-pw', 'admin': 'yes'}]
    first = quarantine_accounts(users, 'k' * 32)
    assert first == quarantine_accounts(users, 'k' * 32)
    assert first[0]['hash'] != quarantine_accounts(users, 'j' * 32)[0]['hash']
    assert first[0]['admin'] is True and 'password' not in first[0]
    scheme, iterations, salt, digest = first[0]['hash'].split('$')
    assert scheme == 'pbkdf2_sha256' and int(iterations) == 600000
    assert digest == base64.b64encode(hashlib.pbkdf2_hmac('sha256', b'long-enough-pw', base64.b64decode(salt),
                                                          600000)).decode()
