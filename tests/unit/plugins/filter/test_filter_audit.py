# -*- coding: utf-8 -*-
"""The audit's file entries for exposure_check (plugins/filter/audit.py)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.securemail.gateway.plugins.filter.audit import path_entries, pg_sessions


def test_each_path_becomes_an_entry_naming_its_service_and_purpose():
    assert path_entries(['/etc/ssl/private/a.key', '/etc/dkim "odd" name.key'], 'opendkim', 'DKIM') == [
        {'service': 'opendkim', 'path': '/etc/ssl/private/a.key', 'purpose': 'DKIM'},
        {'service': 'opendkim', 'path': '/etc/dkim "odd" name.key', 'purpose': 'DKIM'}]
    assert path_entries(['/var/www/q'], 'quarantine web') == [{'service': 'quarantine web', 'path': '/var/www/q'}]
    assert path_entries([], 'postfix') == []


@pytest.mark.parametrize('paths', ['/etc/ssl/private/a.key', [1], None])
def test_anything_but_a_list_of_paths_is_an_error(paths):
    with pytest.raises(AnsibleFilterError):
        path_entries(paths, 'postfix')


def test_pg_sessions_names_each_session_once_and_the_remote_ones_in_clear():
    rows = [{'user': 'quarantine_filter', 'database': 'quarantine', 'address': '10.0.0.11', 'ssl': True},
            {'user': 'quarantine_filter', 'database': 'quarantine', 'address': '10.0.0.11', 'ssl': True},
            {'user': 'quarantine_web', 'database': 'quarantine', 'address': '127.0.0.1', 'ssl': False},
            {'user': 'quarantine', 'database': 'quarantine', 'address': '10.0.0.12', 'ssl': False}]
    assert pg_sessions(rows) == {
        'sessions': ['quarantine_filter@10.0.0.11/quarantine (tls true)', 'quarantine_web@127.0.0.1/quarantine (tls false)',
                     'quarantine@10.0.0.12/quarantine (tls false)'],
        'remote_in_clear': ['10.0.0.12']}
    assert pg_sessions([]) == {'sessions': [], 'remote_in_clear': []}


def test_pg_sessions_refuses_what_is_not_a_list_of_rows():
    with pytest.raises(AnsibleFilterError):
        pg_sessions('quarantine_filter@10.0.0.11')
