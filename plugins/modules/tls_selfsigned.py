#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: securemail.gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: tls_selfsigned
short_description: Keep a private TLS directory and, when none is there yet, a self-signed key and certificate in it
version_added: 0.2.0
description:
  - Makes O(path) a directory owned by root with mode C(0700), fixing the mode and owner of an existing one.
  - With O(cert) and O(key), makes a self-signed certificate with C(openssl req -x509) when either file is
    missing, and keeps the key owned by root with mode C(0600). A pair that exists is never replaced, so an admin
    may put a certificate from a CA in its place.
  - The new pair is written into O(path) under temporary names (the directory is private, so the key is never
    readable by others) and renamed into place, the key first, so an interrupted run leaves either no certificate
    or a whole pair.
  - Whether the key belongs to the certificate is not checked here; the roles check it on every run with
    M(securemail.gateway.path_facts) and the engine's validators.
author:
  - securemail.gateway developers (@securemail)
options:
  path:
    description: The directory for the key and certificate. Its parent must exist.
    type: path
    required: true
  cert:
    description: The certificate file, in O(path).
    type: path
  key:
    description: The private key file, in O(path).
    type: path
  common_name:
    description:
      - The certificate's subject CN, a host name (letters, digits, C(.), C(-), a leading C(*.)).
      - Required with O(cert).
    type: str
  subject_alt_names:
    description:
      - The subjectAltName entries, each C(DNS:name) or C(IP:address). Default is C(DNS:) O(common_name).
    type: list
    elements: str
  days:
    description: How long the certificate is valid.
    type: int
    default: 825
  key_size:
    description: RSA key size in bits.
    type: int
    default: 3072
seealso:
  - module: securemail.gateway.path_facts
attributes:
  check_mode:
    description: Reports what would be created or fixed, without touching the host.
    support: full
  diff_mode:
    description: Shows the directory's and the key's mode and owner, and whether the pair exists, before and after.
    support: full
'''

EXAMPLES = r'''
- name: TLS directory and a self-signed pair for opportunistic STARTTLS
  securemail.gateway.tls_selfsigned:
    path: /etc/postfix/tls
    cert: /etc/postfix/tls/selfsigned.crt
    key: /etc/postfix/tls/selfsigned.key
    common_name: mx1.example.org

- name: Only the private directory (the admin brings the certificate)
  securemail.gateway.tls_selfsigned:
    path: /etc/postfix/tls

- name: A pair users can pin, with the internal address in subjectAltName
  securemail.gateway.tls_selfsigned:
    path: /etc/apache2/securemail
    cert: /etc/apache2/securemail/quarantine.crt
    key: /etc/apache2/securemail/quarantine.key
    common_name: quarantine.example.org
    subject_alt_names: [DNS:quarantine.example.org, IP:10.0.0.5]
'''

RETURN = r'''
changes:
  description: What was done (or, in check mode, would be), in order.
  returned: always
  type: list
  elements: str
  sample: [directory created, pair created, key mode fixed]
'''

import ipaddress
import os
import re

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.securemail.gateway.plugins.module_utils.path_facts import (
    PRIVATE_DIR, PRIVATE_KEY, path_facts, private_tls_changes, private_tls_problem)

HOST_NAME = re.compile(r'^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$')


def _shown(facts):
    """One line of the diff for a path_facts() dict: 'absent' or 'KIND MODE OWNER:GROUP'."""
    if facts.get('mode') is None:
        return 'absent'
    kind = 'directory' if facts['isdir'] else 'file' if facts['isreg'] else 'other'
    return '%s %s %s:%s' % (kind, facts['mode'], facts['pw_name'], facts['gr_name'])


def _input_problem(params):
    """The first option that is unusable, with the reason, or None."""
    if bool(params['cert']) != bool(params['key']):
        return 'cert and key: give both or neither'
    if not params['cert']:
        return None
    for name in ('cert', 'key'):
        if os.path.dirname(os.path.normpath(params[name])) != os.path.normpath(params['path']):
            return '%s: %s is not directly in path %s' % (name, params[name], params['path'])
    if os.path.normpath(params['cert']) == os.path.normpath(params['key']):
        return 'cert and key: the same file'
    cn = params['common_name']
    if not cn or not HOST_NAME.match(cn) or len(cn) > 64:
        return 'common_name: %r is not a host name of at most 64 characters' % (cn,)
    for entry in params['subject_alt_names'] or []:
        kind, dummy, value = entry.partition(':')
        if kind == 'DNS' and HOST_NAME.match(value):
            continue
        if kind == 'IP':
            try:
                ipaddress.ip_address(value)
                continue
            except ValueError:
                pass
        return 'subject_alt_names: %r is neither DNS:host.name nor IP:address' % (entry,)
    if params['days'] < 1 or params['key_size'] < 2048:
        return 'days must be at least 1 and key_size at least 2048 (got %d, %d)' % (params['days'], params['key_size'])
    return None


def _make_pair(module, directory, cert, key):
    """Write a new pair under temporary names in the private directory, then rename the key and the certificate."""
    params = module.params
    sans = params['subject_alt_names'] or ['DNS:' + params['common_name']]
    tmp_key = os.path.join(directory, '.%s.new' % os.path.basename(key))
    tmp_cert = os.path.join(directory, '.%s.new' % os.path.basename(cert))
    openssl = module.get_bin_path('openssl', required=True)
    old_umask = os.umask(0o077)
    try:
        rc, dummy, err = module.run_command(
            [openssl, 'req', '-x509', '-newkey', 'rsa:%d' % params['key_size'], '-nodes',
             '-days', str(params['days']), '-subj', '/CN=' + params['common_name'],
             '-addext', 'subjectAltName=' + ','.join(sans), '-keyout', tmp_key, '-out', tmp_cert])
    finally:
        os.umask(old_umask)
    if rc != 0:
        for leftover in (tmp_key, tmp_cert):
            if os.path.lexists(leftover):
                os.unlink(leftover)
        module.fail_json(msg='openssl req failed (rc=%d): %s' % (rc, err.strip()))
    os.chmod(tmp_cert, 0o644)
    os.rename(tmp_key, key)
    os.rename(tmp_cert, cert)


def run(module):
    params = module.params
    problem = _input_problem(params)
    if problem:
        module.fail_json(msg=problem)
    directory = os.path.normpath(params['path'])
    cert, key = params['cert'], params['key']
    facts = dict(path=path_facts(directory))
    if cert:
        facts.update(cert=path_facts(cert), key=path_facts(key))
    problem = private_tls_problem(facts['path'], facts.get('cert'), facts.get('key'))
    if problem:
        module.fail_json(msg=problem)
    changes = private_tls_changes(facts['path'], facts.get('cert'), facts.get('key'))
    new_pair = 'pair created' in changes

    if changes and not module.check_mode:
        if 'directory created' in changes:
            os.mkdir(directory, 0o700)
        os.chown(directory, 0, 0)
        os.chmod(directory, 0o700)
        if new_pair:
            _make_pair(module, directory, cert, key)
        if cert:
            os.chown(key, 0, 0)
            os.chmod(key, 0o600)

    result = dict(changed=bool(changes), changes=changes)
    if module._diff:
        before = dict((name, _shown(f)) for name, f in facts.items())
        after = dict(path='directory %s %s:%s' % PRIVATE_DIR)
        if cert:
            after.update(cert='file 0644 root:root (new, CN=%s)' % params['common_name'] if new_pair else before['cert'],
                         key='file %s %s:%s' % PRIVATE_KEY + (' (new)' if new_pair else ''))
        result['diff'] = dict(before=''.join('%s: %s\n' % (k, v) for k, v in sorted(before.items())),
                              after=''.join('%s: %s\n' % (k, v) for k, v in sorted(after.items())),
                              before_header=directory, after_header=directory)
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path', required=True),
            cert=dict(type='path'),
            key=dict(type='path', no_log=False),
            common_name=dict(type='str'),
            subject_alt_names=dict(type='list', elements='str'),
            days=dict(type='int', default=825),
            key_size=dict(type='int', default=3072),
        ),
        supports_check_mode=True,
    )
    module.exit_json(**run(module))


if __name__ == '__main__':
    main()
