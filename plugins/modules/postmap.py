#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: securemail.gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: postmap
short_description: Rebuild a Postfix indexed lookup table or alias database only when its source changed
version_added: 0.1.0
description:
  - Runs C(postmap) (or C(postalias) with O(aliases=true)) on a source file when the indexed file
    (C(.db), C(.cdb), C(.lmdb)) is missing or older than the source, which is when Postfix itself would
    warn that the database is out of date. Otherwise it runs nothing and reports no change.
  - Not for C(regexp:), C(pcre:), C(cidr:) or C(texthash:) tables, which Postfix reads from the source directly.
  - Warnings C(postmap) prints about malformed lines fail the task, so a table with a broken line is never
    reported as built.
author:
  - securemail.gateway developers (@securemail)
options:
  path:
    description: The source file, for example C(/etc/postfix/transport).
    type: path
    required: true
  type:
    description: Indexed map type. Defaults to the host's C(default_database_type).
    type: str
    choices: [hash, btree, cdb, lmdb, dbm, sdbm]
  aliases:
    description: Build an alias database with C(postalias) instead of a lookup table with C(postmap).
    type: bool
    default: false
  force:
    description: Rebuild even when the indexed file is newer than the source.
    type: bool
    default: false
  config_dir:
    description: The Postfix configuration directory whose main.cf the tools read.
    type: path
    default: /etc/postfix
seealso:
  - module: securemail.gateway.postconf
attributes:
  check_mode:
    description: Reports whether the table would be rebuilt, without building it.
    support: full
  diff_mode:
    description: No diff; the indexed file is binary.
    support: none
'''

EXAMPLES = r'''
- name: Write the transport table
  ansible.builtin.copy:
    dest: /etc/postfix/transport
    content: |
      example.org smtp:[hub.internal.example.org]
    mode: "0644"

- name: Index it when it changed
  securemail.gateway.postmap:
    path: /etc/postfix/transport

- name: Rebuild the aliases database (what newaliases does, for one file)
  securemail.gateway.postmap:
    path: /etc/aliases
    aliases: true
'''

RETURN = r'''
indexed_file:
  description: The file Postfix reads lookups from.
  returned: always
  type: str
  sample: /etc/postfix/transport.db
map:
  description: The table as Postfix names it in main.cf.
  returned: always
  type: str
  sample: hash:/etc/postfix/transport
'''

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.securemail.gateway.plugins.module_utils.postfix import (
    INDEX_SUFFIX, Postfix, PostfixError, index_is_stale, indexed_file)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path', required=True),
            type=dict(type='str', choices=sorted(INDEX_SUFFIX)),
            aliases=dict(type='bool', default=False),
            force=dict(type='bool', default=False),
            config_dir=dict(type='path', default='/etc/postfix'),
        ),
        supports_check_mode=True,
    )
    path = module.params['path']
    if not os.path.isfile(path) and module.check_mode:
        # In check mode the task that writes the source did not write it.
        module.exit_json(changed=True, indexed_file=path, map=path, msg='source does not exist yet')
    if not os.path.isfile(path):
        module.fail_json(msg='path: %s does not exist or is not a file' % path)
    postfix = Postfix(module, module.params['config_dir'])
    db_type = module.params['type']
    if db_type is None:
        try:
            out, dummy = postfix.postconf(['-h', 'default_database_type'])
        except PostfixError as e:
            module.fail_json(msg='postconf: %s' % e)
        db_type = out.strip() or 'hash'
    if db_type not in INDEX_SUFFIX:
        module.fail_json(msg='type: %s tables are not indexed by postmap' % db_type)
    tool = 'postalias' if module.params['aliases'] else 'postmap'
    result = dict(changed=False, indexed_file=indexed_file(path, db_type), map='%s:%s' % (db_type, path))
    if module.params['force'] or index_is_stale(path, db_type):
        result['changed'] = True
        if not module.check_mode:
            tool_bin = module.get_bin_path(tool, required=True, opt_dirs=['/usr/sbin', '/usr/local/sbin'])
            try:
                dummy, warnings = postfix.run(tool_bin, ['%s:%s' % (db_type, path)])
            except PostfixError as e:
                module.fail_json(msg='%s %s:%s failed: %s' % (tool, db_type, path, e))
            if warnings:
                # Keep the table stale so the next run tries again instead of
                # trusting a database built from a broken source.
                target = indexed_file(path, db_type)
                if os.path.exists(target):
                    stamp = os.stat(path).st_mtime - 1
                    os.utime(target, (stamp, stamp))
                module.fail_json(msg='%s %s:%s: %s' % (tool, db_type, path, '; '.join(warnings)), **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
