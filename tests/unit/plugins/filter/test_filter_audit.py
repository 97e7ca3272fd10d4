# -*- coding: utf-8 -*-
"""The audit's file entries for exposure_check (plugins/filter/audit.py)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.securemail.gateway.plugins.filter.audit import path_entries


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
