# -*- coding: utf-8 -*-
# Copyright: securemail.gateway contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every decision on the content_filter role's variables, in one place."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import math
import re

from ansible.module_utils.parsing.convert_bool import boolean
from ansible_collections.securemail.gateway.plugins.filter.network import bad_domains
# One PostgreSQL identifier as the roles write it unquoted: pg_quarantine's rule.
from ansible_collections.securemail.gateway.plugins.module_utils.pgsql import IDENTIFIER as SQL_IDENTIFIER
from ansible_collections.securemail.gateway.plugins.plugin_utils.role_inputs import cleartext_database

# [lowest, highest]. SpamAssassin's required_score is 5: a tag level below 1
# marks ham as spam, a kill level below 3 holds ham in the quarantine, and
# above 100 is no level at all. Each amavisd child takes some 100 MB.
BOUNDS = {
    'content_filter_spam_tag2_level': (1, 100),
    'content_filter_spam_kill_level': (3, 100),
    'content_filter_max_servers': (1, 50),
    'content_filter_backup_retention': (1, 100),
    'content_filter_log_keep': (1, 3660),
}
KINDS = ('spam', 'banned', 'virus', 'bad_header')
# ClamAV database files a user may add: hash (hdb, hsb), body (ndb), logical
# (ldb) signatures, and allow lists (fp, sfp, ign2). Names as clamd loads them.
SIGNATURE_FILE_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.-]*\.(hdb|hsb|ndb|ldb|fp|sfp|ign2)$')
# freshclam's sources. A private mirror serves ClamAV's own databases, which
# are signed, so plain http cannot slip anything in. A custom URL serves an
# unsigned file (an allow list among them): over plain http anyone on the path
# could switch detection off, so it takes https, a local file:// path, or an
# opt-in.
MIRROR_URL_RE = re.compile(r'^https?://[A-Za-z0-9.-]+(:\d{1,5})?(/[A-Za-z0-9._~/-]*)?$')
CUSTOM_URL_RE = re.compile(r'^(https?://[A-Za-z0-9.-]+(:\d{1,5})?|file://)/([A-Za-z0-9._~-]+/)*'
                           r'(?P<name>[A-Za-z0-9][A-Za-z0-9_.-]*)$')
# hdb/hsb/fp/sfp lines: HASH:SIZE:NAME (SIZE may be * in hsb/sfp).
HASH_FILES = ('hdb', 'hsb', 'fp', 'sfp')
HASH_LINE_RE = re.compile(r'^[0-9a-fA-F]{32,64}:(\d+|\*):[^:\s][^:]*(:\d+)?$')
DESTINIES = ('discard', 'bounce', 'reject', 'pass')
ADDRESS_RE = re.compile(r'^[A-Za-z0-9._+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$')
# A number as Perl reads one, and nothing else (no inf, nan or 0x).
NUMBER_RE = re.compile(r'^[-+]?[0-9][0-9_]*(\.[0-9_]*)?([eE][-+]?[0-9]+)?$')
# amavisd test-config accepts a name without a dot, but the daemon then
# refuses to start; the name is also written into a Perl string.
HOSTNAME_RE = re.compile(r'^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$')
# 50-user is Perl that test-config runs as root: a quote in this path would
# end the string and run what follows.
PATH_RE = re.compile(r'^/[A-Za-z0-9._/-]+$')
# The SQL store's DSN is one Perl string of key=value pairs split at ';'.
SQL_HOST_RE = re.compile(r'^([A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*|[0-9a-fA-F:.]+)$')
SSLMODES = ('disable', 'require', 'verify-ca', 'verify-full')


def _short(value, width=80):
    text = str(value)
    return text if len(text) <= width else text[:width - 3] + '...'


def _number(value):
    """The finite float a setting stands for, or None."""
    if isinstance(value, bool) or not NUMBER_RE.match(str(value)):
        return None
    number = float(str(value).replace('_', ''))
    return number if math.isfinite(number) else None


def _bool(value):
    """A flag read with Ansible's boolean(), as postfix_inputs reads its flags."""
    return boolean(value, strict=False)


def _list(inputs, name):
    """A list variable's value, with null read as empty (the type is checked by the caller)."""
    value = inputs.get(name)
    return [] if value is None else value


def _kinds(inputs, name):
    """The kinds a list variable names, and a problem when it names anything else."""
    value = _list(inputs, name)
    if not isinstance(value, list) or not set(value) <= set(KINDS):
        return [], ['%s: %s must be a list of %s' % (name, _short(value), ', '.join(KINDS))]
    return value, []


def _destinies(inputs):
    """A blocked message is delivered, bounced, rejected or held with a copy: never dropped unseen."""
    quarantined, problems = _kinds(inputs, 'content_filter_quarantine')
    silent_ok, more = _kinds(inputs, 'content_filter_allow_silent_discard')
    problems += more
    for kind in KINDS:
        name = 'content_filter_%s_destiny' % kind
        destiny = inputs.get(name)
        if destiny not in DESTINIES:
            problems.append('%s: %s must be one of %s' % (name, _short(destiny), ', '.join(DESTINIES)))
        elif destiny == 'discard' and kind not in quarantined and kind not in silent_ok:
            # amavisd answers 250 and drops the message: the sender thinks it
            # was delivered, the recipient never sees it, and no copy is left.
            problems.append('%s: discard without a quarantine copy loses the message silently; add %s to '
                            'content_filter_quarantine, choose bounce, reject or pass, or list %s in '
                            'content_filter_allow_silent_discard' % (name, kind, kind))
    return problems


def _signatures(inputs):
    """ClamAV needs signatures, and the files the role writes must be ones clamd loads."""
    if not _bool(inputs.get('content_filter_antivirus')):
        return []
    signatures = inputs.get('content_filter_clamav_signatures') or {}
    if not isinstance(signatures, dict):
        return ['content_filter_clamav_signatures: %s must map file names to lists of lines' % _short(signatures)]
    problems = []
    if not signatures and not _bool(inputs.get('content_filter_clamav_freshclam')):
        problems.append('content_filter_clamav_signatures: clamd has no signatures without freshclam '
                        '(content_filter_clamav_freshclam: false); give signature files, or every message waits in '
                        'the queue')
    for name, lines in sorted(signatures.items(), key=lambda item: str(item[0])):
        if not SIGNATURE_FILE_RE.match(str(name)):
            problems.append('content_filter_clamav_signatures: %s is not a ClamAV database file name (NAME.hdb, '
                            '.hsb, .ndb, .ldb, .fp, .sfp or .ign2)' % _short(name))
            continue
        if not isinstance(lines, list) or not lines or not all(isinstance(line, str) and line.strip() for line in lines):
            problems.append('content_filter_clamav_signatures: %s must be a list of non-empty lines' % name)
            continue
        hashes = name.rsplit('.', 1)[1] in HASH_FILES
        bad = [str(i) for i, line in enumerate(lines) if '\n' in line or '\r' in line or '\0' in line
               or (hashes and not HASH_LINE_RE.match(line))]
        if bad:
            what = 'are not single HASH:SIZE:NAME lines' if hashes else 'hold a line break'
            problems.append('content_filter_clamav_signatures: %s: entries %s %s' % (name, ', '.join(bad), what))
    return problems


def clamav_signature_files(signatures, directory):
    """The engine's file entries for content_filter_clamav_signatures: one database file each, clamav's."""
    return [{'dest': '%s/%s' % (directory, name), 'content': ''.join('%s\n' % line for line in lines),
             'owner': 'clamav', 'group': 'clamav', 'mode': '0644'}
            for name, lines in sorted((signatures or {}).items())]


def _freshclam(inputs):
    """freshclam's sources are ones it can use, and none is set where nothing reads it."""
    mirrors, urls = _list(inputs, 'content_filter_clamav_private_mirrors'), _list(inputs, 'content_filter_clamav_custom_urls')
    problems = []
    for name, value in (('content_filter_clamav_private_mirrors', mirrors), ('content_filter_clamav_custom_urls', urls)):
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            problems.append('%s: %s must be a list of URLs' % (name, _short(value)))
    if problems:
        return problems
    freshclam = _bool(inputs.get('content_filter_clamav_freshclam')) and _bool(inputs.get('content_filter_antivirus'))
    official = _bool(inputs.get('content_filter_clamav_official_databases'))
    if not freshclam:
        for name, value in (('content_filter_clamav_private_mirrors', mirrors),
                            ('content_filter_clamav_custom_urls', urls)):
            if value:
                problems.append('%s: nothing reads it while content_filter_clamav_freshclam or '
                                'content_filter_antivirus is false; set both true or leave it empty' % name)
        return problems
    bad = [m for m in mirrors if not MIRROR_URL_RE.match(m)]
    if bad:
        problems.append('content_filter_clamav_private_mirrors: %s: not an http:// or https:// URL of a mirror '
                        '(host, optional port and path)' % ', '.join(_short(b, 60) for b in bad))
    if mirrors and not official:
        problems.append('content_filter_clamav_private_mirrors: a private mirror serves ClamAV\'s own databases, '
                        'which content_filter_clamav_official_databases: false excludes')
    names, plain = {}, []
    for url in urls:
        match = CUSTOM_URL_RE.match(url)
        if not match or '/../' in url or '/./' in url:
            problems.append('content_filter_clamav_custom_urls: %s is not an https://, http:// or file:/// URL of a '
                            'ClamAV database file' % _short(url, 60))
            continue
        if not SIGNATURE_FILE_RE.match(match.group('name')):
            problems.append('content_filter_clamav_custom_urls: %s does not end in a ClamAV database file name '
                            '(NAME.hdb, .hsb, .ndb, .ldb, .fp, .sfp or .ign2)' % _short(url, 60))
            continue
        names.setdefault(match.group('name'), []).append(url)
        if url.startswith('http://'):
            plain.append(url)
    if plain and not _bool(inputs.get('content_filter_clamav_allow_plain_http')):
        problems.append('content_filter_clamav_custom_urls: %s: custom database files are not signed, and one '
                        'fetched over plain http can be swapped on the way (an allow list switches detection off); '
                        'use https:// or file://, or set content_filter_clamav_allow_plain_http: true'
                        % ', '.join(_short(p, 60) for p in plain))
    signatures = inputs.get('content_filter_clamav_signatures') or {}
    for name, sources in sorted(names.items()):
        if len(sources) > 1 or (isinstance(signatures, dict) and name in signatures):
            problems.append('content_filter_clamav_custom_urls: %s comes from more than one source (URLs or '
                            'content_filter_clamav_signatures); each would overwrite the other in /var/lib/clamav' % name)
    if not official and not urls:
        problems.append('content_filter_clamav_official_databases: false leaves freshclam nothing to fetch; give '
                        'content_filter_clamav_custom_urls, or set content_filter_clamav_freshclam: false and use '
                        'content_filter_clamav_signatures')
    return problems


def _sql(inputs):
    """The SQL store of the quarantine and log (content_filter_sql_host set)."""
    host = inputs.get('content_filter_sql_host')
    if not host:
        return []
    problems = []
    if not isinstance(host, str) or not SQL_HOST_RE.match(host):
        return ['content_filter_sql_host: %s is not a host name or an IP address' % _short(host)]
    port = inputs.get('content_filter_sql_port')
    if isinstance(port, bool) or not str(port).isdigit() or not 1 <= int(port) <= 65535:
        problems.append('content_filter_sql_port: %s is not a port in 1-65535' % _short(port))
    for name in ('content_filter_sql_database', 'content_filter_sql_user'):
        value = inputs.get(name)
        if not isinstance(value, str) or not SQL_IDENTIFIER.match(value):
            problems.append('%s: %s must be a lower-case SQL identifier (a-z, 0-9, _)' % (name, _short(value)))
    # Never the value in a message.
    password = inputs.get('content_filter_sql_password')
    if not isinstance(password, str) or not password:
        problems.append('content_filter_sql_password: must be set with content_filter_sql_host (the filter logs in '
                        'with scram-sha-256; the database role has no other way in)')
    elif '\n' in password or '\0' in password:
        problems.append('content_filter_sql_password: contains a newline or NUL')
    sslmode = inputs.get('content_filter_sql_sslmode')
    if sslmode not in SSLMODES:
        problems.append('content_filter_sql_sslmode: %s must be one of %s' % (_short(sslmode), ', '.join(SSLMODES)))
    problems += cleartext_database('content_filter_sql_sslmode', sslmode, host, 'the password exchange and every message')
    return problems


def _not_addresses(values):
    """Items that are not one IP address (a network, a name, a wildcard)."""
    bad = []
    for value in values:
        try:
            if ipaddress.ip_address(str(value)).is_unspecified:
                bad.append(value)
        except ValueError:
            bad.append(value)
    return bad


def _release(inputs):
    """The AM.PDP release port for the quarantine web application."""
    port = inputs.get('content_filter_release_port')
    if isinstance(port, bool) or not str(port).isdigit() or not 0 <= int(port) <= 65535:
        return ['content_filter_release_port: %s is not 0 or a port in 1-65535' % _short(port)]
    if int(port) == 0:
        return []
    problems = []
    if int(port) in (_number(inputs.get('content_filter_listen_port')), _number(inputs.get('content_filter_reinject_port'))):
        problems.append('content_filter_release_port: %s is already the filter or re-injection port' % port)
    if not inputs.get('content_filter_sql_host'):
        problems.append('content_filter_release_port: needs content_filter_sql_host (the web application finds the '
                        'messages and their secret_id in the database)')
    address = inputs.get('content_filter_release_address')
    if not isinstance(address, str) or _not_addresses([address]):
        problems.append('content_filter_release_address: %s must be one address of this host, not a wildcard'
                        % _short(address))
    clients = inputs.get('content_filter_release_clients')
    if not isinstance(clients, list) or _not_addresses(clients):
        problems.append('content_filter_release_clients: %s must be a list of addresses (no networks, no wildcard)'
                        % _short(clients))
    return problems


def content_filter_input_problems(inputs):
    """Problems with the role's variables: 'variable: reason' each; [] when none."""
    problems = []
    ports = [inputs.get('content_filter_listen_port'), inputs.get('content_filter_reinject_port')]
    numbers = [int(p) if str(p).isdigit() else 0 for p in ports]
    if not all(1 <= n <= 65535 for n in numbers) or numbers[0] == numbers[1]:
        problems.append('content_filter_listen_port / content_filter_reinject_port: %s and %s must be distinct '
                        'ports in 1-65535' % tuple(ports))
    bad = bad_domains(inputs.get('content_filter_local_domains') or [])
    if bad:
        problems.append('content_filter_local_domains: not a domain name: %s' % ', '.join(str(b) for b in bad))
    hostname = inputs.get('content_filter_hostname')
    if not isinstance(hostname, str) or not HOSTNAME_RE.match(hostname):
        problems.append('content_filter_hostname: %s is not a fully qualified host name (letters, digits, - and at '
                        'least one dot; amavisd refuses to start without a dot, and the name is written into a '
                        'Perl string)' % _short(hostname))
    values = {}
    for name, (low, high) in sorted(BOUNDS.items()):
        values[name] = _number(inputs.get(name))
        if values[name] is None or not low <= values[name] <= high:
            problems.append('%s: %s must be a finite number from %s to %s' % (name, _short(inputs.get(name), 40),
                                                                              low, high))
    tag2, kill = values['content_filter_spam_tag2_level'], values['content_filter_spam_kill_level']
    if tag2 is not None and kill is not None and tag2 > kill:
        problems.append('content_filter_spam_tag2_level: %s must not be above content_filter_spam_kill_level (%s)'
                        % (inputs['content_filter_spam_tag2_level'], inputs['content_filter_spam_kill_level']))
    problems += _destinies(inputs) + _signatures(inputs) + _freshclam(inputs) + _sql(inputs) + _release(inputs)
    if inputs.get('content_filter_antivirus_failure') not in ('defer', 'pass'):
        problems.append('content_filter_antivirus_failure: %s must be defer or pass'
                        % _short(inputs.get('content_filter_antivirus_failure')))
    admin = inputs.get('content_filter_admin_address')
    if admin and (not isinstance(admin, str) or not ADDRESS_RE.match(admin)):
        problems.append('content_filter_admin_address: %s is not a plain mail address (local@domain.tld; it is '
                        'written into a Perl string)' % _short(admin))
    path = inputs.get('content_filter_quarantine_dir')
    if not isinstance(path, str) or not PATH_RE.match(path) or '..' in path:
        problems.append('content_filter_quarantine_dir: %s must be an absolute path of letters, digits and . _ - / '
                        'without .. (it is written into a Perl string)' % _short(path))
    return problems


class FilterModule(object):
    def filters(self):
        return {'content_filter_input_problems': content_filter_input_problems,
                'clamav_signature_files': clamav_signature_files}
