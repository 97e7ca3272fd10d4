# -*- coding: utf-8 -*-
# Copyright: securemail.gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every decision on the quarantine_web role's variables, in one place (tasks/validate.yml).

quarantine_web_input_problems: one message per problem, each starting with the
variable's name, in the order the role used to check them (so the first one
is what a run used to stop at). It only reads: the variables, the host's
addresses and what securemail.gateway.path_facts found on the host.

quarantine_web_input_warnings: what quarantine_web_allow_any_document_root
lets Apache serve, printed as a WARNING on every run while it does.

Cipher strings are judged by tls_cipher_problems and private keys by
private_key_problem (plugins/filter/tls.py), host names by bad_domains
(plugins/filter/network.py).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import hmac
import re

from ansible_collections.securemail.gateway.plugins.filter.network import bad_domains
from ansible_collections.securemail.gateway.plugins.filter.tls import private_key_problem, tls_cipher_problems
# One PostgreSQL identifier as the roles write it unquoted: pg_quarantine's rule.
from ansible_collections.securemail.gateway.plugins.module_utils.pgsql import IDENTIFIER as SQL_IDENTIFIER
from ansible_collections.securemail.gateway.plugins.plugin_utils.role_inputs import (
    as_bool, as_float, as_int, as_list, cleartext_database, short)

# [lowest, highest]. HSTS from a day to two years (0 would switch it off); a
# self-signed certificate at most 825 days (what browsers accept); backups
# from 1 to 100.
BOUNDS = (
    ('quarantine_web_hsts_max_age', 86400, 63072000),
    ('quarantine_web_tls_selfsigned_days', 1, 825),
    ('quarantine_web_backup_retention', 1, 100),
)
PORTS = ('quarantine_web_http_port', 'quarantine_web_https_port')
DOCUMENT_ROOT = re.compile(r'/[A-Za-z0-9._/-]*')
MODULE_NAME = re.compile(r'[A-Za-z0-9_.-]+')
TLS_FILES = (('quarantine_web_tls_cert_file', 'cert'), ('quarantine_web_tls_key_file', 'key'))


# What the application's accounts and database login take.
EMAIL = re.compile(r'^[a-z0-9._%+-]+@[a-z0-9-]+(\.[a-z0-9-]+)+$')
GATEWAY = re.compile(r'^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$')
PBKDF2_ITERATIONS = 600000  # OWASP's figure for PBKDF2-HMAC-SHA256


def quarantine_accounts(users, secret_key):
    """The application's accounts: email, PBKDF2-SHA256 hash, admin. The salt is the address under the site's
    secret key, so a second run makes the same hash (nothing changes) and two sites never share one."""
    accounts = []
    for user in users or []:
        salt = hmac.new(str(secret_key).encode('utf-8'), ('salt:' + user['email']).encode('utf-8'),
                        hashlib.sha256).digest()[:16]
        digest = hashlib.pbkdf2_hmac('sha256', str(user['password']).encode('utf-8'), salt, PBKDF2_ITERATIONS)
        accounts.append({'email': user['email'], 'admin': bool(as_bool(user.get('admin', False))),
                         'hash': 'pbkdf2_sha256$%d$%s$%s' % (PBKDF2_ITERATIONS, base64.b64encode(salt).decode(),
                                                             base64.b64encode(digest).decode())})
    return accounts


def _app(inputs):
    """The quarantine application's settings (quarantine_web_app true). Never a secret in a message."""
    if not as_bool(inputs.get('quarantine_web_app')):
        if as_bool(inputs.get('quarantine_web_digest')):
            return ['quarantine_web_digest: needs quarantine_web_app (the digest is the application\'s)']
        return []
    problems = []
    if len(str(inputs.get('quarantine_web_secret_key') or '')) < 32:
        problems.append('quarantine_web_secret_key: needs at least 32 characters (it signs the session cookies)')
    if not inputs.get('quarantine_web_db_password') or not isinstance(inputs.get('quarantine_web_db_password'), str):
        problems.append('quarantine_web_db_password: must be set with quarantine_web_app (postgresql_web_password)')
    for name in ('quarantine_web_db_name', 'quarantine_web_db_user'):
        if not SQL_IDENTIFIER.match(str(inputs.get(name))):
            problems.append('%s: %s must be a lower-case SQL identifier' % (name, short(inputs.get(name))))
    host = str(inputs.get('quarantine_web_db_host') or '')
    if not re.match(r'^[A-Za-z0-9.:-]+$', host):
        problems.append('quarantine_web_db_host: %s is not a host name or an address' % short(host))
    else:
        problems += cleartext_database('quarantine_web_db_sslmode', inputs.get('quarantine_web_db_sslmode'), host,
                                       'the password and every message')
    users = inputs.get('quarantine_web_users')
    if not isinstance(users, list) or not all(isinstance(u, dict) for u in users):
        problems.append('quarantine_web_users: must be a list of {email, password, admin}')
    else:
        emails = [u.get('email') for u in users]
        for user in users:
            email = user.get('email')
            if not isinstance(email, str) or not EMAIL.match(email):
                problems.append('quarantine_web_users: %s is not a lower-case mail address' % short(email))
            elif len(str(user.get('password') or '')) < 12:
                problems.append('quarantine_web_users: the password of %s is shorter than 12 characters' % email)
            elif emails.count(email) > 1:
                problems.append('quarantine_web_users: %s is listed twice' % email)
            if set(user) - {'email', 'password', 'admin'}:
                problems.append('quarantine_web_users: %s has unknown keys %s'
                                % (short(email), ', '.join(sorted(set(user) - {'email', 'password', 'admin'}))))
    gateways = inputs.get('quarantine_web_gateways')
    if not isinstance(gateways, dict) or not all(GATEWAY.match(str(v)) and re.match(r'^[A-Za-z0-9.-]+$', str(k))
                                                 for k, v in gateways.items()):
        problems.append('quarantine_web_gateways: must map amavisd host names to address:port, not %s'
                        % short(gateways))
    if as_bool(inputs.get('quarantine_web_digest')):
        if not GATEWAY.match(str(inputs.get('quarantine_web_digest_smtp'))):
            problems.append('quarantine_web_digest_smtp: %s is not host:port' % short(inputs.get('quarantine_web_digest_smtp')))
        sender = inputs.get('quarantine_web_digest_from')
        if sender and not EMAIL.match(str(sender).lower()):
            problems.append('quarantine_web_digest_from: %s is not a mail address' % short(sender))
    for name, low, high in (('quarantine_web_session_timeout', 60, 86400), ('quarantine_web_login_attempts', 1, 100),
                            ('quarantine_web_login_window', 10, 86400), ('quarantine_web_digest_hour', 0, 23)):
        if not low <= as_int(inputs.get(name)) <= high:
            problems.append('%s: %s must be between %d and %d' % (name, short(inputs.get(name)), low, high))
    return problems


def _given(value):
    return value not in (None, '')


def _listen_and_names(inputs, host, addresses):
    problems = []
    listen = inputs.get('quarantine_web_listen_address')
    if not _given(listen):
        problems.append('quarantine_web_listen_address: required; set it to this host\'s internal address (the '
                        'quarantine must not listen on every address)')
    elif listen not in addresses:
        problems.append('quarantine_web_listen_address: %s is not an address of %s (it has %s)'
                        % (listen, host, ', '.join(addresses)))
    ports = [as_int(inputs.get(name)) for name in PORTS]
    for name in PORTS:
        value = inputs.get(name)
        if as_int(value) != as_float(value) or not 1 <= as_int(value) <= 65535 or ports[0] == ports[1]:
            problems.append('%s: %s is not a TCP port (1-65535) distinct from the other quarantine_web port'
                            % (name, value))
    name = inputs.get('quarantine_web_server_name')
    # bad_domains lets a name end in a newline ($ in its pattern): refused
    # here, the name is written into Apache's configuration.
    if not _given(name) or str(name).startswith('.') or bad_domains([name]) or re.search(r'\s', str(name)):
        problems.append('quarantine_web_server_name: %s is not a host name' % short(name))
    return problems


def _paths_and_settings(inputs, needed_modules):
    problems = []
    root = inputs.get('quarantine_web_document_root')
    if not DOCUMENT_ROOT.fullmatch(str(root)) or re.fullmatch('/+', str(root)) or '..' in str(root):
        problems.append('quarantine_web_document_root: %s must be an absolute path of letters, digits and . _ - / '
                        '(not / itself, no ..)' % short(root))
    # The modules the quarantine needs include ssl's dependencies: a2enmod ssl
    # would enable them again, so disabling one could never converge.
    modules = inputs.get('quarantine_web_disabled_modules')
    if as_list(modules) is None:
        problems.append('quarantine_web_disabled_modules: must be a list of module names')
    problems.extend('quarantine_web_disabled_modules: %s is not a module name, or is one the quarantine needs (%s)'
                    % (short(item, 60), ', '.join(needed_modules))
                    for item in as_list(modules) or []
                    if not isinstance(item, str) or not MODULE_NAME.fullmatch(item) or item in needed_modules)
    for name, low, high in BOUNDS:
        value = inputs.get(name)
        if not re.fullmatch('[0-9]+', str(value)) or not low <= int(str(value)) <= high:
            problems.append('%s: %s must be a whole number from %d to %d' % (name, short(value, 40), low, high))
    # Keywords and combinations (ALL, HIGH, DEFAULT, kRSA+AES) can select
    # suites without forward secrecy or without encryption.
    ciphers = tls_cipher_problems(inputs.get('quarantine_web_tls_cipher_suite'))
    if ciphers:
        problems.append('quarantine_web_tls_cipher_suite: refused: %s' % short('; '.join(ciphers), 600))
    (cert, dummy), (key, dummy) = TLS_FILES
    for name, other in ((cert, key), (key, cert)):
        if _given(inputs.get(other)) and not _given(inputs.get(name)):
            problems.append('%s: empty, but %s is set; set both or neither' % (name, other))
    return problems


def _document_root(inputs, probe, docroot_parents):
    """(outside, real): whether the document root is not strictly below a parent, as written or after symlinks."""
    found = probe.get('paths') or {}
    root = str(inputs.get('quarantine_web_document_root'))
    real = (found.get('document_root') or {}).get('real') or root
    real_parents = [(found.get(parent) or {}).get('real') or parent for parent in docroot_parents]
    below = [any(re.match(re.escape(parent) + '/[^/]', path) for parent in parents)
             for path, parents in ((root, docroot_parents), (real, real_parents))]
    return not all(below), real


def _files(inputs, probe, host, docroot_parents):
    problems = []
    found = probe.get('paths') or {}
    # The role makes its own pair when no certificate is given.
    if _given(inputs.get('quarantine_web_tls_cert_file')):
        for name, kind in TLS_FILES:
            if _given(inputs.get(name)) and not (found.get(kind) or {}).get('isreg'):
                problems.append('%s: %s does not exist on %s' % (name, inputs.get(name), host))
        # Apache reads the key as root before it drops to www-data: nobody else
        # needs it, and a key www-data (or a group) can read leaks to any code
        # Apache runs.
        key = found.get('key') or {}
        reason = private_key_problem(key, ['root']) if key.get('isreg') else ''
        if reason:
            problems.append('quarantine_web_tls_key_file: %s is not private enough: %s'
                            % (inputs.get('quarantine_web_tls_key_file'), reason))
    # Apache serves everything below the document root to every LAN user:
    # /root would hand out .bashrc and whatever else is there.
    root = inputs.get('quarantine_web_document_root')
    outside, real = _document_root(inputs, probe, docroot_parents)
    if outside and not as_bool(inputs.get('quarantine_web_allow_any_document_root')):
        problems.append('quarantine_web_document_root: %s%s is not below %s: Apache would serve whatever it holds to '
                        'every LAN user. Use a directory below them, or set quarantine_web_allow_any_document_root: '
                        'true if you really mean it'
                        % (root, '' if real == root else ' (really %s, after symlinks)' % real,
                           ' or '.join(docroot_parents)))
    facts = found.get('document_root') or {}
    if facts.get('exists') and not facts.get('isdir'):
        problems.append('quarantine_web_document_root: %s exists and is not a directory' % root)
    return problems


def quarantine_web_input_problems(inputs, probe=None, host='this host', addresses=(), needed_modules=(),
                                  docroot_parents=()):
    """Problems with the quarantine_web role's variables: 'variable: reason' each; [] when none.

    ``inputs``: every quarantine_web_* variable by name. ``probe``: what
    securemail.gateway.path_facts found (paths document_root, each of
    ``docroot_parents`` by its own path, and cert and key when a certificate is
    given); without it the files are not judged. ``addresses``: the host's
    addresses. ``needed_modules``: the Apache modules the quarantine needs.
    ``docroot_parents``: where a document root may be (strictly below).
    """
    problems = _listen_and_names(inputs, host, addresses) + _paths_and_settings(inputs, needed_modules) + _app(inputs)
    if probe is not None:
        problems += _files(inputs, probe, host, docroot_parents)
    return problems


def quarantine_web_input_warnings(inputs, probe, host='this host', docroot_parents=()):
    """What quarantine_web_allow_any_document_root lets through, as a WARNING message; [] when nothing."""
    outside, real = _document_root(inputs, probe, docroot_parents)
    if not outside:
        return []
    return ['WARNING: quarantine_web_allow_any_document_root is true on %s and Apache serves %s to every LAN user'
            % (host, real)]


class FilterModule(object):
    def filters(self):
        return dict((f.__name__, f) for f in (quarantine_web_input_problems, quarantine_web_input_warnings,
                                              quarantine_accounts))
