# -*- coding: utf-8 -*-
"""pgsql: SCRAM verifiers as PostgreSQL stores them, and the plan from declared to reported state."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64

import pytest

from ansible_collections.securemail.gateway.plugins.module_utils.pgsql import (
    check_spec, desired_grants, mask, plan, saslprep, scram_verifier, verifier_for)

SALT = base64.b64decode('c2FsdHNhbHRzYWx0c2FsdA==')
SPEC = dict(
    database='quarantine', owner='quarantine',
    roles=[dict(name='quarantine', password=''), dict(name='quarantine_filter', password='f-secret'),
           dict(name='quarantine_web', password='w-secret')],
    migrations=[dict(version=1, name='amavisd storage', sql='CREATE TABLE msgs (x int);')],
    privileges=[dict(role='quarantine_filter', table='msgs', privileges=['SELECT', 'INSERT'], columns=[]),
                dict(role='quarantine_web', table='msgrcpt', privileges=['UPDATE'], columns=['rs'])])


def role(login=True, verifier='', powers=(), member_of=()):
    return dict(login=login, verifier=verifier, powers=list(powers) or [None], member_of=list(member_of))


def matching():
    return {'quarantine': (True, ''), 'quarantine_filter': (True, 'v1'), 'quarantine_web': (True, 'v2')}


def converged():
    server = dict(roles={'quarantine': role(), 'quarantine_filter': role(), 'quarantine_web': role()},
                  owner='quarantine', connect=['quarantine_filter', 'quarantine_web'])
    inside = dict(version=1, tables=['msgs', 'msgrcpt'],
                  grants=[['quarantine_filter', 'msgs', '', 'SELECT'], ['quarantine_filter', 'msgs', '', 'INSERT']],
                  column_grants=[['quarantine_web', 'msgrcpt', 'rs', 'UPDATE']])
    return server, inside


def test_a_verifier_computed_here_is_recognised_and_kept():
    verifier = scram_verifier('pw-Secret-1', SALT)
    assert verifier.startswith('SCRAM-SHA-256$4096:c2FsdHNhbHRzYWx0c2FsdA==$')
    assert verifier_for('pw-Secret-1', verifier) == (True, verifier)
    match, new = verifier_for('another', verifier, salt=SALT)
    assert not match and new == scram_verifier('another', SALT) and new != verifier


# Made by PostgreSQL 15 itself (CREATE ROLE ... PASSWORD, then SELECT rolpassword), so the computation here is
# checked against the server's, not against itself; the second password needs SASLprep (soft hyphen, NFKC).
SERVER_MADE = [
    ('molecule-only-secret', 'SCRAM-SHA-256$4096:/xH+zZnu5GwMxEfH+GIbOg==$F61kc1t8lkq07qbTlbJzANf2+bY47j5bLTwCLGjN8fc='
                             ':txLMpsLliNqyOlkZxPBv0tZbLvdr8ekvgHoi3eq6Dd4='),
    ('I\u00adX caf\u00e9 \u2168', 'SCRAM-SHA-256$4096:ByCkgUl35a+XZbEvCcM5Xg==$p4x4wkHj4mUFZDRJlsaZhAaWdqhbBeuBQoR7r4Ro5Lk='
                                  ':yixYtAtwvqNdAuQYWTOFObMORmRDIB+/+VK4CI8f1Ao='),
]


@pytest.mark.parametrize('password, stored', SERVER_MADE)
def test_a_verifier_made_by_postgresql_matches_its_password(password, stored):
    assert verifier_for(password, stored) == (True, stored)
    assert not verifier_for(password + 'x', stored)[0]
    salt = base64.b64decode(stored.split('$')[1].split(':')[1])
    assert scram_verifier(password, salt) == stored


def test_no_password_means_no_verifier():
    assert verifier_for('', '') == (True, '')
    assert verifier_for('', 'SCRAM-SHA-256$4096:abc$def:ghi') == (False, '')


def test_an_md5_hash_is_replaced_by_a_verifier():
    match, new = verifier_for('pw', 'md5' + '0' * 32, salt=SALT)
    assert not match and new.startswith('SCRAM-SHA-256$')


def test_saslprep_maps_and_normalises_like_libpq():
    assert saslprep('plain ascii') == 'plain ascii'
    assert saslprep('I\u00adX') == 'IX'            # soft hyphen maps to nothing
    assert saslprep('\u2168') == 'IX'               # NFKC
    assert saslprep('a\u00a0b') == 'a b'            # non-ASCII space becomes a space
    assert saslprep('a\u0007b') == 'a\u0007b'       # ASCII control: used as is
    assert saslprep('\u0627\u0031') == '\u0627\u0031'  # bidi rule broken: used raw


def test_the_mask_hides_every_verifier():
    assert mask('ERROR: x SCRAM-SHA-256$4096:abc$def:ghi; at') == 'ERROR: x SCRAM-SHA-256$<masked> at'


def test_a_fresh_server_gets_everything_in_order():
    fresh = {'quarantine': (True, ''), 'quarantine_filter': (False, 'V1'), 'quarantine_web': (False, 'V2')}
    actions, outside, within = plan(SPEC, {}, None, fresh)
    assert outside == [
        'CREATE ROLE "quarantine" LOGIN;',
        'CREATE ROLE "quarantine_filter" LOGIN;',
        "ALTER ROLE \"quarantine_filter\" PASSWORD 'V1';",
        'CREATE ROLE "quarantine_web" LOGIN;',
        "ALTER ROLE \"quarantine_web\" PASSWORD 'V2';",
        'CREATE DATABASE "quarantine" OWNER "quarantine" TEMPLATE template0 ENCODING UTF8;',
        'REVOKE CONNECT, TEMPORARY ON DATABASE "quarantine" FROM PUBLIC;',
        'GRANT CONNECT ON DATABASE "quarantine" TO "quarantine_filter";',
        'GRANT CONNECT ON DATABASE "quarantine" TO "quarantine_web";']
    assert within[0] == 'SET ROLE "quarantine";' and within[1].startswith('CREATE TABLE IF NOT EXISTS public.securemail_schema')
    assert within[2:5] == ['CREATE TABLE msgs (x int);',
                           "INSERT INTO public.securemail_schema (version, name) VALUES (1, 'amavisd storage');",
                           'RESET ROLE;']
    assert within[5:] == ['GRANT INSERT ON msgs TO "quarantine_filter";', 'GRANT SELECT ON msgs TO "quarantine_filter";',
                          'GRANT UPDATE (rs) ON msgrcpt TO "quarantine_web";']
    assert 'migrate the schema to version 1 (amavisd storage)' in actions
    # No secret in what is shown.
    assert not any('V1' in a or 'V2' in a for a in actions)


def test_a_converged_server_needs_nothing():
    server, inside = converged()
    assert plan(SPEC, server, inside, matching()) == ([], [], [])


def test_a_newer_version_runs_only_the_newer_migrations():
    server, inside = converged()
    spec = dict(SPEC, migrations=SPEC['migrations'] + [dict(version=2, name='users', sql='CREATE TABLE users (x int)')])
    actions, outside, within = plan(spec, server, inside, matching())
    assert actions == ['migrate the schema to version 2 (users)'] and outside == []
    assert within == ['SET ROLE "quarantine";', 'CREATE TABLE users (x int);',
                      "INSERT INTO public.securemail_schema (version, name) VALUES (2, 'users');", 'RESET ROLE;']


def test_extra_privileges_and_powers_are_taken_away():
    server, inside = converged()
    server['roles']['quarantine_filter'] = role(powers=['rolsuper', None, 'rolcreatedb'], member_of=['quarantine'])
    server['connect'].append('PUBLIC')
    inside['grants'] += [['quarantine_filter', 'msgs', '', 'DELETE'], ['PUBLIC', 'msgs', '', 'SELECT']]
    inside['column_grants'] += [['quarantine_web', 'msgrcpt', 'ds', 'UPDATE']]
    actions, outside, within = plan(SPEC, server, inside, matching())
    assert outside == ['ALTER ROLE "quarantine_filter" NOSUPERUSER NOCREATEDB;',
                       'REVOKE "quarantine" FROM "quarantine_filter";',
                       'REVOKE CONNECT, TEMPORARY ON DATABASE "quarantine" FROM PUBLIC;']
    assert within == ['REVOKE SELECT ON msgs FROM PUBLIC;', 'REVOKE DELETE ON msgs FROM "quarantine_filter";',
                      'REVOKE UPDATE (ds) ON msgrcpt FROM "quarantine_web";']
    assert 'revoke DELETE on msgs from quarantine_filter' in actions


def test_grants_of_roles_the_module_does_not_manage_are_left_alone():
    server, inside = converged()
    inside['grants'].append(['reporting', 'msgs', '', 'SELECT'])
    assert plan(SPEC, server, inside, matching()) == ([], [], [])


def test_a_changed_password_and_a_wrong_owner_are_fixed():
    server, inside = converged()
    server['owner'] = 'postgres'
    verifiers = dict(matching(), quarantine_web=(False, 'NEW'))
    actions, outside, within = plan(SPEC, server, inside, verifiers)
    assert actions == ['set the password of quarantine_web', 'change the owner of quarantine to quarantine']
    assert outside == ["ALTER ROLE \"quarantine_web\" PASSWORD 'NEW';",
                       'ALTER DATABASE "quarantine" OWNER TO "quarantine";']


def test_desired_grants_expand_columns():
    assert desired_grants(SPEC['privileges']) == {('quarantine_filter', 'msgs', '', 'SELECT'),
                                                  ('quarantine_filter', 'msgs', '', 'INSERT'),
                                                  ('quarantine_web', 'msgrcpt', 'rs', 'UPDATE')}


@pytest.mark.parametrize('change, message', [
    (dict(database='q; DROP'), "database: 'q; DROP' is not a lower-case SQL identifier"),
    (dict(database='quarantine\n'), "database: 'quarantine\\n' is not a lower-case SQL identifier"),
    (dict(owner='nobody'), "owner: 'nobody' must also be in roles"),
    (dict(roles=SPEC['roles'] + [dict(name='quarantine_web', password='')]), 'roles: a name is given twice: quarantine_web'),
    (dict(roles=[dict(name='quarantine', password='a\nb')] + SPEC['roles'][1:]), 'roles[quarantine].password: contains a newline'),
    (dict(migrations=[dict(version=2, name='b', sql=''), dict(version=1, name='a', sql='')]),
     'migrations: versions must be positive, unique and in ascending order'),
    (dict(privileges=[dict(role='quarantine', table='msgs', privileges=['SELECT'])]),
     "privileges: role 'quarantine' must be one of roles, not the owner"),
    (dict(privileges=[dict(role='quarantine_web', table='msgs', privileges=['ALL'])]),
     'privileges: ALL on msgs: not one of'),
    (dict(privileges=[dict(role='quarantine_web', table='msgs', privileges=['DELETE'], columns=['rs'])]),
     'privileges: DELETE on msgs (columns): not one of'),
])
def test_a_bad_declaration_is_refused_with_its_reason(change, message):
    spec = dict(SPEC, **change)
    errors = check_spec(spec['database'], spec['owner'], spec['roles'], spec['migrations'], spec['privileges'])
    assert any(e.startswith(message) for e in errors), errors


def test_the_declaration_of_the_role_passes():
    assert check_spec(SPEC['database'], SPEC['owner'], SPEC['roles'], SPEC['migrations'], SPEC['privileges']) == []
