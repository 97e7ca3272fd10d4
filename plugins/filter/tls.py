# -*- coding: utf-8 -*-
# Copyright: securemail.gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""TLS settings the roles accept, decided in one place (roles and audit).

tls_cipher_problems: an OpenSSL cipher string for TLS 1.2 may only name
forward-secret suites explicitly (ECDHE or DHE key exchange, certificate
authentication, AES or ChaCha20); keywords such as ALL, HIGH or DEFAULT and
combinations such as kRSA+AES are refused because they can pull in suites
without forward secrecy or without encryption (eNULL, aNULL, RC4, 3DES,
EXPORT, MD5). Exclusions (!X, -X) are harmless and accepted.

private_key_problem: whether a private key file (an ansible.builtin.stat
result, or the same fields from a probe) is private enough to be used: no
access for others, none for the group except a group the caller names
(PostgreSQL's root:ssl-cert 0640), owned by an owner the caller names.

tls_in_place: whether a role's own TLS directory (and self-signed pair) is
already as securemail.gateway.tls_selfsigned leaves it, from a path_facts
probe; the roles send that module to the host only when it is not.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible.errors import AnsibleFilterError
from ansible_collections.securemail.gateway.plugins.module_utils.path_facts import private_tls_changes, private_tls_problem

# OpenSSL's names of the TLS 1.2 suites with ephemeral (EC)DH key exchange,
# authenticated by an RSA or ECDSA certificate, with AES (GCM, CCM or CBC) or
# ChaCha20-Poly1305. Nothing else is accepted as a suite name.
FORWARD_SECRET_SUITE = re.compile(
    r'^(ECDHE-ECDSA|ECDHE-RSA|DHE-RSA)-'
    r'(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305|AES(128|256)-CCM8?|AES(128|256)-SHA(256|384)?)$')
# Exclusions only remove suites; a keyword there is fine (!aNULL, -3DES).
EXCLUSION = re.compile(r'^[!-][A-Za-z0-9+_.-]+$')
# @SECLEVEL below 2 lets weak keys and digests through again.
SECLEVEL = re.compile(r'^@SECLEVEL=([0-9]+)$')


def tls_cipher_problems(value):
    """Elements of an OpenSSL TLS 1.2 cipher string that are not explicit forward-secret suites.

    Returns a list of "element (reason)"; empty means the string is accepted.
    The separator is ``:`` (OpenSSL also takes spaces and commas; they are
    refused, so each element is judged on its own).
    """
    if not isinstance(value, str):
        return ['%r (not a string)' % (value,)]
    if not value:
        return ['"" (empty: no suite at all)']
    problems = []
    suites = 0
    for element in value.split(':'):
        if FORWARD_SECRET_SUITE.match(element):
            suites += 1
        elif EXCLUSION.match(element):
            continue
        elif element == '@STRENGTH':
            continue
        elif SECLEVEL.match(element):
            if int(SECLEVEL.match(element).group(1)) < 2:
                problems.append('%s (a security level below 2 accepts weak keys and digests)' % element)
        elif not element:
            problems.append('"" (an empty element)')
        elif re.search(r'[\s,]', element):
            problems.append('%s (separate suites with ":" only)' % element)
        elif '-' not in element:
            problems.append('%s (a keyword or combination, which can select suites without forward secrecy; '
                            'name the suites)' % element)
        else:
            problems.append('%s (not a forward-secret TLS 1.2 suite: ECDHE-ECDSA-, ECDHE-RSA- or DHE-RSA- '
                            'with AES-GCM, AES-CCM, AES-CBC or CHACHA20-POLY1305)' % element)
    if suites == 0 and not problems:
        problems.append('%s (names no suite, only exclusions)' % value)
    return problems


def _mode(value):
    if isinstance(value, int):
        return value
    try:
        return int(str(value), 8)
    except ValueError:
        raise AnsibleFilterError('private_key_problem: mode %r is not an octal number' % (value,))


def private_key_problem(stat, owners=('root',), group_readers=()):
    """Why a private key file must not be used, or '' when it may.

    ``stat`` has ``exists``, ``mode`` (octal string such as "0600", or an
    int), ``pw_name`` and ``gr_name``, as ansible.builtin.stat returns them
    (follow symlinks: what the daemon opens counts). Refused: any permission
    for others; any permission for the group, except read-only for a group in
    ``group_readers`` on a file owned by root (PostgreSQL's and Debian's
    root:ssl-cert 0640); an owner not in ``owners``.
    """
    if not isinstance(stat, dict):
        raise AnsibleFilterError('private_key_problem expects a stat result, got %s' % type(stat).__name__)
    if not stat.get('exists', True):
        return 'does not exist'
    if stat.get('isreg') is False:
        return 'is not a regular file'
    mode = _mode(stat.get('mode', 0)) & 0o7777
    owner, group = stat.get('pw_name', ''), stat.get('gr_name', '')
    alternative = ', or 0640 owned by root with group %s' % ' or '.join(group_readers) if group_readers else ''
    if mode & 0o007:
        return 'others can access it (mode %04o); it must be 0600%s' % (mode, alternative)
    if mode & 0o070:
        if not ((mode & 0o070) == 0o040 and owner == 'root' and group in group_readers):
            return 'group %s can access it (mode %04o, owner %s); it must be 0600%s' % (group, mode, owner, alternative)
    if owner not in owners:
        return 'owned by %s; it must be owned by %s' % (owner or '?', ' or '.join(owners))
    return ''


def tls_in_place(directory, cert=None, key=None):
    """True when securemail.gateway.tls_selfsigned would neither change anything nor refuse the paths.

    Each argument is one path's entry of a securemail.gateway.path_facts
    result (``isdir``, ``isreg``, ``mode``, ``pw_name``, ``gr_name``); the
    decision is the module's own (module_utils/path_facts.private_tls_*).
    """
    return not (private_tls_changes(directory, cert, key) or private_tls_problem(directory, cert, key))


class FilterModule(object):
    def filters(self):
        return {
            'tls_cipher_problems': tls_cipher_problems,
            'private_key_problem': private_key_problem,
            'tls_in_place': tls_in_place,
        }
