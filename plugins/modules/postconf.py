#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: securemail.gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: postconf
short_description: Set or remove Postfix main.cf parameters through postconf
version_added: 0.1.0
description:
  - Sets (V(present)) or removes (V(absent)) any number of main.cf parameters with Postfix's own C(postconf)
    tool, so main.cf keeps its comments and layout and every other parameter stays as it is.
  - Compares with the explicit settings (C(postconf -n)); list values compare by meaning, so
    C(permit_mynetworks, reject) and C(permit_mynetworks reject) are the same value.
  - Works in a constant number of C(postconf) processes however many parameters are given; one read
    (C(postconf -n NAMES)) and at most one write (C(postconf -e) or C(postconf -X)); removing parameters
    adds one C(postconf -d NAMES) read to report the defaults they fall back to.
  - Refuses bad input before anything is written; main.cf is then byte-identical to before.
author:
  - securemail.gateway developers (@securemail)
options:
  parameters:
    description:
      - With O(state=present), a dict of parameter name to value. A value may be a string, a number, a
        boolean (written V(yes)/V(no)) or a list (joined with C(, ), as Postfix lists are).
      - With O(state=absent), a list of names, or a dict whose values are ignored.
    type: raw
    required: true
  state:
    description:
      - V(present) sets the parameters; V(absent) removes them from main.cf, so Postfix falls back to the
        default value.
    type: str
    choices: [present, absent]
    default: present
  config_dir:
    description:
      - The Postfix configuration directory holding main.cf and master.cf, for example a vendor tree
        under C(/opt) or a C(postmulti) instance.
    type: path
    default: /etc/postfix
  allow_unknown:
    description:
      - Accept names the host's Postfix does not know, for example parameters of a newer Postfix
        version, or user-defined parameters that master.cf refers to.
      - Such parameters are still reported in RV(unused_parameters) and as warnings.
    type: bool
    default: false
  backup:
    description: Keep a timestamped copy of main.cf next to it before changing it.
    type: bool
    default: false
notes:
  - Changing a parameter listed in RV(restart_required) needs C(postfix stop) and C(postfix start); all other
    changes take effect with C(postfix reload).
seealso:
  - module: securemail.gateway.postconf_master
attributes:
  check_mode:
    description: Reads the current settings and reports exactly the changes a real run would make.
    support: full
  diff_mode:
    description: Shows the changed parameters before and after, one C(name = value) line each.
    support: full
'''

EXAMPLES = r'''
- name: Harden the SMTP server
  securemail.gateway.postconf:
    parameters:
      disable_vrfy_command: true
      smtpd_helo_required: true
      message_size_limit: 26214400
      smtpd_relay_restrictions: [permit_mynetworks, reject_unauth_destination]
  register: main_cf
  notify: Reload postfix

- name: Go back to Postfix's default for these
  securemail.gateway.postconf:
    parameters: [smtpd_tls_loglevel, smtp_tls_loglevel]
    state: absent

- name: A vendor-owned Postfix tree
  securemail.gateway.postconf:
    config_dir: /opt/vendor/postfix/etc
    parameters:
      inet_interfaces: all
  register: vendor_cf

# No init script knows this instance: stop, then start it (start alone would
# find it running and change nothing). Only a reload otherwise.
- name: Restart only when a reload cannot apply the change
  ansible.builtin.command:
    argv: [sh, -c, 'postfix -c "$0" stop; postfix -c "$0" start', /opt/vendor/postfix/etc]
  when: vendor_cf.restart_required
  changed_when: true

- name: Reload when that is enough
  ansible.builtin.command: postfix -c /opt/vendor/postfix/etc reload
  when: vendor_cf.changed and not vendor_cf.restart_required
  changed_when: true
'''

RETURN = r'''
changed_parameters:
  description:
    - The parameters that changed (or would change in check mode), with the explicit value before and after.
      C(before) is null when the parameter was not set explicitly; with O(state=absent), C(after) is the
      default value Postfix falls back to.
  returned: always
  type: dict
  sample: {"disable_vrfy_command": {"before": null, "after": "yes"}}
restart_required:
  description: True when a changed parameter only takes effect after C(postfix stop) and C(postfix start).
  returned: always
  type: bool
  sample: false
restart_parameters:
  description: The changed parameters that need a restart.
  returned: always
  type: list
  elements: str
  sample: [inet_interfaces]
unused_parameters:
  description: Managed parameters that the host's Postfix does not use (it warns "unused parameter").
  returned: always
  type: list
  elements: str
  sample: []
postconf_warnings:
  description: Every warning C(postconf) printed while reading the configuration.
  returned: always
  type: list
  elements: str
  sample: ["/etc/postfix/main.cf: unused parameter: foo=bar"]
processes:
  description: How many C(postconf) processes this call ran.
  returned: always
  type: int
  sample: 3
backup_file:
  description: The copy of main.cf made before the change, when O(backup=true).
  returned: changed and backup requested
  type: str
  sample: /etc/postfix/main.cf.12345.2026-11-25@11:30:00~
'''

import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.six import string_types
from ansible_collections.securemail.gateway.plugins.module_utils.postfix import (
    PARAM_NAME_RE, RESTART_PARAMETERS, Postfix, PostfixError, bad_text, check_config_dir,
    references, render_value, values_equal)


def desired_parameters(module, raw, state):
    """Validate the parameters option; return name -> rendered value (or None)."""
    if state == 'absent' and isinstance(raw, (list, tuple)):
        raw = dict((name, None) for name in raw)
    if not isinstance(raw, dict):
        module.fail_json(msg='parameters: expected a dict of name to value (or, with state=absent, a list of names)')
    if not raw:
        module.fail_json(msg='parameters: is empty')
    wanted = {}
    for name, value in raw.items():
        if not isinstance(name, string_types) or not name.strip():
            module.fail_json(msg='parameters: a parameter name is empty')
        if not PARAM_NAME_RE.match(name):
            module.fail_json(msg='parameters: %r is not a valid parameter name (letters, digits and _ only)' % name)
        if name == 'config_directory':
            module.fail_json(msg='parameters: config_directory cannot be set in main.cf; use the config_dir option')
        if state == 'absent':
            wanted[name] = None
            continue
        if isinstance(value, dict):
            module.fail_json(msg='parameters: %s: a value cannot be a dict' % name)
        if isinstance(value, (list, tuple)) and any(isinstance(v, (dict, list, tuple)) for v in value):
            module.fail_json(msg='parameters: %s: list elements must be strings or numbers' % name)
        text = render_value(value)
        reason = bad_text(text)
        if reason:
            module.fail_json(msg='parameters: %s: value %s' % (name, reason))
        wanted[name] = text
    return wanted


def main():
    module = AnsibleModule(
        argument_spec=dict(
            parameters=dict(type='raw', required=True),
            state=dict(type='str', default='present', choices=['present', 'absent']),
            config_dir=dict(type='path', default='/etc/postfix'),
            allow_unknown=dict(type='bool', default=False),
            backup=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )
    state = module.params['state']
    config_dir = module.params['config_dir']
    wanted = desired_parameters(module, module.params['parameters'], state)
    reason = check_config_dir(config_dir)
    if reason:
        module.fail_json(msg='config_dir: %s %s' % (config_dir, reason))

    postfix = Postfix(module, config_dir)
    try:
        current, unused, unknown, warnings = postfix.explicit(list(wanted))
    except PostfixError as e:
        module.fail_json(msg='postconf could not read %s: %s' % (config_dir, e))

    # postconf knows a user-defined parameter once main.cf or master.cf refers
    # to it; a reference from another value set in this same call counts too.
    referenced = set()
    for value in wanted.values():
        referenced |= references(value)
    unknown = set(unknown) - referenced
    if unknown and state == 'present' and not module.params['allow_unknown']:
        module.fail_json(msg='parameters: unknown to this Postfix (%s): %s; set allow_unknown: true for parameters '
                             'of a newer Postfix or user-defined ones' % (config_dir, ', '.join(sorted(unknown))))

    changes = {}
    for name in sorted(wanted):
        before = current.get(name)
        if state == 'present':
            if not values_equal(name, before, wanted[name]):
                changes[name] = {'before': before, 'after': wanted[name]}
        elif before is not None:
            changes[name] = {'before': before, 'after': None}
    if state == 'absent' and changes:
        # Only for the report: what Postfix falls back to once the line is gone.
        try:
            defaults = postfix.defaults(list(changes))[0]
        except PostfixError as e:
            module.fail_json(msg='postconf could not read defaults: %s' % e)
        for name in changes:
            changes[name]['after'] = defaults.get(name, '')

    result = dict(
        changed=bool(changes),
        changed_parameters=changes,
        restart_parameters=sorted(n for n in changes if n in RESTART_PARAMETERS),
        unused_parameters=sorted(n for n in wanted if n in unknown and state == 'present'),
        postconf_warnings=warnings,
    )
    result['restart_required'] = bool(result['restart_parameters'])
    for name in result['unused_parameters']:
        module.warn('postconf: %s is not a parameter this Postfix uses; it is written as requested' % name)
    if module._diff:
        result['diff'] = dict(
            before_header='%s/main.cf' % config_dir,
            after_header='%s/main.cf' % config_dir,
            before=''.join('%s = %s\n' % (n, c['before']) for n, c in changes.items() if c['before'] is not None),
            after=''.join(('%s = %s\n' if state == 'present' else '# %s = %s (default)\n') % (n, c['after'])
                          for n, c in changes.items()),
        )

    if changes and not module.check_mode:
        if module.params['backup']:
            result['backup_file'] = module.backup_local(os.path.join(config_dir, 'main.cf'))
        try:
            if state == 'present':
                postfix.postconf(['-e'] + ['%s=%s' % (n, wanted[n]) for n in sorted(changes)])
            else:
                postfix.postconf(['-X'] + sorted(changes))
        except PostfixError as e:
            module.fail_json(msg='postconf could not write %s/main.cf: %s' % (config_dir, e), **result)
    result['processes'] = postfix.processes
    module.exit_json(**result)


if __name__ == '__main__':
    main()
