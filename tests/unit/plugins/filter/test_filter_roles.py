# -*- coding: utf-8 -*-
"""Misspelled role variables and optional parts without their packages (plugins/filter/roles.py,
plugin_utils/role_inputs)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest
import yaml

from ansible.errors import AnsibleFilterError
from ansible_collections.securemail.gateway.plugins.filter.roles import missing_part_packages, role_variable_typos
from ansible_collections.securemail.gateway.plugins.plugin_utils.role_inputs import unknown_variables

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..'))


def spec(role):
    with open(os.path.join(ROOT, 'roles', role, 'meta', 'argument_specs.yml')) as handle:
        return list(yaml.safe_load(handle)['argument_specs']['main']['options'])


def test_a_typo_names_the_closest_variable():
    assert role_variable_typos(['postfix_relay_domain', 'postfix_relay_domains'], spec('postfix'), 'postfix_') == [
        'postfix_relay_domain is not a variable of this role and is ignored (did you mean postfix_relay_domains?)']


@pytest.mark.parametrize('role, typo, meant', [
    ('postfix', 'postfix_relaydomains', 'postfix_relay_domains'),
    ('postfix', 'postfix_mynetwork', 'postfix_mynetworks'),
    ('content_filter', 'content_filter_local_domain', 'content_filter_local_domains'),
    ('postgresql', 'postgresql_listen_address', 'postgresql_listen_addresses'),
    ('quarantine_web', 'quarantine_web_listen_adress', 'quarantine_web_listen_address'),
])
def test_each_role_finds_its_typos(role, typo, meant):
    assert unknown_variables([typo], spec(role), role + '_') == [
        '%s is not a variable of this role and is ignored (did you mean %s?)' % (typo, meant)]


def test_nothing_close_is_still_reported_without_a_guess():
    assert unknown_variables(['postfix_zzz_qqq'], spec('postfix'), 'postfix_') == [
        'postfix_zzz_qqq is not a variable of this role and is ignored']


def test_known_internal_and_other_prefixes_are_not_reported():
    names = ['postfix_mode', 'postfix__dir', 'postfix__typos', 'content_filter_enabled', 'mail_web_port', 'mail_prot']
    assert unknown_variables(names, spec('postfix'), 'postfix_') == []
    # With roles mail and mail_web, mail_web_* belongs to mail_web; mail_prot is mail's typo.
    assert unknown_variables(names, ['mail_port'], 'mail_', ['mail_', 'mail_web_']) == [
        'mail_prot is not a variable of this role and is ignored (did you mean mail_port?)']


def test_sorted_and_unique():
    assert [m.split()[0] for m in unknown_variables(['postfix_b', 'postfix_a', 'postfix_b'], [], 'postfix_')] == [
        'postfix_a', 'postfix_b']


def test_not_a_list_is_refused():
    with pytest.raises(AnsibleFilterError, match='_input must be a list'):
        role_variable_typos('postfix_mode', [], 'postfix_')


def role_parts(role):
    """A role's table of optional parts (vars/main.yml), its templated fields given."""
    with open(os.path.join(ROOT, 'roles', role, 'vars', 'main.yml')) as handle:
        return yaml.safe_load(handle)['%s__parts' % role]


PARTS = [{'variable': 'postfix_maillog', 'enabled': True, 'packages': ['logrotate'], 'why': 'logs to a file',
          'instead': 'log to syslog'},
         {'variable': 'postfix_sender_authentication', 'enabled': 'False', 'packages': ['opendkim'], 'why': 'milters',
          'instead': 'turn it off'},
         {'variable': 'postfix_mta_sts', 'enabled': 'True', 'packages': ['postfix-mta-sts-resolver', 'python3-yaml'],
          'why': 'its daemon', 'instead': 'set postfix_mta_sts: false'}]


def test_a_part_that_is_on_without_its_packages_is_refused_naming_its_variable():
    assert missing_part_packages(PARTS, ['logrotate', 'opendkim', 'postfix-mta-sts-resolver', 'python3-yaml'],
                                 'postfix_install') == [
        'postfix_maillog: logs to a file; logrotate is not installed and postfix_install is false: install it, or '
        'log to syslog',
        'postfix_mta_sts: its daemon; postfix-mta-sts-resolver, python3-yaml are not installed and postfix_install '
        'is false: install them, or set postfix_mta_sts: false']


def test_parts_that_are_off_or_installed_pass():
    assert missing_part_packages(PARTS, ['opendkim', 'unrelated'], 'postfix_install') == []
    assert missing_part_packages([], ['logrotate'], 'postfix_install') == []
    with pytest.raises(AnsibleFilterError):
        missing_part_packages('postfix_maillog', [], 'postfix_install')


@pytest.mark.parametrize('role', ['postfix', 'content_filter'])
def test_a_roles_table_of_parts_names_its_own_variables(role):
    with open(os.path.join(ROOT, 'roles', role, 'defaults', 'main.yml')) as handle:
        defaults = yaml.safe_load(handle)
    parts = role_parts(role)
    assert {part['variable'] for part in parts} <= set(defaults)
    # Each entry has exactly the keys the filter reads (YAML 1.1 reads a key "on" as true).
    assert all(set(part) == {'variable', 'enabled', 'packages', 'why', 'instead'} for part in parts), parts
    assert all(part['packages'] and part['why'] and part['instead'] for part in parts)
