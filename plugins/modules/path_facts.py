#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: securemail.gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: path_facts
short_description: Look at several paths and certificate/key pairs on a host in one round trip
version_added: 0.2.0
description:
  - For each path of O(paths), reports whether it exists, whether it is a symlink, where it really leads, and, after
    symlinks (what a daemon opens), whether it is a regular file or a directory with its mode, owner and group, in the
    field names of M(ansible.builtin.stat), so that the filter C(securemail.gateway.private_key_problem) takes the
    result as it is.
  - For each private key of O(public_keys), reports its public half (base64 of the DER form).
  - For each pair of O(key_pairs), reports whether the private key belongs to the certificate, by comparing the
    public key that C(openssl x509 -pubkey) derives from the certificate with the one C(openssl pkey -pubout) derives
    from the key.
  - For each Debian package of O(packages), reports the version dpkg has installed (read from C(/var/lib/dpkg/status),
    without running apt or dpkg), so a role can skip its package task when nothing is missing.
  - Read-only. It never changes the host and never returns file contents or key material.
author:
  - securemail.gateway developers (@securemail)
options:
  paths:
    description:
      - Paths to look at, by a name of the caller's choosing (name -> path). The result has the same names.
      - Values that are not strings are converted to strings.
    type: dict
    default: {}
  key_pairs:
    description:
      - Certificate and private key pairs to compare, by a name of the caller's choosing (name -> C({cert, key})), both
        paths on the host. The result has the same names.
      - The files are handed to C(openssl) only when both are regular files (after symlinks); an encrypted key is not
        decrypted and does not match.
    type: dict
    default: {}
  public_keys:
    description:
      - Private key files whose public halves to report, by a name of the caller's choosing (name -> path), for
        example DKIM keys whose DNS records a role prints. The result has the same names.
      - Only regular files (after symlinks) are handed to C(openssl); the private key itself is never returned.
    type: dict
    default: {}
    version_added: 0.3.0
  packages:
    description:
      - Debian package names (C(name) or C(name:arch)) to look up in dpkg's status file.
      - Only packages whose status is C(install ok installed) count; one that was removed but not purged does not,
        and neither does a virtual package name.
    type: list
    elements: str
    default: []
  users:
    description:
      - User names whose groups to report (the primary group and every group that lists the user), so a role can
        tell whether a membership it needs is in place without a task of its own.
    type: list
    elements: str
    default: []
requirements:
  - C(openssl) on the host, for O(key_pairs).
seealso:
  - module: ansible.builtin.stat
attributes:
  check_mode:
    support: full
    description: It only reads, so check mode gives the same answer (the roles run it with C(check_mode=false) anyway).
  platform:
    platforms: posix
    support: full
    description: Symlinks, modes, owners and groups as POSIX systems have them.
  diff_mode:
    support: none
    description: It changes nothing, so there is nothing to show.
'''

EXAMPLES = r'''
- name: Look at a document root, a TLS pair and the packages
  securemail.gateway.path_facts:
    packages: [apache2, openssl]
    paths:
      document_root: /var/www/quarantine
      key: /etc/ssl/private/web.key
    key_pairs:
      web:
        cert: /etc/ssl/certs/web.pem
        key: /etc/ssl/private/web.key
  register: found
  check_mode: false

- name: Install Apache only when dpkg lacks one of the packages
  ansible.builtin.apt:
    name: [apache2, openssl]
  when: found.missing_packages | length > 0

- name: The key is private and belongs to the certificate
  ansible.builtin.assert:
    that:
      - found.paths.key | securemail.gateway.private_key_problem | length == 0
      - found.key_pairs.web.match
    fail_msg: "{{ found.key_pairs.web.error }}"
'''

RETURN = r'''
packages:
  description: For each name of O(packages), the installed version, or null when it is not installed.
  returned: always
  type: dict
  sample:
    postfix: 3.7.11-0+deb12u1
    postfix-pcre: null
missing_packages:
  description: The names of O(packages) that are not installed, in the order given.
  returned: always
  type: list
  elements: str
  sample: [postfix-pcre]
paths:
  description: For each name of O(paths), what was found at its path.
  returned: always
  type: dict
  sample:
    key:
      path: /etc/ssl/private/web.key
      exists: true
      islnk: false
      isreg: true
      isdir: false
      issock: false
      real: /etc/ssl/private/web.key
      mode: '0600'
      pw_name: root
      gr_name: root
  contains:
    path:
      description: The path as given.
      type: str
      returned: always
    exists:
      description: Something is at the path, a dangling symlink included.
      type: bool
      returned: always
    islnk:
      description: The path is a symlink.
      type: bool
      returned: always
    isreg:
      description: The path leads to a regular file (after symlinks).
      type: bool
      returned: always
    isdir:
      description: The path leads to a directory (after symlinks).
      type: bool
      returned: always
    issock:
      description: The path leads to a Unix socket (after symlinks), for example a syslog daemon's C(/dev/log).
      type: bool
      returned: always
    real:
      description: The path with every symlink resolved (as far as they resolve); empty for an empty path.
      type: str
      returned: always
    mode:
      description: Permission bits in octal, as M(ansible.builtin.stat) gives them (after symlinks).
      type: str
      returned: always; null when the path does not lead to anything
    pw_name:
      description: Owner's user name (the number when it has no name; after symlinks).
      type: str
      returned: always; null when the path does not lead to anything
    gr_name:
      description: Group name (the number when it has no name; after symlinks).
      type: str
      returned: always; null when the path does not lead to anything
user_groups:
  description: For each name of O(users), its groups, sorted; null when there is no such user.
  returned: always
  type: dict
  sample:
    clamav: [amavis, clamav]
public_keys:
  description:
    - For each name of O(public_keys), the public key as one line of base64 (its DER form, as a DKIM record's
      C(p=) carries it); null when the file is missing or C(openssl) cannot read it.
  returned: always
  type: dict
  version_added: 0.3.0
  sample:
    example.org: MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA...
key_pairs:
  description: For each name of O(key_pairs), whether the key belongs to the certificate.
  returned: always
  type: dict
  sample:
    web:
      match: false
      error: "x509: Could not read certificate from /etc/ssl/certs/web.pem"
  contains:
    match:
      description: The key's public half is the certificate's; V(false) also when either does not parse; null when
        either file is not a regular file.
      type: bool
      returned: always
    error:
      description: What C(openssl) said about a file it could not read, or which file is missing; empty otherwise.
      type: str
      returned: always
'''

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_text
from ansible_collections.securemail.gateway.plugins.module_utils.path_facts import (
    key_pair_facts, package_facts, path_facts, public_key_facts, user_groups)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            paths=dict(type='dict', default={}),
            # Paths of certificates and keys, never their content.
            key_pairs=dict(type='dict', default={}, no_log=False),
            # Paths of private keys; only their public halves are returned.
            public_keys=dict(type='dict', default={}, no_log=False),
            packages=dict(type='list', elements='str', default=[]),
            users=dict(type='list', elements='str', default=[]),
        ),
        supports_check_mode=True,
    )
    pairs = module.params['key_pairs']
    for name, pair in pairs.items():
        if not isinstance(pair, dict) or not pair.get('cert') or not pair.get('key'):
            module.fail_json(msg='key_pairs.%s: must be a dict with the paths cert and key' % name)
    openssl = module.get_bin_path('openssl')

    def run(args):
        if openssl is None:
            return 127, '', 'openssl is not installed'
        return module.run_command([openssl] + args)

    packages = package_facts(module.params['packages'])
    module.exit_json(
        changed=False,
        packages=packages,
        missing_packages=[name for name in module.params['packages'] if packages[name] is None],
        user_groups=dict((name, user_groups(name)) for name in module.params['users']),
        paths=dict((name, path_facts(to_text(path, errors='surrogate_or_strict')))
                   for name, path in module.params['paths'].items()),
        key_pairs=dict((name, key_pair_facts(to_text(pair['cert']), to_text(pair['key']), run))
                       for name, pair in pairs.items()),
        public_keys=dict((name, public_key_facts(to_text(path, errors='surrogate_or_strict'), run))
                         for name, path in module.params['public_keys'].items()),
    )


if __name__ == '__main__':
    main()
