#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: securemail.gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: postconf_master
short_description: Manage Postfix master.cf services and their -o overrides through postconf
version_added: 0.1.0
description:
  - Adds, changes or removes master.cf service entries with C(postconf -M), keeping every other entry, comment
    and the file's layout.
  - A service is named by O(services[].service) and O(services[].type), as in C(postconf -M smtp/inet).
  - One read (C(postconf -M)) and at most one C(postconf -Me) write for all added or changed services, plus one
    C(postconf -MX) when services are removed, however many services are given.
  - Refuses bad input before anything is written; master.cf is then byte-identical to before.
author:
  - securemail.gateway developers (@securemail)
options:
  services:
    description: The services to manage.
    type: list
    elements: dict
    required: true
    suboptions:
      service:
        description:
          - Service name, for C(inet) services V(port) or V(host:port), for example V(smtp), V(submission)
            or V(127.0.0.1:10025).
        type: str
        required: true
      type:
        description: Service type (second master.cf column).
        type: str
        required: true
        choices: [inet, unix, unix-dgram, fifo, pass]
      state:
        description: V(absent) removes the service entry.
        type: str
        choices: [present, absent]
        default: present
      private:
        description: Private column (V(y), V(n) or V(-)); a boolean is written as V(y)/V(n). Unchanged when omitted.
        type: raw
      unpriv:
        description: Unprivileged column (V(y), V(n) or V(-)). Unchanged when omitted.
        type: raw
      chroot:
        description: Chroot column (V(y), V(n) or V(-)). Unchanged when omitted.
        type: raw
      wakeup:
        description: Wake-up time column (V(-), a number of seconds, optionally followed by V(?)). Unchanged when omitted.
        type: raw
      maxproc:
        description: Process limit column (V(-) or a number). Unchanged when omitted.
        type: raw
      command:
        description:
          - The command and its arguments (other than C(-o) overrides), for example V(smtpd) or
            V(pipe flags=Rq user=filter argv=/usr/bin/filter -f ${sender} -- ${recipient}).
          - Required when the service does not exist yet. Unchanged when omitted.
          - When a change sets a new command, its program (the first word, relative to C(daemon_directory)
            unless absolute) must be an executable file; otherwise the module fails and changes nothing.
            C(postfix check) does not look at master.cf commands, and master(8) would only notice when it
            spawns the service.
        type: str
      options:
        description:
          - C(-o name=value) parameter overrides for this service. Values may contain spaces (written in the
            C({name=value}) form Postfix 3.0 and later reads); lists are joined with C(, ).
        type: dict
        default: {}
      purge_options:
        description: Remove C(-o) overrides of an existing service that O(services[].options) does not list.
        type: bool
        default: false
  config_dir:
    description: The Postfix configuration directory holding main.cf and master.cf.
    type: path
    default: /etc/postfix
  backup:
    description: Keep a timestamped copy of master.cf next to it before changing it.
    type: bool
    default: false
seealso:
  - module: securemail.gateway.postconf
attributes:
  check_mode:
    description: Reads master.cf and reports exactly the changes a real run would make.
    support: full
  diff_mode:
    description: Shows each changed service entry before and after, one line each.
    support: full
'''

EXAMPLES = r'''
- name: Re-injection listener for the content filter, loopback only
  securemail.gateway.postconf_master:
    services:
      - service: 127.0.0.1:10025
        type: inet
        private: n
        chroot: n
        command: smtpd
        options:
          content_filter: ""
          smtpd_client_restrictions: permit_mynetworks, reject
          mynetworks: 127.0.0.0/8
          smtpd_authorized_xforward_hosts: 127.0.0.0/8
          receive_override_options: no_unknown_recipient_checks, no_header_body_checks
      - service: smtp-amavis
        type: unix
        private: "-"
        chroot: n
        maxproc: 2
        command: smtp
        options:
          smtp_data_done_timeout: 1200
          disable_dns_lookups: true
  register: master_cf

- name: No smtps listener
  securemail.gateway.postconf_master:
    services:
      - {service: smtps, type: inet, state: absent}
'''

RETURN = r'''
changed_services:
  description: The service entries that changed, keyed C(service/type), with the entry line before and after (null when absent).
  returned: always
  type: dict
  sample: {"127.0.0.1:10025/inet": {"before": null, "after": "127.0.0.1:10025 inet n - n - - smtpd -o content_filter="}}
restart_required:
  description:
    - Always false. master(8) re-reads master.cf on C(postfix reload), starting added services (listeners
      included) and stopping removed ones, so no master.cf change needs a restart. Kept so that callers can
      combine it with the C(restart_required) of M(securemail.gateway.postconf).
  returned: always
  type: bool
  sample: false
processes:
  description: How many C(postconf) processes this call ran.
  returned: always
  type: int
  sample: 2
backup_file:
  description: The copy of master.cf made before the change, when O(backup=true).
  returned: changed and backup requested
  type: str
  sample: /etc/postfix/master.cf.12345.2026-11-25@11:30:00~
'''

import os
import re

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.six import string_types
from ansible_collections.securemail.gateway.plugins.module_utils.postfix import (
    PARAM_NAME_RE, SERVICE_NAME_RE, SERVICE_TYPES, Postfix, PostfixError, bad_text, check_config_dir,
    format_master_entry, render_value, split_words, values_equal)

FIELD_FORMS = {
    'private': re.compile(r'^[yn-]$'),
    'unpriv': re.compile(r'^[yn-]$'),
    'chroot': re.compile(r'^[yn-]$'),
    'wakeup': re.compile(r'^(-|[0-9]+\??)$'),
    'maxproc': re.compile(r'^(-|[0-9]+)$'),
}
FIELD_HELP = {
    'private': 'y, n or -', 'unpriv': 'y, n or -', 'chroot': 'y, n or -',
    'wakeup': '- or a number of seconds, optionally followed by ?', 'maxproc': '- or a number',
}


def field_text(value):
    if isinstance(value, bool):
        return 'y' if value else 'n'
    return str(value).strip()


def validate(module, spec, index):
    """Check one service declaration; return it normalised."""
    where = 'services[%d]' % index
    name = spec['service']
    if not name or not SERVICE_NAME_RE.match(name):
        module.fail_json(msg='%s.service: %r is not a valid master.cf service name' % (where, name))
    where = 'services[%d] (%s/%s)' % (index, name, spec['type'])
    out = {'service': name, 'type': spec['type'], 'state': spec['state'],
           'purge_options': spec['purge_options']}
    for field, form in FIELD_FORMS.items():
        value = spec.get(field)
        if value is None:
            continue
        text = field_text(value)
        if not form.match(text):
            module.fail_json(msg='%s.%s: %r is not valid; expected %s' % (where, field, text, FIELD_HELP[field]))
        out[field] = text
    command = spec.get('command')
    if command is not None:
        reason = bad_text(command)
        if reason:
            module.fail_json(msg='%s.command: %s' % (where, reason))
        words = split_words(command)
        if not words:
            module.fail_json(msg='%s.command: is empty' % where)
        if '-o' in words or any(w.startswith('-o') and '=' in w for w in words):
            module.fail_json(msg='%s.command: put -o overrides in options, not in command' % where)
        out['command'] = words[0]
        out['args'] = words[1:]
    options = []
    for opt_name, opt_value in (spec.get('options') or {}).items():
        if not isinstance(opt_name, string_types) or not PARAM_NAME_RE.match(opt_name):
            module.fail_json(msg='%s.options: %r is not a valid parameter name' % (where, opt_name))
        if isinstance(opt_value, dict):
            module.fail_json(msg='%s.options.%s: a value cannot be a dict' % (where, opt_name))
        text = render_value(opt_value)
        reason = bad_text(text)
        if reason:
            module.fail_json(msg='%s.options.%s: value %s' % (where, opt_name, reason))
        if text.count('{') != text.count('}'):
            module.fail_json(msg='%s.options.%s: unbalanced { } in value' % (where, opt_name))
        options.append((opt_name, text))
    out['options'] = options
    return out


def merged_entry(current, want):
    """The entry master.cf should hold: current fields overlaid with the declared ones."""
    entry = dict(current) if current else {
        'service': want['service'], 'type': want['type'], 'private': '-', 'unpriv': '-',
        'chroot': '-', 'wakeup': '-', 'maxproc': '-', 'args': [], 'options': []}
    for field in ('private', 'unpriv', 'chroot', 'wakeup', 'maxproc', 'command', 'args'):
        if field in want:
            entry[field] = want[field]
    declared = dict(want['options'])
    if want['purge_options']:
        kept = []
    else:
        kept = [(n, v) for n, v in (current or {}).get('options', []) if n not in declared]
    entry['options'] = kept + list(want['options'])
    return entry


def same_entry(a, b):
    for field in ('private', 'unpriv', 'chroot', 'wakeup', 'maxproc', 'command'):
        if a[field] != b[field]:
            return False
    if a['args'] != b['args']:
        return False
    if len(a['options']) != len(b['options']):
        return False
    bopts = dict(b['options'])
    for name, value in a['options']:
        if name not in bopts or not values_equal(name, value, bopts[name]):
            return False
    return True


def missing_programs(postfix, commands):
    """Which (label, command) pairs name no executable program, as messages."""
    try:
        out, dummy = postfix.postconf(['-xh', 'daemon_directory'])
    except PostfixError as e:
        return ['postconf could not read daemon_directory: %s' % e]
    daemon_directory = out.strip()
    missing = []
    for label, command in commands:
        path = command if command.startswith('/') else os.path.join(daemon_directory, command)
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            missing.append('%s: command %r is not a program in daemon_directory %s' % (label, command, daemon_directory))
    return missing


def main():
    module = AnsibleModule(
        argument_spec=dict(
            services=dict(type='list', elements='dict', required=True, options=dict(
                service=dict(type='str', required=True),
                type=dict(type='str', required=True, choices=list(SERVICE_TYPES)),
                state=dict(type='str', default='present', choices=['present', 'absent']),
                private=dict(type='raw'),
                unpriv=dict(type='raw'),
                chroot=dict(type='raw'),
                wakeup=dict(type='raw'),
                maxproc=dict(type='raw'),
                command=dict(type='str'),
                options=dict(type='dict', default={}),
                purge_options=dict(type='bool', default=False),
            )),
            config_dir=dict(type='path', default='/etc/postfix'),
            backup=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )
    config_dir = module.params['config_dir']
    wanted = [validate(module, spec, i) for i, spec in enumerate(module.params['services'])]
    seen = set()
    for want in wanted:
        key = (want['service'], want['type'])
        if key in seen:
            module.fail_json(msg='services: %s/%s is declared more than once' % key)
        seen.add(key)
    reason = check_config_dir(config_dir)
    if reason:
        module.fail_json(msg='config_dir: %s %s' % (config_dir, reason))

    postfix = Postfix(module, config_dir)
    try:
        current, warnings = postfix.master()
    except PostfixError as e:
        module.fail_json(msg='postconf could not read %s/master.cf: %s' % (config_dir, e))

    changes = {}
    edits = []
    removals = []
    new_commands = []
    for want in wanted:
        key = (want['service'], want['type'])
        label = '%s/%s' % key
        have = current.get(key)
        if want['state'] == 'absent':
            if have:
                changes[label] = {'before': format_master_entry(have), 'after': None}
                removals.append(label)
            continue
        if not have and 'command' not in want:
            module.fail_json(msg='services: %s does not exist yet, so command is required' % label)
        entry = merged_entry(have, want)
        if have and same_entry(have, entry):
            continue
        if not have or have['command'] != entry['command']:
            new_commands.append((label, entry['command']))
        line = format_master_entry(entry)
        changes[label] = {'before': format_master_entry(have) if have else None, 'after': line}
        edits.append('%s=%s' % (label, line))

    # postfix check does not look at master.cf commands: master(8) only finds a
    # missing program when it spawns it, and then the service is dead while
    # Postfix looks healthy. So a command this change introduces must exist.
    if new_commands:
        missing = missing_programs(postfix, new_commands)
        if missing:
            module.fail_json(msg='services: %s; nothing was changed' % '; '.join(missing))

    result = dict(changed=bool(changes), changed_services=changes, restart_required=False,
                  postconf_warnings=warnings)
    if module._diff:
        result['diff'] = dict(
            before_header='%s/master.cf' % config_dir, after_header='%s/master.cf' % config_dir,
            before=''.join(c['before'] + '\n' for c in changes.values() if c['before']),
            after=''.join(c['after'] + '\n' for c in changes.values() if c['after']),
        )
    if changes and not module.check_mode:
        if module.params['backup']:
            result['backup_file'] = module.backup_local(os.path.join(config_dir, 'master.cf'))
        try:
            if edits:
                postfix.postconf(['-Me'] + edits)
            if removals:
                postfix.postconf(['-MX'] + removals)
        except PostfixError as e:
            module.fail_json(msg='postconf could not write %s/master.cf: %s' % (config_dir, e), **result)
    result['processes'] = postfix.processes
    module.exit_json(**result)


if __name__ == '__main__':
    main()
