# -*- coding: utf-8 -*-
# Copyright: securemail.gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The audit's own judgements of what a host exposes besides its sockets.

Private key file modes, document roots, PostgreSQL client authentication
rules and TLS settings. Each function takes what was read from the host and
returns findings (dicts with check, kind and reason); none of them consults
the inventory or the roles' exposure policy, so a dangerous inventory cannot
make its own host pass.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import grp
import ipaddress
import os
import pwd
import re
import stat

KEY_MARKER = b'PRIVATE KEY-----'
# Enough for any PEM chain file; a larger file is read only this far.
KEY_READ_LIMIT = 1024 * 1024

DEFAULT_DOCUMENT_ROOT_BASES = ('/var/www', '/srv')

TLS_ORDER = {'TLSv1': 1, 'TLSv1.1': 2, 'TLSv1.2': 3, 'TLSv1.3': 4}
MIN_TLS = 'TLSv1.2'

_LOOPBACK_NETS = (ipaddress.ip_network('127.0.0.0/8'), ipaddress.ip_network('::1/128'),
                  ipaddress.ip_network('::ffff:127.0.0.0/104'))
# pg_hba address keywords that only ever match the server itself.
_LOCAL_HBA_WORDS = ('samehost', 'localhost')


def _finding(check, kind, reason, **extra):
    return dict(extra, check=check, kind=kind, reason=reason)


# ---------------------------------------------------------------- private keys

def _name(lookup, ident):
    try:
        return lookup(ident)[0]
    except KeyError:
        return str(ident)


def inspect_key(path):
    """What the audit needs to know about a key file, read on the host. Never returns its content."""
    info = dict(path=path, exists=False, holds_key=False, mode=None, owner=None, group=None)
    try:
        st = os.stat(path)
    except OSError as exc:
        info['error'] = exc.strerror or str(exc)
        return info
    info.update(exists=True, mode='%04o' % stat.S_IMODE(st.st_mode),
                owner=_name(pwd.getpwuid, st.st_uid), group=_name(grp.getgrgid, st.st_gid))
    try:
        with open(path, 'rb') as handle:
            info['holds_key'] = KEY_MARKER in handle.read(KEY_READ_LIMIT)
    except (IOError, OSError) as exc:
        info['error'] = exc.strerror or str(exc)
        # Unreadable by the auditor: judge it as a key.
        info['holds_key'] = True
    return info


def key_findings(info, service, group_readable_by=None, purpose='TLS'):
    """Findings for one inspected key file.

    Readable (or writable) by others is always a finding; by the group too,
    except root:<group_readable_by> with mode 0640 exactly (the form
    PostgreSQL accepts for root-owned keys, used with Debian's ssl-cert
    group). One finding per key: open to others says it all. A file listed as
    a key that holds no private key (a certificate file in
    smtpd_tls_chain_files) is not judged. ``purpose`` names the key in the
    text and the check ("TLS" keys are the "tls keys" check, "DKIM" keys the
    "dkim keys" check), so a report can tell a signing key from a TLS key.
    """
    path = info['path']
    check = '%s keys' % purpose.lower()
    what = '%s %s key %s' % (service, purpose, path)
    if not info['exists']:
        return [_finding(check, 'key_missing', '%s cannot be read: %s' % (
            what, info.get('error', 'missing')), path=path, service=service)]
    if not info['holds_key']:
        return []
    mode = int(info['mode'], 8)
    who = '%s %s:%s' % (info['mode'], info['owner'], info['group'])
    findings = []
    if mode & 0o007:
        findings.append(_finding(check, 'key_open_to_others', '%s is %s by others (%s)' % (
            what, _access_words(mode & 0o007), who), path=path, service=service, mode=info['mode']))
    elif mode & 0o070:
        allowed = (group_readable_by and info['owner'] == 'root' and info['group'] == group_readable_by
                   and mode == 0o640)
        if not allowed:
            exception = (' (only root:%s 0640 is accepted)' % group_readable_by) if group_readable_by else ''
            findings.append(_finding(check, 'key_open_to_group', '%s is %s by group %s (%s)%s' % (
                what, _access_words((mode & 0o070) >> 3), info['group'], who, exception),
                path=path, service=service, mode=info['mode']))
    return findings


def _access_words(bits):
    words = [w for bit, w in ((0o4, 'readable'), (0o2, 'writable'), (0o1, 'executable')) if bits & bit]
    return ' and '.join(words)


# -------------------------------------------------------------- document roots

def document_root_findings(path, service, bases=DEFAULT_DOCUMENT_ROOT_BASES):
    """A DocumentRoot must resolve (symbolic links followed) inside one of bases."""
    real = os.path.realpath(path)
    real_bases = [os.path.realpath(b) for b in bases]
    for base in real_bases:
        if real == base or real.startswith(base.rstrip('/') + '/'):
            return []
    shown = path if real == os.path.normpath(path) else '%s (resolves to %s)' % (path, real)
    return [_finding('document root', 'document_root_outside', '%s DocumentRoot %s is outside %s' % (
        service, shown, ' and '.join(bases)), path=path, realpath=real, service=service)]


# ------------------------------------------------------------------ PostgreSQL

def _prefix(address, netmask):
    if not netmask:
        return ipaddress.ip_network(address, strict=False)
    bits = bin(int(ipaddress.ip_address(netmask))).count('1')
    return ipaddress.ip_network('%s/%d' % (address, bits), strict=False)


def hba_rule_is_local(rule):
    """True when a host* rule can only match clients on the server itself."""
    address = rule.get('address')
    if address is None:
        return True  # local (Unix socket) rules have no address
    if address in _LOCAL_HBA_WORDS:
        return True
    try:
        net = _prefix(address, rule.get('netmask'))
    except ValueError:
        return False  # a host name, .domain, all, samenet: remote
    return any(net.version == lo.version and net.subnet_of(lo) for lo in _LOOPBACK_NETS)


def _hba_text(rule):
    def joined(value):
        return ','.join(value) if isinstance(value, list) else str(value or '')
    address = rule.get('address') or ''
    if rule.get('netmask'):
        try:
            address = str(_prefix(address, rule['netmask']))
        except ValueError:
            address = '%s/%s' % (address, rule['netmask'])
    return ' '.join(p for p in (rule.get('type'), joined(rule.get('database')), joined(rule.get('user_name')),
                                address, rule.get('auth_method')) if p)


def hba_findings(rules):
    """pg_hba rules (rows of pg_hba_file_rules) that let remote clients in without TLS.

    host and hostnossl match connections without TLS; a rule of either type
    with a non-local address and any method but reject is a finding. hostssl
    rules and rejects are fine; lines with errors are reported by the
    'postgresql' check.
    """
    findings = []
    for rule in rules:
        if rule.get('error') or rule.get('type') not in ('host', 'hostnossl'):
            continue
        if rule.get('auth_method') == 'reject' or hba_rule_is_local(rule):
            continue
        findings.append(_finding('pg_hba', 'remote_without_tls', 'pg_hba.conf line %s (%s) lets remote clients in '
                                 'without TLS (use hostssl)' % (rule.get('line_number'), _hba_text(rule)),
                                 line_number=rule.get('line_number')))
    return findings


# Cipher string words (OpenSSL) and the weakness each one brings in.
_WEAK_WORDS = {
    'NULL': 'eNULL', 'ENULL': 'eNULL', 'COMPLEMENTOFALL': 'eNULL',
    'ANULL': 'aNULL', 'ADH': 'aNULL', 'AECDH': 'aNULL', 'COMPLEMENTOFDEFAULT': 'aNULL',
    'EXPORT': 'EXPORT', 'EXP': 'EXPORT',
}
# Aliases that include the anonymous (aNULL) suites unless the string removes them.
_BROAD_WORDS = ('ALL', 'HIGH', 'MEDIUM', 'LOW')
_WEAKNESS_TEXT = {'eNULL': 'unencrypted (eNULL)', 'aNULL': 'unauthenticated (aNULL)', 'EXPORT': 'export-grade'}


def cipher_weaknesses(ciphers):
    """Weaknesses an OpenSSL cipher string lets in: list of (word, weakness).

    '!X' anywhere removes X for good; '-X' removes what came before it.
    """
    tokens = [t for t in re.split(r'[:,\s]+', ciphers or '') if t]
    found = []
    for index, token in enumerate(tokens):
        if token[0] in '!-+@':
            continue
        parts = [p.upper() for p in token.split('+')]
        weaknesses = set(_WEAK_WORDS[p] for p in parts if p in _WEAK_WORDS)
        if len(parts) == 1 and parts[0] in _BROAD_WORDS:
            weaknesses.add('aNULL')
        for weakness in sorted(weaknesses):
            if not _removed(weakness, tokens, index):
                found.append((token, weakness))
    return found


def _removed(weakness, tokens, index):
    names = set(k for k, v in _WEAK_WORDS.items() if v == weakness)
    for position, token in enumerate(tokens):
        if token[0] == '!' and token[1:].upper() in names:
            return True
        if token[0] == '-' and position > index and token[1:].upper() in names:
            return True
    return False


def postgresql_tls_findings(settings):
    """Findings for PostgreSQL's effective ssl, ssl_min_protocol_version and ssl_ciphers."""
    findings = []
    if str(settings.get('ssl', '')).lower() != 'on':
        findings.append(_finding('postgresql tls', 'ssl_off', 'ssl is %s: remote clients cannot encrypt' % (
            settings.get('ssl') or 'unset'), setting='ssl'))
        return findings
    minimum = settings.get('ssl_min_protocol_version') or ''
    if TLS_ORDER.get(minimum, 0) < TLS_ORDER[MIN_TLS]:
        findings.append(_finding('postgresql tls', 'old_tls', 'ssl_min_protocol_version is %s (below %s)' % (
            minimum or "'' (any)", MIN_TLS), setting='ssl_min_protocol_version'))
    for word, weakness in cipher_weaknesses(settings.get('ssl_ciphers')):
        findings.append(_finding('postgresql tls', 'weak_ciphers', "ssl_ciphers '%s': %s lets in %s cipher suites" % (
            settings.get('ssl_ciphers'), word, _WEAKNESS_TEXT[weakness]), setting='ssl_ciphers'))
    return findings
