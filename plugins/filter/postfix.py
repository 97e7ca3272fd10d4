# -*- coding: utf-8 -*-
# Copyright: securemail.gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Postfix facts the postfix role hands to the safe-change engine.

They come from plugins/module_utils/postfix.py, so the role, the postconf
modules and the engine format values and decide restarts one way.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible.errors import AnsibleFilterError
from ansible_collections.securemail.gateway.plugins.module_utils.postfix import (
    RESTART_PARAMETERS, bad_text, format_master_entry, render_value, split_words)


def postfix_restart_regex(dummy=None):
    """A regular expression for main.cf lines whose change needs a stop and start."""
    return r'^\s*(%s)\s*=' % '|'.join(sorted(RESTART_PARAMETERS))


def _field(value):
    if isinstance(value, bool):
        return 'y' if value else 'n'
    return str(value).strip()


def postfix_master_line(service):
    """One declared master.cf service (the role's dict form) as ``name/type=entry`` for postconf -Me."""
    words = split_words(str(service['command']))
    options = [(name, render_value(value)) for name, value in sorted((service.get('options') or {}).items())]
    entry = dict(service=service['service'], type=service['type'], command=words[0], args=words[1:],
                 options=options)
    for field in ('private', 'unpriv', 'chroot', 'wakeup', 'maxproc'):
        entry[field] = _field(service.get(field, '-'))
    line = format_master_entry(entry)
    if bad_text(line):
        raise AnsibleFilterError('master.cf service %s: %s' % (service['service'], bad_text(line)))
    return '%s/%s=%s' % (service['service'], service['type'], line)


def postfix_merge_commands(main_cf, services, config_dir):
    """postconf commands that merge main_cf and services into {root}config_dir.

    For the engine's ``edits``: parameters are set with one ``-e``, declared
    services replaced whole with one ``-Me``, absent ones removed with ``-MX``
    (only those that exist: -MX of a missing entry is harmless but noisy).
    """
    staged = '{root}' + config_dir
    assignments = []
    for name, value in sorted(main_cf.items()):
        text = render_value(value)
        if bad_text(text) or not re.match(r'^[A-Za-z0-9_]+$', name):
            raise AnsibleFilterError('main.cf parameter %s: invalid name or %s' % (name, bad_text(text)))
        assignments.append('%s=%s' % (name, text))
    commands = [['postconf', '-c', staged, '-e'] + assignments]
    present = [postfix_master_line(s) for s in services if s.get('state', 'present') == 'present']
    if present:
        commands.append(['postconf', '-c', staged, '-Me'] + present)
    absent = ['%s/%s' % (s['service'], s['type']) for s in services if s.get('state', 'present') == 'absent']
    if absent:
        commands.append(['sh', '-c', 'for s; do postconf -c "$0" -M "$s" | grep -q . && postconf -c "$0" -MX "$s"; '
                                     'done; exit 0', staged] + absent)
    return commands


def postfix_table_file(item, config_dir, header):
    """A lookup table ({key: name, value: lines}) as an engine file entry."""
    lines = [str(line) for line in item['value']]
    return {'dest': '%s/%s' % (config_dir, item['key']), 'mode': '0644',
            'content': header + ''.join(line + '\n' for line in lines)}


def postfix_table_index(name, config_dir, map_type, suffix):
    """How the engine indexes table name in the scratch tree (postalias for aliases)."""
    tool = 'postalias' if name == 'aliases' else 'postmap'
    source = '%s/%s' % (config_dir, name)
    return {'source': source, 'label': name, 'outputs': [source + suffix],
            'argv': [tool, '-c', '{root}' + config_dir, '%s:{root}%s' % (map_type, source)]}


class FilterModule(object):
    def filters(self):
        return {
            'postfix_restart_regex': postfix_restart_regex,
            'postfix_master_line': postfix_master_line,
            'postfix_merge_commands': postfix_merge_commands,
            'postfix_table_file': postfix_table_file,
            'postfix_table_index': postfix_table_index,
        }
