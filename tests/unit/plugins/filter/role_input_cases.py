# -*- coding: utf-8 -*-
"""Shared by the postgresql and quarantine_web input tests.

The roles' own files (defaults, derived vars), the issue-12 case table
(molecule/reliability/tests/dangerous_others.py) and a gateway as that table's
SETUP leaves it, seen the way securemail.gateway.path_facts reports it: the
probe result tasks/validate.yml hands to the filters.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ast
import importlib.util
import os
import re

import pytest
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..'))


def _table(name):
    path = os.path.join(ROOT, 'molecule', 'reliability', 'tests', name + '.py')
    spec = importlib.util.spec_from_file_location(name, path)
    table = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(table)
    return table


dangerous_others = _table('dangerous_others')
D = dangerous_others


def molecule_tables(path):
    """The names molecule/PATH defines, without importing it (and the fixtures it imports).

    Runs the file's module-level imports, assignments and function
    definitions, leaving out what fails (its helpers from conftest_lib).
    """
    with open(os.path.join(ROOT, 'molecule', path)) as handle:
        tree = ast.parse(handle.read())
    namespace = {'__file__': os.path.join(ROOT, 'molecule', path)}
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom, ast.Assign, ast.FunctionDef)):
            try:
                exec(compile(ast.Module(body=[node], type_ignores=[]), path, 'exec'), namespace)  # pylint: disable=exec-used
            except (ImportError, NameError, OSError):
                continue
    return namespace


def role_file(role, kind):
    """roles/ROLE/KIND/main.yml, as YAML (templates stay strings)."""
    with open(os.path.join(ROOT, 'roles', role, kind, 'main.yml')) as handle:
        return yaml.safe_load(handle)


def cases_of(role):
    return [case for case in D.CASES if case[1] == role]


def opt_ins_of(role):
    return [(refused, opt_in) for name, refused, opt_in in D.OPT_INS if name == role]


def by_case(cases):
    """Parametrize a test with (name, variables) cases, each known by its variable and place."""
    return pytest.mark.parametrize('name,variables', [(c[0], c[-1]) for c in cases],
                                   ids=['%s-%d' % (c[0], i) for i, c in enumerate(cases)])


def assert_refused(found, name, role):
    """Refused, the first message naming ``name`` (what a run stops at), every message 'ROLE_variable: reason'."""
    assert found and found[0].startswith(name + ': '), found
    assert [m for m in found if not re.match('%s_[a-z_]+: ' % role, m)] == [], found


def through_opt_in(check, warn, refused, opt_in):
    """The warnings once ``opt_in`` lets ``refused`` through (``check`` refuses it alone, passes it opted in)."""
    assert check(refused), refused
    values = dict(refused, **opt_in)
    assert check(values) == [], values
    return warn(values)


def facts(path, kind=None, mode='0600', owner='root', group='root', real=None, link=False):
    """What path_facts reports for ``path``: ``kind`` file or dir (after symlinks), None for nothing there."""
    there = kind is not None
    return dict(path=path, exists=there or link, islnk=link, isreg=kind == 'file', isdir=kind == 'dir', issock=False,
                real=real or path, mode=mode if there else None, pw_name=owner if there else None,
                gr_name=group if there else None)


# The gateway after dangerous_others.SETUP (with Debian's snakeoil pair and
# an installed PostgreSQL 15); every other path does not exist.
HOST = dict((f['path'], f) for f in [
    facts(D.SNAKEOIL_CERT, 'file', '0644'),
    facts(D.SNAKEOIL_KEY, 'file', '0640', group='ssl-cert'),
    facts(D.KEY_0644, 'file', '0644'),
    facts(D.KEY_0640_ROOT, 'file', '0640'),
    facts(D.KEY_WWW_DATA, 'file', '0600', owner='www-data', group='www-data'),
    facts(D.ROOT_LINK, 'dir', '0700', real='/root', link=True),
    facts(D.NOT_A_DIR, 'file', '0644'),
    facts('/root', 'dir', '0700'),
    facts('/var/www', 'dir', '0755'),
    facts('/srv', 'dir', '0755'),
    facts('/usr/lib/postgresql/15/bin/postgres', 'file', '0755'),
    facts('/etc/postgresql/15/main/postgresql.conf', 'file', '0644', owner='postgres', group='postgres'),
])
# SETUP copies the snakeoil key: each copy belongs to the snakeoil certificate.
MATCHING = set((D.SNAKEOIL_CERT, key) for key in (D.SNAKEOIL_KEY, D.KEY_0644, D.KEY_0640_ROOT, D.KEY_WWW_DATA))


def probe(paths, key_pairs=None, host=None, matching=None):
    """The result path_facts returns on ``host`` (path -> facts, HOST by default) for these arguments."""
    host = HOST if host is None else host
    matching = MATCHING if matching is None else matching
    found = dict((name, dict(host.get(path) or facts(path), path=path)) for name, path in paths.items())
    pairs = {}
    for name, pair in (key_pairs or {}).items():
        missing = [p for p in (pair['cert'], pair['key']) if not (host.get(p) or {}).get('isreg')]
        pairs[name] = (dict(match=None, error='%s is not a regular file' % missing[0]) if missing
                       else dict(match=(pair['cert'], pair['key']) in matching, error=''))
    return dict(changed=False, paths=found, key_pairs=pairs)
