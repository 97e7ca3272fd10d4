# -*- coding: utf-8 -*-
"""The postgresql role's refusals and warnings (plugins/filter/postgresql_inputs.py)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import pwd

import pytest

from ansible_collections.securemail.gateway.plugins.filter.postgresql_inputs import (
    postgresql_input_problems, postgresql_input_warnings)
from ansible_collections.securemail.gateway.plugins.module_utils.path_facts import path_facts
from role_input_cases import (
    D, HOST, MATCHING, assert_refused, by_case, cases_of, facts, molecule_tables, opt_ins_of, probe, role_file,
    through_opt_in)

ADDRESSES = ['127.0.0.1', '10.89.0.5', '::1', 'fd00::5']
WILDCARDS = role_file('postgresql', 'vars')['postgresql__wildcards']


def inputs(**changes):
    values = role_file('postgresql', 'defaults')
    values.update(changes)
    return values


def probe_of(values, host=None, matching=None):
    """What tasks/validate.yml's path_facts task would find (vars/main.yml's postgresql__probe_*)."""
    # Empty postgresql_version: the release's own (vars/Debian-12.yml on the test hosts).
    version, cluster = values['postgresql_version'] or '15', values['postgresql_cluster']
    paths = {'binary': '/usr/lib/postgresql/%s/bin/postgres' % version,
             'conf': '/etc/postgresql/%s/%s/postgresql.conf' % (version, cluster),
             'cert': values['postgresql_ssl_cert_file'], 'key': values['postgresql_ssl_key_file']}
    pairs = {'tls': {'cert': values['postgresql_ssl_cert_file'], 'key': values['postgresql_ssl_key_file']}} \
        if values['postgresql_ssl'] else {}
    return probe(paths, pairs, host, matching)


def problems(values, host=None, matching=None, **kwargs):
    kwargs.setdefault('addresses', ADDRESSES)
    return postgresql_input_problems(values, probe_of(values, host, matching), host='gw1', wildcards=WILDCARDS,
                                     **kwargs)


def hba(type_, address, method='scram-sha-256', database='quarantine', user='quarantine'):
    return [{'type': type_, 'database': database, 'user': user, 'address': address, 'method': method}]


# The molecule scenario's cases and opt-ins (tests/test_postgresql.py) on its
# host (vars/pg-db.yml, internal address 10.89.0.5).
SCENARIO = molecule_tables('postgresql/tests/test_postgresql.py')
MOLECULE_REFUSED = SCENARIO['REFUSED']
MOLECULE_OPT_INS = SCENARIO['OPT_INS']
KEY_0644 = SCENARIO['KEY_0644']
PG_DB = dict(postgresql_listen_addresses=['localhost', '10.89.0.5'], postgresql_allowed_hosts=['10.89.0.0/24'],
             postgresql_db_password='molecule-only-Qu4rantine')
# The malformed-input table (molecule/reliability/tests/test_bad_input.py): its
# postgresql cases but postgresql_max_connections, which only the argument
# spec refuses (tasks/validate.yml runs after it); OTHER_KEY is a key of its own.
TABLE = molecule_tables('reliability/tests/test_bad_input.py')
OTHER_KEY = TABLE['OTHER_KEY']
MISSING_CERT = TABLE['MISSING_CERT']
BAD_INPUT = [c for c in TABLE['ROLE_CASES'] if c[1] == 'postgresql' and c[0] != 'postgresql_max_connections']
CASE_HOST = dict(HOST, **dict((f['path'], f) for f in [facts(KEY_0644, 'file', '0644'),
                                                       facts(OTHER_KEY, 'file', '0600')]))
# More of what tasks/validate.yml refuses.
MALFORMED = [
    ('postgresql_version', {'postgresql_version': '15/../..'}),
    ('postgresql_version', {'postgresql_version': '15\n'}),
    ('postgresql_cluster', {'postgresql_cluster': '..'}),
    ('postgresql_cluster', {'postgresql_cluster': 'main/x'}),
    ('postgresql_port', {'postgresql_port': 'many'}),
    ('postgresql_listen_addresses', {'postgresql_listen_addresses': []}),
    ('postgresql_listen_addresses', {'postgresql_listen_addresses': 'localhost'}),
    ('postgresql_listen_addresses', {'postgresql_listen_addresses': ['10.89.0.0/24']}),
    ('postgresql_listen_addresses', {'postgresql_listen_addresses': ['gw1.example.org']}),
    ('postgresql_db_user', {'postgresql_db_user': 'postgres'}),
    ('postgresql_db_user', {'postgresql_db_user': 'Quarantine'}),
    ('postgresql_db_user', {'postgresql_db_user': 'quarantine\n'}),
    ('postgresql_db_password', {'postgresql_db_password': 12345}),
    ('postgresql_filter_user', {'postgresql_filter_user': 'quarantine'}),
    ('postgresql_web_user', {'postgresql_web_user': 'quarantine_filter'}),
    ('postgresql_web_user', {'postgresql_web_user': 'pg_read_all_data'}),
    ('postgresql_filter_password', {'postgresql_filter_password': 'two\nlines'}),
    ('postgresql_web_password', {'postgresql_web_password': None}),
    ('postgresql_retention_days', {'postgresql_retention_days': 0}),
    ('postgresql_retention_days', {'postgresql_retention_days': True}),
    ('postgresql_hba_extra', {'postgresql_hba_extra': ['host all all 0.0.0.0/0 trust']}),
    ('postgresql_hba_extra', {'postgresql_hba_extra': hba('local', '', method='trust')}),
    ('postgresql_hba_extra', {'postgresql_hba_extra': hba('local', '10.0.0.0/8', method='peer')}),
    ('postgresql_hba_extra', {'postgresql_hba_extra': hba('hostssl', '10.0.0.0/8', method='peer')}),
    ('postgresql_hba_extra', {'postgresql_hba_extra': hba('host', '127.0.0.1/32', method='cert')}),
    ('postgresql_hba_extra', {'postgresql_hba_extra': hba('hostssl', '10.0.0.0/8', method='md5')}),
    ('postgresql_hba_extra', {'postgresql_hba_extra': hba('hostssl', '10.0.0.0/8', database='a b')}),
    ('postgresql_hba_extra', {'postgresql_hba_extra': hba('hostgssenc', '10.0.0.0/8')}),
    ('postgresql_hba_extra', {'postgresql_ssl': False, 'postgresql_hba_extra': hba('hostssl', '127.0.0.1/32')}),
    ('postgresql_hba_extra', {'postgresql_hba_extra': 'hostssl all all 10.0.0.0/8 scram-sha-256'}),
    ('postgresql_extra_parameters', {'postgresql_extra_parameters': {'listen_addresses': '*'}}),
    ('postgresql_extra_parameters', {'postgresql_extra_parameters': {'Work_Mem': '4MB'}}),
    ('postgresql_extra_parameters', {'postgresql_extra_parameters': {'PASSWORD_ENCRYPTION': 'md5'}}),
    ('postgresql_extra_parameters', {'postgresql_extra_parameters': ['work_mem=4MB']}),
    ('postgresql_locale', {'postgresql_locale': "C.UTF-8'\nlisten_addresses = '*"}),
    ('postgresql_timezone', {'postgresql_timezone': 'Etc/UTC\r'}),
    ('postgresql_shared_buffers', {'postgresql_shared_buffers': "128MB'"}),
    ('postgresql_backup_retention', {'postgresql_backup_retention': 0}),
    ('postgresql_ssl_min_protocol_version', {'postgresql_ssl_min_protocol_version': 'TLSv1.1'}),
    ('postgresql_ssl_key_file', {'postgresql_ssl_key_file': '/root'}),
]


def test_the_defaults_pass_on_an_installed_and_on_a_fresh_host():
    assert problems(inputs()) == []
    # Debian's snakeoil pair appears with postgresql: not there yet is fine.
    assert problems(inputs(), host={}) == []
    assert postgresql_input_warnings(inputs(), 'gw1') == []


def test_the_tables_have_their_cases():
    assert len(cases_of('postgresql')) >= 20 and len(opt_ins_of('postgresql')) >= 4
    assert len(MOLECULE_REFUSED) >= 8 and len(MOLECULE_OPT_INS) >= 2 and len(BAD_INPUT) >= 9


@by_case(cases_of('postgresql') + BAD_INPUT + MALFORMED)
def test_each_case_is_refused_naming_its_variable_first(name, variables):
    assert_refused(problems(inputs(**variables), CASE_HOST), name, 'postgresql')


@pytest.mark.parametrize('refused,opt_in', opt_ins_of('postgresql'))
def test_each_opt_in_lets_its_case_through_with_one_warning(refused, opt_in):
    warnings = through_opt_in(lambda v: problems(inputs(**v)), lambda v: postgresql_input_warnings(inputs(**v), 'gw1'),
                              refused, opt_in)
    assert len(warnings) == 1 and warnings[0].startswith('WARNING: %s ' % sorted(opt_in)[0]) and 'gw1' in warnings[0]


@by_case(MOLECULE_REFUSED)
def test_the_molecule_scenario_cases_are_refused_naming_their_variable_first(name, variables):
    found = problems(inputs(**dict(PG_DB, **variables)), CASE_HOST, MATCHING | set([(D.SNAKEOIL_CERT, KEY_0644)]))
    assert_refused(found, name, 'postgresql')


@pytest.mark.parametrize('variables', MOLECULE_OPT_INS)
def test_the_molecule_scenario_opt_ins_pass_with_one_warning(variables):
    values = inputs(**dict(PG_DB, **variables))
    assert problems(values) == []
    assert len(postgresql_input_warnings(values, 'gw1')) == 1


def test_messages_are_worded_as_before():
    found = problems(inputs(postgresql_allowed_hosts=['10.1.2.0/24', '203.0.113.0/24']))
    assert found == ['postgresql_allowed_hosts: refused, the quarantine database is never public: 203.0.113.0/24 '
                     '(a public network: only loopback, RFC 1918 and fc00::/7 are trusted without an opt-in). List '
                     'your own public networks in postgresql_allow_public_networks to let them in']
    assert problems(inputs(postgresql_ssl=False, postgresql_allowed_hosts=['127.0.0.1', '10.1.2.0/24'])) == [
        'postgresql_ssl: false, but postgresql_allowed_hosts lets remote clients in (10.1.2.0/24): they would log in '
        'without TLS. Keep postgresql_ssl true (their lines are hostssl), or set postgresql_allow_remote_without_tls: '
        'true if you really mean it']
    assert problems(inputs(postgresql_listen_addresses=['localhost', '192.0.2.10'])) == [
        'postgresql_listen_addresses: 192.0.2.10 is not localhost, * or an address of gw1 (host names and CIDR '
        'networks are not accepted: the role checks the bound sockets against this list)']
    assert problems(inputs(postgresql_ssl_key_file=D.KEY_0644)) == [
        'postgresql_ssl_key_file: %s is not private enough: others can access it (mode 0644); it must be 0600, or '
        '0640 owned by root with group ssl-cert' % D.KEY_0644]


def test_listen_addresses_of_the_host_and_wildcards_pass():
    assert problems(inputs(postgresql_listen_addresses=['localhost', '10.89.0.5', 'fd00::5', '*', '::'])) == []
    # Without the network facts no explicit address is the host's.
    assert problems(inputs(postgresql_listen_addresses=['10.89.0.5']), addresses=[])


def test_hba_entries_are_named_by_their_place_in_the_list():
    entries = ['junk'] + hba('hostssl', '203.0.113.0/24')
    found = problems(inputs(postgresql_hba_extra=entries))
    assert found[0].startswith('postgresql_hba_extra: [0] "junk" is invalid')
    assert 'postgresql_hba_extra: refused, the quarantine database is never public: [1] 203.0.113.0/24' in found[1]


def test_reject_lines_may_name_any_network_and_local_peer_passes():
    entries = (hba('hostnossl', '0.0.0.0/0', method='reject', database='all', user='all')
               + [{'type': 'local', 'database': 'all', 'user': 'all', 'method': 'peer'}]
               + hba('hostssl', '10.0.0.0/8', method='cert') + hba('host', '127.0.0.1/32'))
    values = inputs(postgresql_hba_extra=entries)
    assert problems(values) == []
    assert postgresql_input_warnings(values, 'gw1') == []


def test_trust_over_tcp_is_refused_once_and_warned_about_when_allowed():
    entries = hba('hostssl', '10.0.0.0/8', method='trust')
    assert problems(inputs(postgresql_hba_extra=entries)) == [
        'postgresql_hba_extra: trust over TCP requested for 10.0.0.0/8: anyone who reaches the port logs in without '
        'a password. Use scram-sha-256, or set postgresql_allow_trust_over_tcp: true if you really mean it']
    values = inputs(postgresql_hba_extra=entries, postgresql_allow_trust_over_tcp='yes')
    assert problems(values) == []
    assert postgresql_input_warnings(values, 'gw1') == [
        'WARNING: postgresql_allow_trust_over_tcp is true on gw1. These pg_hba entries accept connections WITHOUT A '
        'PASSWORD from the network: [{"type": "hostssl", "database": "quarantine", "user": "quarantine", '
        '"address": "10.0.0.0/8", "method": "trust"}]']
    # Never on a local socket, opted in or not.
    local = [{'type': 'local', 'database': 'all', 'user': 'all', 'method': 'trust'}]
    assert problems(inputs(postgresql_hba_extra=local, postgresql_allow_trust_over_tcp=True)) == [
        'postgresql_hba_extra: trust on a local socket lets every local user act as any role; use peer']


def test_two_opt_ins_two_warnings():
    values = inputs(postgresql_hba_extra=hba('host', '198.51.100.0/24'),
                    postgresql_allow_public_networks=['198.51.100.0/24'], postgresql_allow_remote_without_tls=True)
    assert problems(values) == []
    assert [w.split(' ')[1] for w in postgresql_input_warnings(values, 'gw1')] == [
        'postgresql_allow_remote_without_tls', 'postgresql_allow_public_networks']


def test_the_whole_internet_is_refused_whatever_the_opt_in_says():
    found = problems(inputs(postgresql_allowed_hosts=['0.0.0.0/0'], postgresql_allow_public_networks=['0.0.0.0/0']))
    assert [p.split(':')[0] for p in found] == ['postgresql_allow_public_networks', 'postgresql_allowed_hosts']


def test_a_tls_parameter_is_refused_once_with_its_own_reason():
    found = problems(inputs(postgresql_extra_parameters={'SSL_Ciphers': 'ALL', 'work_mem': '4MB'}))
    assert found == ['postgresql_extra_parameters: ssl_ciphers is refused: the role fixes how logins are protected '
                     '(at least TLSv1.2, set by postgresql_ssl_min_protocol_version; forward-secret ssl_ciphers; '
                     'scram-sha-256 password_encryption)']


def test_the_password_is_never_in_a_message():
    secret = 'pw-Secret-93d1'
    found = problems(inputs(postgresql_db_password=secret, postgresql_port=0, postgresql_db_name='x y'))
    assert len(found) == 2 and not [p for p in found if secret in p]
    assert problems(inputs(postgresql_db_password=['pw-Secret-93d1'])) == [
        'postgresql_db_password: must be a string (empty for no password)']


def test_booleans_and_numbers_are_read_as_before():
    assert problems(inputs(postgresql_ssl='no', postgresql_allowed_hosts=['10.1.2.0/24'],
                           postgresql_allow_remote_without_tls='True', postgresql_port='5433',
                           postgresql_backup_retention='2', postgresql_version=16)) == []


@pytest.mark.parametrize('version', ['', '15', '17', 17])
def test_the_version_is_the_release_s_own_when_empty_or_a_major_version(version):
    assert problems(inputs(postgresql_version=version)) == []


def test_tls_files_are_judged_only_with_ssl_and_a_probe():
    values = inputs(postgresql_ssl_cert_file=MISSING_CERT, postgresql_ssl_key_file=D.KEY_0644)
    assert len(problems(values)) == 2
    assert problems(dict(values, postgresql_ssl=False)) == []
    assert postgresql_input_problems(values, None, addresses=ADDRESSES, wildcards=WILDCARDS) == []


def test_a_missing_key_is_said_once():
    assert problems(inputs(postgresql_ssl_key_file='/etc/ssl/private/nosuch.key')) == [
        'postgresql_ssl_key_file: /etc/ssl/private/nosuch.key does not exist on gw1']


def test_a_key_of_another_certificate_carries_what_openssl_said():
    values = inputs(postgresql_ssl_key_file=OTHER_KEY)
    found = postgresql_input_problems(values, dict(paths={'cert': HOST[D.SNAKEOIL_CERT], 'key': facts(OTHER_KEY, 'file')},
                                                   key_pairs={'tls': {'match': False, 'error': 'pkey: bad decrypt'}}),
                                      host='gw1', addresses=ADDRESSES, wildcards=WILDCARDS)
    assert found == ['postgresql_ssl_key_file: %s is not a readable private key of postgresql_ssl_cert_file %s (or '
                     'the certificate does not parse) pkey: bad decrypt' % (OTHER_KEY, D.SNAKEOIL_CERT)]


def test_the_host_of_the_cases_is_seen_as_path_facts_sees_one(tmp_path):
    (tmp_path / 'file').write_text('')
    (tmp_path / 'link').symlink_to(tmp_path / 'nowhere')
    for kind, path in (('file', tmp_path / 'file'), ('dir', tmp_path), (None, tmp_path / 'nowhere')):
        real = path_facts(str(path))
        assert real == facts(str(path), kind, real['mode'] or '0600', real['pw_name'] or 'root',
                             real['gr_name'] or 'root')
    assert path_facts(str(tmp_path / 'link')) == facts(str(tmp_path / 'link'), link=True,
                                                       real=str(tmp_path / 'nowhere'))


@pytest.mark.skipif(os.geteuid() != 0, reason='chown needs root')
def test_real_files_as_path_facts_reports_them(tmp_path):
    key = tmp_path / 'server.key'
    key.write_text('not read by the filter\n')
    results = {}
    for mode, owner in ((0o600, 'postgres'), (0o640, 'root'), (0o604, 'root')):
        os.chmod(str(key), mode)
        os.chown(str(key), pwd.getpwnam(owner).pw_uid, 0)
        found = {'cert': path_facts(str(key)), 'key': path_facts(str(key))}
        results[(mode, owner)] = postgresql_input_problems(
            inputs(postgresql_ssl_cert_file=str(key), postgresql_ssl_key_file=str(key)),
            dict(paths=found, key_pairs={'tls': {'match': True, 'error': ''}}), addresses=ADDRESSES,
            wildcards=WILDCARDS)
    assert results[(0o600, 'postgres')] == []
    assert 'group root can access it (mode 0640, owner root)' in results[(0o640, 'root')][0]
    assert 'others can access it (mode 0604)' in results[(0o604, 'root')][0]
