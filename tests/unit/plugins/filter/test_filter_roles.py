# -*- coding: utf-8 -*-
"""Misspelled role variables (plugins/filter/roles.py, plugin_utils/role_inputs.unknown_variables)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest
import yaml

from ansible.errors import AnsibleFilterError
from ansible_collections.securemail.gateway.plugins.filter.roles import role_variable_typos
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
