#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: securemail.gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: pg_quarantine
short_description: Keep the quarantine database, its login roles, its schema and their privileges as declared
version_added: 0.2.0
description:
  - Talks to the running PostgreSQL server with C(psql) only (no Python driver is needed on the host), over the Unix
    socket as a superuser, on the port the server really runs on (line 4 of C(postmaster.pid) in O(data_dir)).
  - "One read outside the database and one inside it; then, only when something differs: creates or fixes the
    login roles (login allowed; superuser, createdb, createrole, replication, bypassrls and memberships taken away;
    the password), creates the database owned by O(owner) or gives it back to O(owner), takes C(CONNECT) and
    C(TEMPORARY) from C(PUBLIC) and gives C(CONNECT) to each role named in O(privileges)."
  - Inside the database, in one transaction, runs the O(migrations) newer than the version recorded in the table
    C(securemail_schema) (as O(owner), so the owner owns what they create), and grants and revokes table, sequence
    and column privileges until the roles named in O(roles) (other than the owner) and C(PUBLIC) hold exactly
    O(privileges) on the tables of schema C(public). A failed statement rolls the whole transaction back.
  - Passwords reach the server only as SCRAM-SHA-256 verifiers, in statements sent on standard input; a stored
    verifier that belongs to the password is kept, so a second run changes nothing.
author:
  - securemail.gateway developers (@securemail)
options:
  psql:
    description:
      - The command that runs C(psql) as a database superuser over the Unix socket, without C(-p) and C(-d), for
        example C([runuser, -u, postgres, --, /usr/lib/postgresql/15/bin/psql, -X, -q, -A, -t, -v, ON_ERROR_STOP=1,
        -h, /var/run/postgresql]). The module adds the port and the database.
    type: list
    elements: str
    required: true
  data_dir:
    description: The cluster's data directory, where C(postmaster.pid) says whether and on which port it runs.
    type: path
    required: true
  database:
    description: The database's name, a lower-case SQL identifier.
    type: str
    required: true
  owner:
    description: The role that owns the database and everything O(migrations) create. Must be one of O(roles).
    type: str
    required: true
  roles:
    description: The login roles of the database, the owner included.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The role's name, a lower-case SQL identifier.
        type: str
        required: true
      password:
        description: Its password. Empty, the role has none and cannot log in with one.
        type: str
        default: ''
  migrations:
    description:
      - The schema's versions, ascending. Each one newer than the recorded version runs once, in order, as O(owner).
    type: list
    elements: dict
    default: []
    suboptions:
      version:
        description: A positive integer, recorded in C(securemail_schema) once applied.
        type: int
        required: true
      name:
        description: What the version brings, recorded beside it.
        type: str
        required: true
      sql:
        description: The statements.
        type: str
        required: true
  privileges:
    description:
      - Every privilege a role other than the owner holds on a table or sequence of schema C(public). Any other
        such privilege of these roles or of C(PUBLIC) is revoked.
    type: list
    elements: dict
    default: []
    suboptions:
      role:
        description: One of O(roles), not the owner.
        type: str
        required: true
      table:
        description: A table or sequence.
        type: str
        required: true
      privileges:
        description: C(SELECT), C(INSERT), C(UPDATE), C(DELETE), C(TRUNCATE), C(REFERENCES), C(TRIGGER) or C(USAGE).
        type: list
        elements: str
        required: true
      columns:
        description: Only on these columns (C(SELECT), C(INSERT), C(UPDATE) or C(REFERENCES)).
        type: list
        elements: str
        default: []
notes:
  - In check mode nothing is sent but the two reads; a server that does not run yet (a fresh host) has nothing, so
    every change is predicted.
seealso:
  - module: community.postgresql.postgresql_privs
attributes:
  check_mode:
    description: Reads the server and reports every change a real run would make.
    support: full
  diff_mode:
    description: The actions, before (none) and after.
    support: full
'''

EXAMPLES = r'''
- name: The quarantine database, amavisd's tables and two least-privilege roles
  securemail.gateway.pg_quarantine:
    psql: [runuser, -u, postgres, --, /usr/lib/postgresql/15/bin/psql, -X, -q, -A, -t, -v, ON_ERROR_STOP=1,
           -h, /var/run/postgresql]
    data_dir: /var/lib/postgresql/15/main
    database: quarantine
    owner: quarantine
    roles:
      - {name: quarantine}
      - {name: quarantine_filter, password: "{{ vault_filter_password }}"}
      - {name: quarantine_web, password: "{{ vault_web_password }}"}
    migrations:
      - {version: 1, name: amavisd storage, sql: "{{ lookup('ansible.builtin.file', 'schema/0001.sql') }}"}
    privileges:
      - {role: quarantine_filter, table: msgs, privileges: [SELECT, INSERT, UPDATE]}
      - {role: quarantine_web, table: msgrcpt, privileges: [UPDATE], columns: [rs]}
  no_log: true
'''

RETURN = r'''
actions:
  description: What changed (or would change in check mode), one line each; no secret is in them.
  returned: always
  type: list
  elements: str
  sample: [create role quarantine_filter, migrate the schema to version 1 (amavisd storage)]
schema_version:
  description: The schema's version before and after the run.
  returned: always
  type: dict
  sample: {before: 0, after: 1}
running:
  description: Whether the server was running.
  returned: always
  type: bool
'''

import json
import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.securemail.gateway.plugins.module_utils.pgsql import (
    check_spec, database_query, mask, plan, server_query, verifier_for)


def running_port(data_dir):
    """The running server's port, or None when it does not run."""
    try:
        with open(os.path.join(data_dir, 'postmaster.pid')) as f:
            lines = f.read().splitlines()
        os.kill(int(lines[0]), 0)
        return lines[3].strip()
    except (OSError, IndexError, ValueError):
        return None


def psql(module, port, database, script):
    rc, out, err = module.run_command(module.params['psql'] + ['-p', port, '-d', database], data=script,
                                      binary_data=True)
    if rc != 0:
        module.fail_json(msg='psql on database %s failed (rc=%d): %s' % (database, rc, mask(err.strip())),
                         step='psql')
    return out


def main():
    module = AnsibleModule(
        argument_spec=dict(
            psql=dict(type='list', elements='str', required=True),
            data_dir=dict(type='path', required=True),
            database=dict(type='str', required=True),
            owner=dict(type='str', required=True),
            roles=dict(type='list', elements='dict', required=True, options=dict(
                name=dict(type='str', required=True),
                password=dict(type='str', default='', no_log=True))),
            migrations=dict(type='list', elements='dict', default=[], options=dict(
                version=dict(type='int', required=True),
                name=dict(type='str', required=True),
                sql=dict(type='str', required=True))),
            privileges=dict(type='list', elements='dict', default=[], options=dict(
                role=dict(type='str', required=True),
                table=dict(type='str', required=True),
                privileges=dict(type='list', elements='str', required=True),
                columns=dict(type='list', elements='str', default=[]))),
        ),
        supports_check_mode=True,
    )
    p = module.params
    errors = check_spec(p['database'], p['owner'], p['roles'], p['migrations'], p['privileges'])
    if errors:
        module.fail_json(msg='; '.join(errors), step='arguments')
    names = [r['name'] for r in p['roles']]
    port = running_port(p['data_dir'])
    if port is None and not module.check_mode:
        module.fail_json(msg='PostgreSQL is not running (no live postmaster.pid in %s)' % p['data_dir'], step='read')
    server, inside = {}, None
    if port is not None:
        server = json.loads(psql(module, port, 'postgres', server_query(p['database'], names)) or '{}')
        if server.get('owner') is not None:
            inside = json.loads(psql(module, port, p['database'],
                                     database_query([n for n in names if n != p['owner']])) or '{}')
    verifiers = dict((r['name'], verifier_for(r['password'], ((server.get('roles') or {}).get(r['name']) or {})
                                              .get('verifier', ''))) for r in p['roles'])
    spec = dict(database=p['database'], owner=p['owner'], roles=p['roles'], migrations=p['migrations'],
                privileges=p['privileges'])
    actions, outside, within = plan(spec, server, inside, verifiers)
    before = (inside or {}).get('version') or 0
    after = max([before] + [m['version'] for m in p['migrations']])
    result = dict(changed=bool(actions), actions=actions, running=port is not None,
                  schema_version=dict(before=before, after=after))
    if module._diff:
        result['diff'] = dict(before='', after=''.join(a + '\n' for a in actions))
    if module.check_mode or not actions:
        module.exit_json(**result)
    if outside:
        # CREATE DATABASE cannot run inside a transaction: one statement at a time.
        psql(module, port, 'postgres', '\n'.join(outside) + '\n')
    if within:
        psql(module, port, p['database'], 'BEGIN;\n' + '\n'.join(within) + '\nCOMMIT;\n')
    module.exit_json(**result)


if __name__ == '__main__':
    main()
