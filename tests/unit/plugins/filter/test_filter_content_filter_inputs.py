# -*- coding: utf-8 -*-
"""The content_filter role's refusals (plugins/filter/content_filter_inputs.py)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest
import yaml

from ansible_collections.securemail.gateway.plugins.filter.content_filter_inputs import (
    clamav_signature_files, content_filter_input_problems)

from role_input_cases import ROOT, cases_of, molecule_tables


def defaults(**changes):
    with open(os.path.join(ROOT, 'roles', 'content_filter', 'defaults', 'main.yml')) as f:
        values = yaml.safe_load(f)
    values['content_filter_hostname'] = 'gw.example.test'
    # Templated by Ansible: no postfix_relay_domains here.
    values['content_filter_local_domains'] = []
    values.update(changes)
    return values


# The issue-12 table, the malformed-input table of the reliability scenario,
# and a few more next to them.
# Refused from the host's answer (install.yml, right after the probe), not
# by the filter: packages the role may not install are missing.
HOST_CASES = [case for case in molecule_tables('reliability/tests/test_bad_input.py')['ROLE_CASES']
              if case[1] == 'content_filter' and case[0] == 'content_filter_packages']
CASES = cases_of('content_filter') + [
    case for case in molecule_tables('reliability/tests/test_bad_input.py')['ROLE_CASES']
    if case[1] == 'content_filter' and case[0] != 'content_filter_spam_destiny'  # a choice: the argument spec's
    and case not in HOST_CASES
] + [
    ('content_filter_listen_port', 'content_filter', {'content_filter_reinject_port': 10024}),
    ('content_filter_quarantine_dir', 'content_filter', {'content_filter_quarantine_dir': '/var/lib/../../etc'}),
    ('content_filter_quarantine_dir', 'content_filter', {'content_filter_quarantine_dir': 'relative/dir'}),
    ('content_filter_hostname', 'content_filter', {'content_filter_hostname': 'gw'}),
    ('content_filter_hostname', 'content_filter', {'content_filter_hostname': ''}),
    ('content_filter_hostname', 'content_filter', {'content_filter_hostname': 'gw.example.test"; die;'}),
    ('content_filter_spam_kill_level', 'content_filter', {'content_filter_spam_kill_level': '1e999'}),
    ('content_filter_spam_kill_level', 'content_filter', {'content_filter_spam_kill_level': 'nan'}),
    ('content_filter_spam_tag2_level', 'content_filter', {'content_filter_spam_tag2_level': 0.5}),
    ('content_filter_backup_retention', 'content_filter', {'content_filter_backup_retention': 0}),
    ('content_filter_max_servers', 'content_filter', {'content_filter_max_servers': 'two'}),
    ('content_filter_banned_destiny', 'content_filter', {'content_filter_quarantine': ['spam']}),
    ('content_filter_virus_destiny', 'content_filter',
     {'content_filter_quarantine': [], 'content_filter_allow_silent_discard': ['spam', 'banned']}),
    ('content_filter_bad_header_destiny', 'content_filter', {'content_filter_bad_header_destiny': 'drop'}),
    ('content_filter_quarantine', 'content_filter', {'content_filter_quarantine': ['spam', 'junk']}),
    ('content_filter_allow_silent_discard', 'content_filter', {'content_filter_allow_silent_discard': 'spam'}),
    ('content_filter_admin_address', 'content_filter', {'content_filter_admin_address': "root@x'; system('id'); '"}),
    ('content_filter_admin_address', 'content_filter', {'content_filter_admin_address': 'postmaster@'}),
    ('content_filter_log_keep', 'content_filter', {'content_filter_log_keep': 0}),
    ('content_filter_antivirus_failure', 'content_filter', {'content_filter_antivirus_failure': 'ignore'}),
    ('content_filter_clamav_signatures', 'content_filter', {'content_filter_clamav_freshclam': False}),
    ('content_filter_clamav_signatures', 'content_filter', {'content_filter_clamav_signatures': {'../evil.hdb': ['x']}}),
    ('content_filter_clamav_signatures', 'content_filter', {'content_filter_clamav_signatures': {'local.exe': ['x']}}),
    ('content_filter_clamav_signatures', 'content_filter', {'content_filter_clamav_signatures': {'local.hdb': []}}),
    ('content_filter_clamav_signatures', 'content_filter',
     {'content_filter_clamav_signatures': {'local.hdb': ['44d88612fea8a8f36de82e1278abb02f:68']}}),
    ('content_filter_clamav_signatures', 'content_filter',
     {'content_filter_clamav_signatures': {'local.ndb': ['Sig:0:*:4142\nLogFile /etc/passwd']}}),
    ('content_filter_clamav_signatures', 'content_filter', {'content_filter_clamav_signatures': ['local.hdb']}),
    ('content_filter_clamav_private_mirrors', 'content_filter',
     {'content_filter_clamav_private_mirrors': ['ftp://mirror.example.test']}),
    ('content_filter_clamav_private_mirrors', 'content_filter',
     {'content_filter_clamav_private_mirrors': ['http://mirror.example.test/clamav; rm -rf /']}),
    ('content_filter_clamav_private_mirrors', 'content_filter',
     {'content_filter_clamav_private_mirrors': 'http://mirror.example.test'}),
    ('content_filter_clamav_private_mirrors', 'content_filter',
     {'content_filter_clamav_private_mirrors': ['http://mirror.example.test'],
      'content_filter_clamav_official_databases': False,
      'content_filter_clamav_custom_urls': ['https://sigs.example.test/site.hdb']}),
    ('content_filter_clamav_private_mirrors', 'content_filter',
     {'content_filter_clamav_private_mirrors': ['http://mirror.example.test'], 'content_filter_clamav_freshclam': False,
      'content_filter_clamav_signatures': {'local.hdb': ['44d88612fea8a8f36de82e1278abb02f:68:Eicar']}}),
    ('content_filter_clamav_custom_urls', 'content_filter',
     {'content_filter_clamav_custom_urls': ['http://sigs.example.test/site.hdb']}),
    ('content_filter_clamav_custom_urls', 'content_filter',
     {'content_filter_clamav_custom_urls': ['https://sigs.example.test/site.exe']}),
    ('content_filter_clamav_custom_urls', 'content_filter',
     {'content_filter_clamav_custom_urls': ['file:///srv/../etc/site.hdb']}),
    ('content_filter_clamav_custom_urls', 'content_filter',
     {'content_filter_clamav_custom_urls': ['file://relative/site.hdb']}),
    ('content_filter_clamav_custom_urls', 'content_filter',
     {'content_filter_clamav_custom_urls': ['https://a.example.test/site.hdb', 'file:///srv/site.hdb']}),
    ('content_filter_clamav_custom_urls', 'content_filter',
     {'content_filter_clamav_custom_urls': ['https://a.example.test/site.hdb'],
      'content_filter_clamav_signatures': {'site.hdb': ['44d88612fea8a8f36de82e1278abb02f:68:Eicar']}}),
    ('content_filter_clamav_custom_urls', 'content_filter',
     {'content_filter_clamav_custom_urls': ['https://a.example.test/site.hdb'], 'content_filter_antivirus': False}),
    ('content_filter_clamav_official_databases', 'content_filter', {'content_filter_clamav_official_databases': False}),
    ('content_filter_sql_password', 'content_filter', {'content_filter_sql_host': '127.0.0.1'}),
    ('content_filter_sql_password', 'content_filter',
     {'content_filter_sql_host': '127.0.0.1', 'content_filter_sql_password': 'a\nb'}),
    ('content_filter_sql_sslmode', 'content_filter',
     {'content_filter_sql_host': '10.0.0.5', 'content_filter_sql_password': 'pw', 'content_filter_sql_sslmode': 'disable'}),
    ('content_filter_sql_sslmode', 'content_filter',
     {'content_filter_sql_host': '127.0.0.1', 'content_filter_sql_password': 'pw', 'content_filter_sql_sslmode': 'prefer'}),
    ('content_filter_sql_host', 'content_filter',
     {'content_filter_sql_host': "db';host=evil", 'content_filter_sql_password': 'pw'}),
    ('content_filter_sql_user', 'content_filter',
     {'content_filter_sql_host': 'db.example.test', 'content_filter_sql_password': 'pw', 'content_filter_sql_user': 'Q;x'}),
    ('content_filter_sql_database', 'content_filter',
     {'content_filter_sql_host': 'db.example.test', 'content_filter_sql_password': 'pw',
      'content_filter_sql_database': 'quarantine\n'}),
    ('content_filter_sql_port', 'content_filter',
     {'content_filter_sql_host': 'db.example.test', 'content_filter_sql_password': 'pw', 'content_filter_sql_port': 0}),
    ('content_filter_release_port', 'content_filter', {'content_filter_release_port': 9998}),
    ('content_filter_release_port', 'content_filter', {'content_filter_release_port': 10024,
                                                       'content_filter_sql_host': '::1', 'content_filter_sql_password': 'pw'}),
    ('content_filter_release_address', 'content_filter', {'content_filter_release_port': 9998, 'content_filter_sql_host': '::1',
                                                          'content_filter_sql_password': 'pw',
                                                          'content_filter_release_address': '0.0.0.0'}),
    ('content_filter_release_clients', 'content_filter', {'content_filter_release_port': 9998, 'content_filter_sql_host': '::1',
                                                          'content_filter_sql_password': 'pw',
                                                          'content_filter_release_clients': ['10.0.0.0/8']}),
]


@pytest.mark.parametrize('host, sslmode', [('127.0.0.1', 'disable'), ('::1', 'disable'), ('10.0.0.5', 'require'),
                                           ('db.example.test', 'verify-full')])
def test_the_sql_store_passes_with_tls_or_on_this_host(host, sslmode):
    assert content_filter_input_problems(defaults(content_filter_sql_host=host, content_filter_sql_sslmode=sslmode,
                                                  content_filter_sql_password="it's a \\secret")) == []


EICAR_HDB = '44d88612fea8a8f36de82e1278abb02f:68:Eicar-Test-Signature'


def test_signatures_of_our_own_without_freshclam_pass_and_become_clamav_files():
    signatures = {'local.hdb': [EICAR_HDB], 'site.ndb': ['Site.Test:0:*:414243']}
    assert content_filter_input_problems(defaults(content_filter_clamav_freshclam=False,
                                                  content_filter_clamav_signatures=signatures)) == []
    assert clamav_signature_files(signatures, '/var/lib/clamav') == [
        {'dest': '/var/lib/clamav/local.hdb', 'content': EICAR_HDB + '\n', 'owner': 'clamav', 'group': 'clamav',
         'mode': '0644'},
        {'dest': '/var/lib/clamav/site.ndb', 'content': 'Site.Test:0:*:414243\n', 'owner': 'clamav', 'group': 'clamav',
         'mode': '0644'}]


def test_freshclams_sources_pass_and_plain_http_only_where_signed_or_opted_in():
    assert content_filter_input_problems(defaults(
        content_filter_clamav_private_mirrors=['http://mirror.example.test:8000', 'https://m2.example.test/clamav'],
        content_filter_clamav_custom_urls=['https://sigs.example.test/site.ndb', 'file:///srv/sigs/local.hdb'])) == []
    assert content_filter_input_problems(defaults(
        content_filter_clamav_official_databases=False,
        content_filter_clamav_custom_urls=['file:///srv/securemail-signatures/securemail-test.hdb'])) == []
    plain = defaults(content_filter_clamav_custom_urls=['http://sigs.example.test/site.fp'])
    assert content_filter_input_problems(dict(plain, content_filter_clamav_allow_plain_http=True)) == []
    [problem] = content_filter_input_problems(plain)
    assert problem.startswith('content_filter_clamav_custom_urls: http://sigs.example.test/site.fp: ')
    assert 'content_filter_clamav_allow_plain_http' in problem


def test_no_signature_source_is_refused_only_with_virus_checks_on():
    found = content_filter_input_problems(defaults(content_filter_clamav_freshclam=False))
    assert found == ['content_filter_clamav_signatures: clamd has no signatures without freshclam '
                     '(content_filter_clamav_freshclam: false); give signature files, or every message waits in the '
                     'queue']
    assert content_filter_input_problems(defaults(content_filter_clamav_freshclam=False,
                                                  content_filter_antivirus=False)) == []


def test_a_silent_discard_is_refused_with_its_reason_and_allowed_by_its_opt_in():
    problems = content_filter_input_problems(defaults(content_filter_quarantine=['banned', 'virus', 'bad_header']))
    assert problems == ['content_filter_spam_destiny: discard without a quarantine copy loses the message silently; '
                        'add spam to content_filter_quarantine, choose bounce, reject or pass, or list spam in '
                        'content_filter_allow_silent_discard']
    assert content_filter_input_problems(defaults(content_filter_quarantine=['banned', 'virus', 'bad_header'],
                                                  content_filter_allow_silent_discard=['spam'])) == []
    # Not discarded, so nothing is lost: no copy needed.
    assert content_filter_input_problems(defaults(content_filter_quarantine=[], content_filter_spam_destiny='bounce',
                                                  content_filter_banned_destiny='reject',
                                                  content_filter_virus_destiny='pass')) == []


def test_the_defaults_pass():
    assert content_filter_input_problems(defaults()) == []


def test_the_table_has_cases():
    assert len(cases_of('content_filter')) >= 3 and len(CASES) >= 17


@pytest.mark.parametrize('name,role,variables', CASES, ids=['%s-%d' % (c[0], i) for i, c in enumerate(CASES)])
def test_each_case_is_refused_naming_its_variable(name, role, variables):
    problems = content_filter_input_problems(defaults(**variables))
    assert problems, variables
    assert [p for p in problems if p.startswith(name + ' ') or p.startswith(name + ':')], problems


def test_only_the_reason_tested():
    problems = content_filter_input_problems(defaults(content_filter_spam_tag2_level=8,
                                                      content_filter_spam_kill_level=7))
    assert problems == ['content_filter_spam_tag2_level: 8 must not be above content_filter_spam_kill_level (7)']


@pytest.mark.parametrize('value', [3, 3.5, '6.9', '1_0', 100])
def test_numbers_within_bounds_pass(value):
    assert content_filter_input_problems(defaults(content_filter_spam_kill_level=value,
                                                  content_filter_spam_tag2_level=1)) == []


def _render(expression, variables):
    """``expression`` templated as the role's defaults are."""
    from ansible.parsing.dataloader import DataLoader
    from ansible.template import Templar
    try:
        from ansible.template import trust_as_template  # ansible-core 2.19: only trusted text is templated
        expression = trust_as_template(expression)
    except ImportError:
        pass
    return Templar(loader=DataLoader(), variables=variables).template(expression)


@pytest.mark.parametrize('variables, domains', [
    ({}, []),
    ({'postfix_relay_domains': ['example.org', '.example.org', 'example.net']}, ['example.org', 'example.net']),
])
def test_local_domains_default_to_the_postfix_relay_domains(variables, domains):
    with open(os.path.join(ROOT, 'roles', 'content_filter', 'defaults', 'main.yml')) as f:
        default = yaml.safe_load(f)['content_filter_local_domains']
    assert _render(default, variables) == domains


def test_the_host_refused_cases_pass_the_filter():
    # install.yml refuses them from the probe's answer (missing_part_packages, tests/unit/.../test_filter_roles.py).
    assert HOST_CASES
    for _name, _role, variables in HOST_CASES:
        assert content_filter_input_problems(defaults(**variables)) == []
