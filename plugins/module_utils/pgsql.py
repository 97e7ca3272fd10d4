# -*- coding: utf-8 -*-
# Copyright: securemail.gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The quarantine database as declared: login roles, database, schema
migrations and privileges, compared with what the server reports.

Pure functions (no server, no psql): the module pg_quarantine asks the server
with the queries built here and runs the statements planned here. Names are
checked identifiers, so they are quoted inline; a password only ever reaches
the server as a SCRAM-SHA-256 verifier, in statements sent on stdin.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import hmac
import os
import re
import stringprep
import unicodedata

# Unquoted, lower case, at most NAMEDATALEN - 1 bytes; \Z, as $ would let a trailing newline through.
IDENTIFIER = re.compile(r'^[a-z_][a-z0-9_]{0,62}\Z')
# The privileges a table or sequence grant may name (PostgreSQL's names).
PRIVILEGES = ('SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER', 'USAGE')
COLUMN_PRIVILEGES = ('SELECT', 'INSERT', 'UPDATE', 'REFERENCES')
# Role attributes a login role of the quarantine never needs.
POWERS = ('rolsuper', 'rolcreatedb', 'rolcreaterole', 'rolreplication', 'rolbypassrls')
POWER_OFF = {'rolsuper': 'NOSUPERUSER', 'rolcreatedb': 'NOCREATEDB', 'rolcreaterole': 'NOCREATEROLE',
             'rolreplication': 'NOREPLICATION', 'rolbypassrls': 'NOBYPASSRLS'}
SCHEMA_TABLE = 'securemail_schema'
ITERATIONS = 4096  # PostgreSQL's scram_iterations default
PUBLIC = 'PUBLIC'


def check_spec(database, owner, roles, migrations, privileges):
    """Error messages for a declaration the module must refuse (empty: fine)."""
    errors = []
    for what, name in [('database', database), ('owner', owner)] + [('roles[].name', r['name']) for r in roles]:
        if not IDENTIFIER.match(name or ''):
            errors.append('%s: %r is not a lower-case SQL identifier' % (what, name))
    names = [r['name'] for r in roles]
    if len(set(names)) != len(names):
        errors.append('roles: a name is given twice: %s' % ', '.join(sorted(set(n for n in names if names.count(n) > 1))))
    if owner not in names:
        errors.append('owner: %r must also be in roles' % owner)
    for r in roles:
        if '\n' in (r.get('password') or '') or '\0' in (r.get('password') or ''):
            errors.append('roles[%s].password: contains a newline or NUL' % r['name'])
    versions = [m['version'] for m in migrations]
    if versions != sorted(set(versions)) or any(v < 1 for v in versions):
        errors.append('migrations: versions must be positive, unique and in ascending order, not %s' % versions)
    for p in privileges:
        if p['role'] not in names or p['role'] == owner:
            errors.append('privileges: role %r must be one of roles, not the owner' % p['role'])
        if not IDENTIFIER.match(p['table'] or ''):
            errors.append('privileges: table %r is not a lower-case SQL identifier' % p['table'])
        allowed = COLUMN_PRIVILEGES if p.get('columns') else PRIVILEGES
        bad = [x for x in p['privileges'] if x not in allowed]
        if bad:
            errors.append('privileges: %s on %s%s: not one of %s' % (', '.join(bad), p['table'],
                                                                     ' (columns)' if p.get('columns') else '',
                                                                     ', '.join(allowed)))
        for c in p.get('columns') or []:
            if not IDENTIFIER.match(c):
                errors.append('privileges: column %r of %s is not a lower-case SQL identifier' % (c, p['table']))
    return errors


def _in_list(names):
    return ', '.join("'%s'" % n for n in names)


def server_query(database, role_names):
    """One JSON object: the roles, the database's owner and who may connect."""
    return """SELECT json_build_object(
  'roles', (SELECT coalesce(json_object_agg(rolname, json_build_object(
              'login', rolcanlogin, 'verifier', coalesce(rolpassword, ''),
              'powers', json_build_array(%(powers)s),
              'member_of', (SELECT coalesce(json_agg(pg_get_userbyid(m.roleid) ORDER BY 1), '[]')
                            FROM pg_auth_members m WHERE m.member = a.oid))), '{}')
            FROM pg_authid a WHERE rolname IN (%(names)s)),
  'owner', (SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '%(db)s'),
  'connect', (SELECT coalesce(json_agg(DISTINCT CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(g.grantee) END), '[]')
              FROM pg_database d, aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) g
              WHERE d.datname = '%(db)s' AND g.privilege_type IN ('CONNECT', 'TEMPORARY')
                AND g.grantee <> d.datdba));
""" % dict(db=database, names=_in_list(role_names),
           powers=', '.join("CASE WHEN %s THEN '%s' END" % (p, p) for p in POWERS))


def database_query(grantees):
    """One JSON object from inside the database: schema version and grants.

    The version table may not exist yet, so it is read through query_to_xml,
    which is only parsed when the CASE reaches it."""
    return """SELECT json_build_object(
  'version', CASE WHEN to_regclass('public.%(table)s') IS NULL THEN 0 ELSE
               (xpath('/row/v/text()', query_to_xml('SELECT coalesce(max(version), 0) AS v FROM public.%(table)s',
                                                      false, true, '')))[1]::text::int END,
  'tables', (SELECT coalesce(json_agg(c.relname), '[]') FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'public' AND c.relkind IN ('r', 'S', 'v', 'p')),
  'grants', (SELECT coalesce(json_agg(json_build_array(
                CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(g.grantee) END, c.relname, '', g.privilege_type)), '[]')
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, aclexplode(c.relacl) g
             WHERE n.nspname = 'public' AND (g.grantee = 0 OR pg_get_userbyid(g.grantee) IN (%(names)s))),
  'column_grants', (SELECT coalesce(json_agg(json_build_array(
                CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(g.grantee) END, c.relname, t.attname,
                g.privilege_type)), '[]')
             FROM pg_attribute t JOIN pg_class c ON c.oid = t.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace,
                  aclexplode(t.attacl) g
             WHERE n.nspname = 'public' AND t.attacl IS NOT NULL
               AND (g.grantee = 0 OR pg_get_userbyid(g.grantee) IN (%(names)s))));
""" % dict(table=SCHEMA_TABLE, names=_in_list(grantees))


def desired_grants(privileges):
    """(grantee, table, column or '', privilege) tuples the declaration wants."""
    wanted = set()
    for p in privileges:
        for priv in p['privileges']:
            for column in (p.get('columns') or ['']):
                wanted.add((p['role'], p['table'], column, priv))
    return wanted


def plan(spec, server, inside, verifiers):
    """What to change, as (actions, statements outside the database, statements inside it).

    spec: {database, owner, roles: [{name}], migrations: [{version, name, sql}], privileges}
    server: server_query's answer; inside: database_query's answer, or None
    when the database does not exist yet; verifiers: {role: (match, verifier)}.
    """
    actions, outside, within = [], [], []
    db, owner = spec['database'], spec['owner']
    roles = server.get('roles') or {}
    for r in spec['roles']:
        name = r['name']
        now = roles.get(name)
        if now is None:
            actions.append('create role %s' % name)
            outside.append('CREATE ROLE "%s" LOGIN;' % name)
        else:
            if not now['login']:
                actions.append('allow %s to log in' % name)
                outside.append('ALTER ROLE "%s" LOGIN;' % name)
            powers = [p for p in now.get('powers') or [] if p]
            if powers:
                actions.append('take %s from %s' % (', '.join(POWER_OFF[p] for p in powers), name))
                outside.append('ALTER ROLE "%s" %s;' % (name, ' '.join(POWER_OFF[p] for p in powers)))
            for parent in now.get('member_of') or []:
                actions.append('revoke membership of %s in %s' % (name, parent))
                outside.append('REVOKE "%s" FROM "%s";' % (parent, name))
        match, verifier = verifiers[name]
        if not match:
            actions.append('set the password of %s' % name if verifier else 'remove the password of %s' % name)
            outside.append('ALTER ROLE "%s" PASSWORD %s;' % (name, ("'%s'" % verifier) if verifier else 'NULL'))
    current_owner = server.get('owner')
    if current_owner is None:
        actions.append('create database %s' % db)
        outside.append('CREATE DATABASE "%s" OWNER "%s" TEMPLATE template0 ENCODING UTF8;' % (db, owner))
    elif current_owner != owner:
        actions.append('change the owner of %s to %s' % (db, owner))
        outside.append('ALTER DATABASE "%s" OWNER TO "%s";' % (db, owner))
    connect = set(server.get('connect') or []) if current_owner is not None else {PUBLIC}
    if PUBLIC in connect:
        actions.append('revoke connect on %s from PUBLIC' % db)
        outside.append('REVOKE CONNECT, TEMPORARY ON DATABASE "%s" FROM PUBLIC;' % db)
    needs_connect = sorted(set(p['role'] for p in spec['privileges']))
    for name in needs_connect:
        if name not in connect or current_owner is None:
            actions.append('grant connect on %s to %s' % (db, name))
            outside.append('GRANT CONNECT ON DATABASE "%s" TO "%s";' % (db, name))
    for name in sorted(connect - set(needs_connect) - {PUBLIC, owner}):
        if name in roles or name in [r['name'] for r in spec['roles']]:
            actions.append('revoke connect on %s from %s' % (db, name))
            outside.append('REVOKE CONNECT, TEMPORARY ON DATABASE "%s" FROM "%s";' % (db, name))

    version = (inside or {}).get('version') or 0
    pending = [m for m in spec['migrations'] if m['version'] > version]
    if pending:
        within.append('SET ROLE "%s";' % owner)
        if version == 0:
            within.append('CREATE TABLE IF NOT EXISTS public.%s (version integer PRIMARY KEY, name text NOT NULL,'
                          ' applied timestamp with time zone NOT NULL DEFAULT now());' % SCHEMA_TABLE)
        for m in pending:
            actions.append('migrate the schema to version %d (%s)' % (m['version'], m['name']))
            within.append(m['sql'].rstrip().rstrip(';') + ';')
            within.append("INSERT INTO public.%s (version, name) VALUES (%d, '%s');"
                          % (SCHEMA_TABLE, m['version'], m['name'].replace("'", "''")))
        within.append('RESET ROLE;')

    wanted = desired_grants(spec['privileges'])
    have = set(tuple(g) for g in (inside or {}).get('grants') or []) | set(
        tuple(g) for g in (inside or {}).get('column_grants') or [])
    managed = set(r['name'] for r in spec['roles']) - {owner} | {PUBLIC}
    for grantee, table, column, priv in sorted(wanted - have):
        actions.append('grant %s%s on %s to %s' % (priv, ' (%s)' % column if column else '', table, grantee))
        within.append('GRANT %s%s ON %s TO "%s";' % (priv, ' (%s)' % column if column else '', table, grantee))
    for grantee, table, column, priv in sorted(have - wanted):
        if grantee not in managed:
            continue
        target = grantee if grantee == PUBLIC else '"%s"' % grantee
        actions.append('revoke %s%s on %s from %s' % (priv, ' (%s)' % column if column else '', table, grantee))
        within.append('REVOKE %s%s ON %s FROM %s;' % (priv, ' (%s)' % column if column else '', table, target))
    return actions, outside, within


def saslprep(text):
    """What libpq does to a password before hashing it (RFC 4013 through
    pg_saslprep): ASCII is used as is, and a string SASLprep rejects is used raw."""
    if all(ord(c) < 128 for c in text):
        return text
    mapped = ''.join(' ' if stringprep.in_table_c12(c) else c for c in text if not stringprep.in_table_b1(c))
    norm = unicodedata.normalize('NFKC', mapped)
    prohibited = (stringprep.in_table_c12, stringprep.in_table_c21_c22, stringprep.in_table_c3,
                  stringprep.in_table_c4, stringprep.in_table_c5, stringprep.in_table_c6,
                  stringprep.in_table_c7, stringprep.in_table_c8, stringprep.in_table_c9,
                  stringprep.in_table_a1)
    if not norm or any(check(c) for c in norm for check in prohibited):
        return text
    if any(stringprep.in_table_d1(c) for c in norm):
        if any(stringprep.in_table_d2(c) for c in norm):
            return text
        if not (stringprep.in_table_d1(norm[0]) and stringprep.in_table_d1(norm[-1])):
            return text
    return norm


def scram_keys(password, salt, iterations):
    salted = hashlib.pbkdf2_hmac('sha256', saslprep(password).encode('utf-8'), salt, iterations)
    client_key = hmac.new(salted, b'Client Key', hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b'Server Key', hashlib.sha256).digest()
    return stored_key, server_key


def _b64(data):
    return base64.b64encode(data).decode('ascii')


def scram_verifier(password, salt, iterations=ITERATIONS):
    stored, server = scram_keys(password, salt, iterations)
    return 'SCRAM-SHA-256$%d:%s$%s:%s' % (iterations, _b64(salt), _b64(stored), _b64(server))


def verifier_for(password, current, salt=None):
    """(match, verifier to store): whether the stored verifier belongs to the
    password, and when it does not, a new one (empty password: no password)."""
    if not password:
        return current == '', ''
    found = re.match(r'^SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)$', current or '')
    if found:
        stored, server = scram_keys(password, base64.b64decode(found.group(2)), int(found.group(1)))
        if hmac.compare_digest(_b64(stored), found.group(3)) and hmac.compare_digest(_b64(server), found.group(4)):
            return True, current
    return False, scram_verifier(password, salt or os.urandom(16))


def mask(text):
    """psql's error text with any SCRAM verifier masked."""
    return re.sub(r'SCRAM-SHA-256\$\S*', 'SCRAM-SHA-256$<masked>', text)
