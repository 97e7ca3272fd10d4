# -*- coding: utf-8 -*-
"""The one decision behind tls_selfsigned and the tls_in_place filter (module_utils/path_facts.private_tls_*)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.securemail.gateway.plugins.module_utils.path_facts import private_tls_changes, private_tls_problem


def facts(kind, mode=None, owner='root', group='root', path='/x'):
    resolves = kind in ('dir', 'file', 'fifo')
    return {'path': path, 'exists': kind != 'missing', 'isdir': kind == 'dir', 'isreg': kind == 'file',
            'mode': mode if resolves else None, 'pw_name': owner if resolves else None,
            'gr_name': group if resolves else None}


DIR, CERT, KEY, MISSING = facts('dir', '0700'), facts('file', '0644'), facts('file', '0600'), facts('missing')


@pytest.mark.parametrize('directory, cert, key, changes', [
    (DIR, None, None, []),
    (DIR, CERT, KEY, []),
    (MISSING, None, None, ['directory created']),
    (MISSING, MISSING, MISSING, ['directory created', 'pair created']),
    (facts('dir', '0755'), CERT, KEY, ['directory mode or owner fixed']),
    (facts('dir', '0700', 'postfix'), CERT, KEY, ['directory mode or owner fixed']),
    (DIR, CERT, MISSING, ['pair created']),
    (DIR, MISSING, KEY, ['pair created']),
    (DIR, facts('dangling'), KEY, ['pair created']),     # a symlink to nothing opens nothing
    (DIR, CERT, facts('file', '0644'), ['key mode or owner fixed']),
    (DIR, CERT, facts('file', '0600', 'root', 'ssl-cert'), ['key mode or owner fixed']),
    (facts('dir', '0711'), CERT, facts('file', '0640'), ['directory mode or owner fixed', 'key mode or owner fixed']),
])
def test_changes(directory, cert, key, changes):
    assert private_tls_changes(directory, cert, key) == changes
    assert private_tls_problem(directory, cert, key) == ''


@pytest.mark.parametrize('directory, cert, key, words', [
    (facts('file', '0700', path='/etc/postfix/tls'), None, None, 'path: /etc/postfix/tls exists and is not a directory'),
    (DIR, facts('dir', '0755', path='/d/site.crt'), KEY, 'cert: /d/site.crt is not a regular file'),
    (DIR, CERT, facts('fifo', '0600', path='/d/site.key'), 'key: /d/site.key is not a regular file'),
])
def test_problems(directory, cert, key, words):
    assert private_tls_problem(directory, cert, key) == words
