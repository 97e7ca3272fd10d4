# -*- coding: utf-8 -*-
# Copyright: securemail.gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every decision on the postgresql role's variables, in one place (tasks/validate.yml).

postgresql_input_problems: one message per problem, each starting with the
variable's name, in the order the role used to check them (so the first one
is what a run used to stop at). It only reads: the variables, the host's
addresses and what securemail.gateway.path_facts found on the host.

postgresql_input_warnings: what the opt-ins (postgresql_allow_trust_over_tcp,
postgresql_allow_remote_without_tls, postgresql_allow_public_networks) let in,
printed as a WARNING on every run while they do.

Which networks may be trusted at all is network_trust_problem's decision
(plugins/filter/network.py), which pg_hba lines need TLS is
plugins/filter/postgresql.py's, and whether a key is private enough is
private_key_problem's (plugins/filter/tls.py).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

from ansible_collections.securemail.gateway.plugins.filter.network import bad_networks, untrusted_networks
from ansible_collections.securemail.gateway.plugins.filter.postgresql import (
    postgresql_hba_untrusted, postgresql_hba_without_tls, remote_networks)
from ansible_collections.securemail.gateway.plugins.filter.tls import private_key_problem
# One PostgreSQL identifier as the roles write it unquoted: pg_quarantine's rule.
from ansible_collections.securemail.gateway.plugins.module_utils.pgsql import IDENTIFIER as SQL_IDENTIFIER
from ansible_collections.securemail.gateway.plugins.plugin_utils.role_inputs import as_bool, as_int, as_list

# Parameters the role owns: postgresql_extra_parameters may not set them,
# because the role verifies their effect or Debian's tools rely on them.
MANAGED_PARAMETERS = ('data_directory', 'hba_file', 'ident_file', 'external_pid_file', 'listen_addresses', 'port',
                      'unix_socket_directories', 'cluster_name', 'ssl', 'ssl_cert_file', 'ssl_key_file', 'include_dir',
                      'include', 'include_if_exists')
# Of those, the ones that decide how safe a login is: refused with their own
# message (TLS 1.2 at least, forward-secret ciphers, SCRAM verifiers).
TLS_PARAMETERS = ('password_encryption', 'ssl_min_protocol_version', 'ssl_max_protocol_version', 'ssl_ciphers',
                  'ssl_prefer_server_ciphers', 'ssl_ecdh_curve', 'ssl_dh_params_file')
# postgresql_ssl_min_protocol_version's choices (meta/argument_specs.yml).
TLS_VERSIONS = ('TLSv1.2', 'TLSv1.3')
HBA_TYPES = ('local', 'host', 'hostssl', 'hostnossl')
# trust is refused on its own (over TCP only with postgresql_allow_trust_over_tcp).
HBA_METHODS = ('scram-sha-256', 'peer', 'cert', 'reject')
HBA_TOKEN = re.compile(r'[^\s#]+')
RESERVED_NAMES = ('postgres', 'template0', 'template1', 'public', 'all', 'replication')
PARAMETER_NAME = re.compile(r'[a-z_][a-z0-9_.]*')
# Written into postgresql.conf between single quotes.
SCALARS = ('postgresql_shared_buffers', 'postgresql_locale', 'postgresql_timezone', 'postgresql_ssl_cert_file',
           'postgresql_ssl_key_file')
# Debian's pair, made by the ssl-cert package that comes with postgresql: on a
# fresh host it may not exist yet, and will.
SNAKEOIL = ('/etc/ssl/certs/ssl-cert-snakeoil.pem', '/etc/ssl/private/ssl-cert-snakeoil.key')


def _entries(values):
    return [e for e in as_list(values) or [] if isinstance(e, dict)]


def _names(inputs):
    problems = []
    version, cluster = inputs.get('postgresql_version'), inputs.get('postgresql_cluster')
    # Empty: the version Debian ships for the host's release.
    if version not in ('', None) and not re.fullmatch(r'[0-9]+', str(version)):
        problems.append('postgresql_version: %s is not a major version (digits only, or empty)' % version)
    if not re.fullmatch(r'[A-Za-z0-9_.-]+', str(cluster)) or cluster in ('.', '..'):
        problems.append('postgresql_cluster: %s is not a cluster name (letters, digits, _ . -; not . or ..)' % cluster)
    return problems


def _listen(inputs, host, addresses, wildcards):
    listen = inputs.get('postgresql_listen_addresses')
    if as_list(listen) is None:
        return ['postgresql_listen_addresses: must be a list of addresses, not %s' % type(listen).__name__]
    if not listen:
        return ['postgresql_listen_addresses: empty; use [localhost] for a database only this host uses']
    # Only what the role can check against the bound sockets after the run.
    return ['postgresql_listen_addresses: %s is not localhost, * or an address of %s (host names and CIDR networks '
            'are not accepted: the role checks the bound sockets against this list)' % (item, host)
            for item in listen
            if item not in wildcards
            and ('/' in str(item) or bad_networks([str(item)]) or str(item) not in addresses)]


def _identities(inputs):
    problems = []
    port = inputs.get('postgresql_port')
    if not 1 <= as_int(port) <= 65535:
        problems.append('postgresql_port: %s is not between 1 and 65535' % port)
    allowed = inputs.get('postgresql_allowed_hosts')
    if as_list(allowed) is None:
        problems.append('postgresql_allowed_hosts: must be a list of addresses or CIDR networks')
    elif bad_networks(allowed):
        problems.append('postgresql_allowed_hosts: not an address or CIDR network: %s'
                        % ', '.join(str(b) for b in bad_networks(allowed)))
    users = ('postgresql_db_user', 'postgresql_filter_user', 'postgresql_web_user')
    for name in ('postgresql_db_name',) + users:
        value = inputs.get(name)
        # PostgreSQL keeps the pg_ prefix for its own roles.
        if (not isinstance(value, str) or not SQL_IDENTIFIER.match(value) or value in RESERVED_NAMES
                or value.startswith('pg_')):
            problems.append('%s: %s must be a lower-case identifier (a-z, 0-9, _) and not a reserved name'
                            % (name, value))
    # One role per job: the filter must not be able to do what the web
    # application does, nor either what the owner does.
    names = [inputs.get(u) for u in users]
    for i, user in enumerate(users[1:], 1):
        if names[i] in names[:i]:
            problems.append('%s: %s is also %s; the owner, the content filter and the web application each need '
                            'their own role' % (user, names[i], users[names.index(names[i])]))
    # Never a value in a message.
    for name in ('postgresql_db_password', 'postgresql_filter_password', 'postgresql_web_password'):
        value = inputs.get(name)
        if not isinstance(value, str):
            problems.append('%s: must be a string (empty for no password)' % name)
        elif '\n' in value or '\0' in value:
            problems.append('%s: contains a newline or NUL' % name)
    days = inputs.get('postgresql_retention_days')
    if isinstance(days, bool) or not 1 <= as_int(days) <= 3650:
        problems.append('postgresql_retention_days: %s is not a number of days between 1 and 3650' % days)
    return problems


def _hba_entry_ok(entry):
    if not isinstance(entry, dict):
        return False
    kind, method, address = entry.get('type', ''), entry.get('method', ''), entry.get('address') or ''
    return (kind in HBA_TYPES and method in HBA_METHODS + ('trust',)
            and all(HBA_TOKEN.fullmatch(str(entry.get(k, ''))) for k in ('database', 'user'))
            and (kind == 'local') == (len(str(address)) == 0)
            and (kind == 'local' or not bad_networks([address]))
            and (method != 'peer' or kind == 'local')
            and (method != 'cert' or kind == 'hostssl'))


def _hba(inputs):
    """pg_hba entries: well-formed, never trust on a local socket, trust over TCP only when opted in."""
    hba = inputs.get('postgresql_hba_extra')
    if as_list(hba) is None:
        return ['postgresql_hba_extra: must be a list of pg_hba entries (dicts)']
    problems = ['postgresql_hba_extra: [%d] %s is invalid: type must be one of %s; method one of %s (peer only for '
                'local, cert only for hostssl); database and user single tokens; address an address or CIDR network, '
                'required for host types and absent for local'
                % (i, json.dumps(entry, default=str), ', '.join(HBA_TYPES), ', '.join(HBA_METHODS))
                for i, entry in enumerate(hba) if not _hba_entry_ok(entry)]
    trust = [e for e in _entries(hba) if e.get('method') == 'trust']
    if [e for e in trust if e.get('type') == 'local']:
        problems.append('postgresql_hba_extra: trust on a local socket lets every local user act as any role; use peer')
    over_tcp = [e for e in trust if e.get('type') != 'local']
    if over_tcp and not as_bool(inputs.get('postgresql_allow_trust_over_tcp')):
        problems.append('postgresql_hba_extra: trust over TCP requested for %s: anyone who reaches the port logs in '
                        'without a password. Use scram-sha-256, or set postgresql_allow_trust_over_tcp: true if you '
                        'really mean it' % ', '.join(str(e.get('address')) for e in over_tcp))
    return problems


def _exposure(inputs):
    """Who may log in from where: private narrow networks, and TLS for every remote client, unless opted in."""
    problems = []
    public = inputs.get('postgresql_allow_public_networks')
    allowed = as_list(inputs.get('postgresql_allowed_hosts')) or []
    # The whole list: the filters name an entry by its index.
    hba = as_list(inputs.get('postgresql_hba_extra')) or []
    # One decision for every list of clients a host trusts (network_trust_problem):
    # loopback, RFC 1918 and fc00::/7, at most /8 or /48, a public network only
    # inside postgresql_allow_public_networks. reject lines let nobody in.
    untrusted = [('postgresql_allow_public_networks', untrusted_networks(public, public)),
                 ('postgresql_allowed_hosts', untrusted_networks(allowed, public)),
                 ('postgresql_hba_extra', postgresql_hba_untrusted(hba, public))]
    problems.extend('%s: refused, the quarantine database is never public: %s. List your own public networks in '
                    'postgresql_allow_public_networks to let them in' % (name, '; '.join(found))
                    for name, found in untrusted if found)
    ssl, without_tls_ok = as_bool(inputs.get('postgresql_ssl')), as_bool(inputs.get('postgresql_allow_remote_without_tls'))
    # A host or hostnossl line lets a remote client log in without TLS: the
    # password exchange and every query cross the network in clear.
    without_tls = postgresql_hba_without_tls(hba)
    if without_tls and not without_tls_ok:
        problems.append('postgresql_hba_extra: %s would let remote clients log in without TLS (password exchange and '
                        'data in clear on the network). Use type hostssl, or set postgresql_allow_remote_without_tls: '
                        'true if you really mean it' % '; '.join(without_tls))
    remote = remote_networks(allowed)
    if remote and not ssl and not without_tls_ok:
        problems.append('postgresql_ssl: false, but postgresql_allowed_hosts lets remote clients in (%s): they would '
                        'log in without TLS. Keep postgresql_ssl true (their lines are hostssl), or set '
                        'postgresql_allow_remote_without_tls: true if you really mean it' % ', '.join(map(str, remote)))
    # PostgreSQL refuses a pg_hba.conf with hostssl lines while ssl is off.
    if not ssl and [e for e in _entries(hba) if e.get('type') == 'hostssl']:
        problems.append('postgresql_hba_extra: hostssl entries cannot match with postgresql_ssl false; turn ssl on')
    return problems


def _parameters(inputs):
    """Settings written into postgresql.conf: the role's own TLS and password settings stay, one line each."""
    problems = []
    minimum = inputs.get('postgresql_ssl_min_protocol_version')
    if minimum not in TLS_VERSIONS:
        problems.append('postgresql_ssl_min_protocol_version: %s is not one of %s (older TLS versions are refused)'
                        % (minimum, ', '.join(TLS_VERSIONS)))
    extra = inputs.get('postgresql_extra_parameters')
    if not isinstance(extra, dict):
        return problems + ['postgresql_extra_parameters: must be a dict of parameter names to values']
    for key, value in extra.items():
        name = str(key).lower()
        if name in TLS_PARAMETERS:
            problems.append('postgresql_extra_parameters: %s is refused: the role fixes how logins are protected (at '
                            'least %s, set by postgresql_ssl_min_protocol_version; forward-secret ssl_ciphers; '
                            'scram-sha-256 password_encryption)' % (name, minimum))
        elif not PARAMETER_NAME.fullmatch(str(key)) or name in MANAGED_PARAMETERS \
                or '\n' in str(value) or '\r' in str(value):
            problems.append('postgresql_extra_parameters: %s is not a parameter name, has a multi-line value, or is '
                            'managed by the role (set it through its own variable: %s)'
                            % (key, ', '.join(MANAGED_PARAMETERS)))
    problems.extend('%s: must be one line without quotes' % name for name in SCALARS
                    if any(c in str(inputs.get(name)) for c in '\n\r\''))
    retention = inputs.get('postgresql_backup_retention')
    if as_int(retention) < 1:
        problems.append('postgresql_backup_retention: keep at least one backup (got %s)' % retention)
    return problems


def _tls_files(inputs, probe, host):
    """What path_facts found: the TLS pair exists, the key is private and belongs to the certificate.

    PostgreSQL reads them only when it (re)loads its configuration, and on a
    reload keeps the old ones after logging an error: a wrong path would be
    accepted by every other check and then silently ignored.
    """
    problems = []
    found = probe.get('paths') or {}
    cert, key = inputs.get('postgresql_ssl_cert_file'), inputs.get('postgresql_ssl_key_file')
    for kind, path in (('cert', cert), ('key', key)):
        if not (found.get(kind) or {}).get('isreg') and path not in SNAKEOIL:
            problems.append('postgresql_ssl_%s_file: %s does not exist on %s' % (kind, path, host))
    # What PostgreSQL itself demands (it refuses to start otherwise), minus a
    # group-readable key other than Debian's root:ssl-cert 0640.
    key_facts = found.get('key') or {}
    reason = private_key_problem(key_facts, ['root', 'postgres'], ['ssl-cert']) if key_facts.get('mode') else ''
    if reason:
        problems.append('postgresql_ssl_key_file: %s is not private enough: %s' % (key, reason))
    pair = (probe.get('key_pairs') or {}).get('tls') or {}
    if pair.get('match') is False:
        problems.append(('postgresql_ssl_key_file: %s is not a readable private key of postgresql_ssl_cert_file %s (or '
                         'the certificate does not parse) %s' % (key, cert, pair.get('error') or '')).strip())
    return problems


def postgresql_input_problems(inputs, probe=None, host='this host', addresses=(), wildcards=()):
    """Problems with the postgresql role's variables: 'variable: reason' each; [] when none.

    ``inputs``: every postgresql_* variable by name. ``probe``: what
    securemail.gateway.path_facts found (paths binary, conf, cert, key; key
    pair tls, looked at only when postgresql_ssl); without it the files are not
    judged. ``addresses``: the host's addresses. ``wildcards``: listen
    addresses that are not checked against them (localhost, *...).
    """
    problems = (_names(inputs) + _listen(inputs, host, addresses, wildcards) + _identities(inputs) + _hba(inputs)
                + _exposure(inputs) + _parameters(inputs))
    if probe is not None and as_bool(inputs.get('postgresql_ssl')):
        problems += _tls_files(inputs, probe, host)
    return problems


def postgresql_input_warnings(inputs, host='this host'):
    """What the opt-ins let in, one WARNING message each; [] when none is used. For variables that passed."""
    warnings = []
    hba = as_list(inputs.get('postgresql_hba_extra')) or []
    allowed = as_list(inputs.get('postgresql_allowed_hosts')) or []
    if as_bool(inputs.get('postgresql_allow_trust_over_tcp')):
        trust = [e for e in _entries(hba) if e.get('type') != 'local' and e.get('method') == 'trust']
        warnings.append('WARNING: postgresql_allow_trust_over_tcp is true on %s. These pg_hba entries accept '
                        'connections WITHOUT A PASSWORD from the network: %s' % (host, json.dumps(trust, default=str)))
    without_tls = postgresql_hba_without_tls(hba) + ([] if as_bool(inputs.get('postgresql_ssl'))
                                                     else remote_networks(allowed))
    if without_tls:
        warnings.append('WARNING: postgresql_allow_remote_without_tls is true on %s and these clients log in WITHOUT '
                        'TLS (password exchange and data in clear): %s' % (host, ', '.join(map(str, without_tls))))
    public = untrusted_networks(allowed) + postgresql_hba_untrusted(hba)
    if public:
        warnings.append('WARNING: postgresql_allow_public_networks lets PUBLIC networks log in to %s: %s'
                        % (host, '; '.join(public)))
    return warnings


class FilterModule(object):
    def filters(self):
        return dict((f.__name__, f) for f in (postgresql_input_problems, postgresql_input_warnings))
