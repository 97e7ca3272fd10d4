# -*- coding: utf-8 -*-
# Copyright: securemail.gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every decision on the postfix role's variables, in one place.

postfix_input_problems gets the role's variables (every postfix_* variable,
templated: postfix__inputs in the role's vars/main.yml) and what only the host
can answer (its name and addresses, the TLS files' stat results, what postmap
said about the header/body check regexps), and returns one message per
problem, each "variable: reason". tasks/validate.yml fails the run with them
before anything on the host changes. The checks run in the order below; the
docstring of each check function names its checks (the names docs/hardening.md
uses).

Argument specs (types, choices) are checked by Ansible before any of this.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from ansible.module_utils.parsing.convert_bool import boolean
from ansible_collections.securemail.gateway.plugins.filter.network import (
    bad_domains, bad_networks, public_suffix_domains, too_wide_networks, untrusted_networks)
from ansible_collections.securemail.gateway.plugins.filter.postfix import (
    postfix_check_problems, postfix_table_problems)

# main.cf parameters postfix_extra_parameters may set only when the admin
# lists them in postfix_allow_extra_parameters: each opens the gateway up
# or switches a protection off when set wrongly, and most have a checked role
# variable. Name -> why (the failure message quotes it).
PROTECTED_PARAMETERS = {
    # Who may relay, and for which destinations.
    'mynetworks': 'decides who may relay through this host (use postfix_mynetworks)',
    'mynetworks_style': 'decides who may relay when mynetworks is unset',
    'relay_domains': 'decides which domains are relayed (use postfix_relay_domains)',
    'relay_recipient_maps': 'empty accepts every recipient of the relay domains (use postfix_relay_recipients)',
    'smtpd_reject_unlisted_recipient': '"no" accepts recipients that no table lists (backscatter)',
    'local_recipient_maps': 'empty accepts every local recipient (backscatter)',
    'mydestination': 'makes the host deliver domains locally',
    'permit_mx_backup_networks': 'relays for any domain whose MX is in these networks',
    'parent_domain_matches_subdomains': 'with relay_domains in it, every subdomain is relayed '
                                        '(use postfix_allow_relay_subdomains)',
    'smtpd_relay_restrictions': 'the open-relay protection (permit_mynetworks, reject_unauth_destination)',
    'smtpd_recipient_restrictions': "the open-relay protection and the role's recipient checks",
    'smtpd_client_restrictions': 'keeps a hub or null client closed to everyone but mynetworks',
    'smtpd_restriction_classes': 'can define restrictions that permit relaying',
    'smtpd_authorized_xclient_hosts': 'XCLIENT lets these clients claim any address, including one in mynetworks',
    'smtpd_authorized_xforward_hosts': 'XFORWARD lets these clients rewrite the logged client',
    'postscreen_access_list': 'lets the listed clients skip every postscreen test (use postfix_postscreen_allowlist)',
    # Authentication on the public ports.
    'smtpd_sasl_auth_enable': 'turns on SASL on port 25 (use postfix_submission_enabled / postfix_smtps_enabled)',
    'smtpd_sasl_security_options': 'can allow plain-text or anonymous logins',
    'smtpd_tls_auth_only': '"no" offers passwords before TLS',
    # The mail log: without it an accepted message can vanish without a trace.
    'maillog_file': 'decides where Postfix logs (use postfix_maillog / postfix_maillog_file)',
    'maillog_file_prefixes': 'widens where the mail log may be written',
    'syslog_name': 'renames every log line, so log readers and securemail.gateway.trace miss them',
    # Where the host listens.
    'inet_interfaces': 'decides which addresses are exposed (use postfix_inet_interfaces)',
    # TLS: the protocol and cipher choices (use postfix_tls_protocols / postfix_tls_ciphers).
    'smtpd_tls_security_level': 'can turn STARTTLS off',
    'smtpd_tls_protocols': 'can enable TLS 1.0/1.1 or SSL',
    'smtpd_tls_mandatory_protocols': 'can enable TLS 1.0/1.1 or SSL',
    'smtpd_tls_ciphers': 'can enable weak cipher grades',
    'smtpd_tls_mandatory_ciphers': 'can enable weak cipher grades',
    'smtpd_tls_exclude_ciphers': 'can bring back suites without forward secrecy',
    'smtpd_tls_mandatory_exclude_ciphers': 'can bring back weak suites',
    'smtpd_tls_eecdh_grade': '"none" turns forward secrecy off',
    'smtp_tls_security_level': 'decides outbound TLS (use postfix_tls_outbound_level)',
    'smtp_tls_policy_maps': 'can lower outbound TLS per destination (use postfix_tls_policy)',
    'smtp_tls_protocols': 'can enable TLS 1.0/1.1 or SSL outbound',
    'smtp_tls_mandatory_protocols': 'can enable TLS 1.0/1.1 or SSL outbound',
    'smtp_tls_ciphers': 'can enable weak cipher grades outbound',
    'smtp_tls_mandatory_ciphers': 'can enable weak cipher grades outbound',
    'tls_high_cipherlist': 'redefines what "high" means',
    'tls_medium_cipherlist': 'redefines what "medium" means',
    'tls_low_cipherlist': 'redefines a cipher grade',
    'tls_export_cipherlist': 'redefines a cipher grade',
    'tls_null_cipherlist': 'redefines a cipher grade',
    'tls_ssl_options': 'can enable legacy, insecure OpenSSL behaviour',
    # SMTP smuggling and pipelining (CVE-2023-51764).
    'smtpd_forbid_bare_newline': '"no" allows SMTP smuggling (use postfix_forbid_bare_newline)',
    'smtpd_forbid_bare_newline_exclusions': 'exempts these clients from the SMTP smuggling protection',
    'smtpd_forbid_unauth_pipelining': '"no" lets clients pipeline without permission',
    # Content inspection.
    'content_filter': 'sends mail to any filter, or past the content filter (use postfix_content_filter_enabled)',
    'receive_override_options': 'can switch header/body checks, milters and recipient checks off',
    'header_checks': 'a table the role does not check (use postfix_header_checks)',
    'body_checks': 'a table the role does not check (use postfix_body_checks)',
    'mime_header_checks': 'a table the role does not check',
    'nested_header_checks': 'a table the role does not check',
    # Local delivery to programs and files.
    'allow_mail_to_commands': 'lets aliases and .forward files run programs',
    'allow_mail_to_files': 'lets aliases and .forward files write files',
    'mailbox_command': 'runs a program for every local delivery',
    'alias_maps': 'alias tables the role does not check (use postfix_aliases)',
    # Disclosure and limits the role checks (use the role variable).
    'disable_vrfy_command': '"no" lets anyone harvest addresses (use postfix_disable_vrfy_command)',
    'message_size_limit': '0 means unlimited (use postfix_message_size_limit)',
    'smtpd_client_connection_rate_limit': '0 turns the limit off (use postfix_client_connection_rate_limit)',
    'smtpd_soft_error_limit': 'use postfix_smtpd_error_limits',
    'smtpd_hard_error_limit': 'use postfix_smtpd_error_limits',
    'body_checks_size_limit': 'use postfix_body_checks_size_limit',
}

# Role variables whose values main.cf carries (postfix__main_cf in
# vars/main.yml), the parameter each lands in, and when it is written at all.
# A newline in any of their strings would start another parameter.
MAIN_CF_SOURCES = (
    ('postfix_compatibility_level', 'compatibility_level', None),
    ('postfix_myhostname', 'myhostname', None),
    ('postfix_myorigin', 'myorigin', None),
    ('postfix_mydomain', 'mydomain', None),
    ('postfix_inet_interfaces', 'inet_interfaces', None),
    ('postfix_inet_protocols', 'inet_protocols', None),
    ('postfix_mynetworks', 'mynetworks', None),
    ('postfix_hub_allowed_clients', 'mynetworks', 'hub'),
    ('postfix_smtpd_banner', 'smtpd_banner', None),
    ('postfix_disable_vrfy_command', 'disable_vrfy_command', None),
    ('postfix_helo_required', 'smtpd_helo_required', None),
    ('postfix_message_size_limit', 'message_size_limit', None),
    ('postfix_mailbox_size_limit', 'mailbox_size_limit', None),
    ('postfix_config_dir', 'alias_maps', None),
    ('postfix_smtpd_helo_restrictions', 'smtpd_helo_restrictions', None),
    ('postfix_smtpd_sender_restrictions', 'smtpd_sender_restrictions', None),
    ('postfix_smtpd_recipient_restrictions', 'smtpd_recipient_restrictions', None),
    ('postfix_dnsbl_sites', 'smtpd_recipient_restrictions', None),
    ('postfix_policy_service', 'smtpd_recipient_restrictions', None),
    ('postfix_forbid_bare_newline', 'smtpd_forbid_bare_newline', None),
    ('postfix_client_connection_rate_limit', 'smtpd_client_connection_rate_limit', None),
    ('postfix_smtpd_error_limits', 'smtpd_hard_error_limit', None),
    ('postfix_body_checks_size_limit', 'body_checks_size_limit', None),
    ('postfix_relay_domains', 'relay_domains', 'relays'),
    ('postfix_relayhost', 'relayhost', None),
    ('postfix_tls_protocols', 'smtpd_tls_protocols', 'tls'),
    ('postfix_tls_ciphers', 'smtpd_tls_ciphers', 'tls'),
    ('postfix_tls_outbound_level', 'smtp_tls_security_level', 'tls'),
    ('postfix_sasl_type', 'smtpd_sasl_type', 'sasl'),
    ('postfix_sasl_path', 'smtpd_sasl_path', 'sasl'),
    ('postfix_content_filter_port', 'content_filter', 'content_filter'),
)

# Listen addresses every host has.
LOCAL_INTERFACES = ('all', 'loopback-only', 'localhost', '127.0.0.1', '::1')

# (variable, lowest, highest, why). Below 1 MiB ordinary mail with an
# attachment bounces, above 1 GiB (or 0, unlimited) one client fills the
# queue; a rate limit of 0 is none; error limits above 100 let a client probe
# addresses for long; body checks run every regexp on every line, so more
# than 10 MiB costs the CPU. The soft error limit is bounded by the hard one.
BOUNDS = (
    ('postfix_message_size_limit', 1048576, 1073741824, 'bytes; 0 would mean unlimited'),
    ('postfix_client_connection_rate_limit', 1, 1000, 'connections per client per minute; 0 would turn the limit off'),
    ('postfix_body_checks_size_limit', 1024, 10485760, 'bytes of each body part that body_checks read'),
    ('postfix_maillog_keep', 1, 3660, 'rotated days of mail log kept; the log is evidence, keep at least one'),
)

# Lookup tables the role writes, and how postfix_table_problems reads each.
TABLES = (
    ('postfix_transport_map', 'map'),
    ('postfix_relay_recipients', 'list'),
    ('postfix_client_access', 'map'),
    ('postfix_sender_access', 'map'),
    ('postfix_virtual_alias_map', 'map'),
    ('postfix_tls_policy', 'map'),
    ('postfix_aliases', 'aliases'),
)
CHECK_TABLES = ('postfix_header_checks', 'postfix_body_checks')

_MAIN_CF_NAME = re.compile(r'^[A-Za-z0-9_]+$')
_BANNER_SOFTWARE = re.compile(r'(?i)(\$mail_name|postfix|debian|ubuntu|\$mail_version)')
_POSTMAP_PREFIX = re.compile(r'^postmap: warning: regexp map /dev/stdin, ')


def _truncate(value, length):
    """Jinja's truncate(length): cut at a word boundary, with '...', 5 characters of leeway."""
    text = str(value)
    if len(text) <= length + 5:
        return text
    return text[:length - 3].rsplit(' ', 1)[0] + '...'


def _int(value):
    """Jinja's int filter: 0 when the value is no number."""
    try:
        return int(value, 10) if isinstance(value, str) else int(value)
    except (TypeError, ValueError):
        try:
            return int(float(value))
        except (TypeError, ValueError, OverflowError):
            return 0


def _bool(value):
    return boolean(value, strict=False)


def _has_line_break(value):
    """Whether any string in value (lists and dicts searched too) has a newline or carriage return."""
    if isinstance(value, dict):
        return any(_has_line_break(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_has_line_break(v) for v in value)
    return '\n' in str(value) or '\r' in str(value)


def _words(value):
    """A list, or Postfix's own "a, b c" text, as single words."""
    text = ' '.join(str(v) for v in value) if isinstance(value, (list, tuple)) else str(value)
    return text.replace(',', ' ').split()


def _host_name(inputs):
    """Checks "The host name is a fully qualified domain name"."""
    # It goes into the banner, HELO, Received headers and the self-signed
    # certificate's subject (an openssl argument).
    name = inputs.get('postfix_myhostname')
    if not isinstance(name, str) or name.startswith('.') or bad_domains([name]) or '.' not in name.rstrip('.'):
        return ['postfix_myhostname: %s is not a fully qualified host name (set it, or give the host a resolvable '
                'FQDN)' % _truncate(name, 80)]
    return []


def _relay_domains(inputs):
    """Checks "Relay domains are domain names", "Relay domains are not top-level domains or public suffixes"."""
    domains = inputs.get('postfix_relay_domains') or []
    bad = bad_domains(domains)
    problems = []
    if bad:
        problems.append('postfix_relay_domains: not a valid domain name: %s' % ', '.join(str(b) for b in bad))
    # Relaying for `net` relays for everything under .net; so does `co.uk`.
    wide = public_suffix_domains([d for d in domains if d not in bad],
                                 inputs.get('postfix_allow_public_suffix_domains') or [])
    if wide:
        problems.append('postfix_relay_domains: refused: %s. List a domain in postfix_allow_public_suffix_domains '
                        'if you really relay for all of it' % '; '.join(wide))
    return problems


def _networks(inputs):
    """Checks "Networks parse as addresses or CIDR networks", "Trusted networks are private and narrow",
    "Extra services trust only private, narrow networks"."""
    # One decision for every list of trusted clients (network_trust_problem
    # in network.py): loopback, RFC 1918 and fc00::/7, at most /8 or /48,
    # public networks only inside postfix_allow_public_networks. An entry
    # that does not parse is named once, by the first check.
    allowed = inputs.get('postfix_allow_public_networks') or []
    extra = inputs.get('postfix_extra_parameters') or {}
    problems = []
    lists = [('postfix_allow_public_networks', allowed)]
    for name in ('postfix_mynetworks', 'postfix_hub_allowed_clients'):
        values = inputs.get(name) or []
        bad = bad_networks(values)
        if bad:
            problems.append('%s: not an address or CIDR network: %s' % (name, ', '.join(str(b) for b in bad)))
        lists.append((name, [v for v in values if v not in bad]))
    lists.append(('postfix_extra_parameters', extra.get('mynetworks', [])))
    for name, values in lists:
        refused = untrusted_networks(values, allowed)
        if refused:
            problems.append('%s: refused, a host trusted to relay must be on a private, narrow network: %s '
                            '(opt-in for your own public networks: postfix_allow_public_networks)'
                            % (name, '; '.join(refused)))
    # A service of its own can carry `-o mynetworks=...`; check it the same
    # way, and only where it can be checked (options, not the command).
    for service in inputs.get('postfix_extra_services') or []:
        label = service.get('service', '?')
        options = service.get('options') if isinstance(service.get('options'), dict) else {}
        if re.search('mynetworks', str(service.get('command', ''))):
            problems.append('postfix_extra_services: %s: set mynetworks in options, where it is checked, not in the '
                            'command' % label)
        elif 'mynetworks' in options and untrusted_networks(options['mynetworks'], allowed):
            problems.append('postfix_extra_services: %s: mynetworks must trust only private, narrow networks: %s'
                            % (label, '; '.join(untrusted_networks(options['mynetworks'], allowed))))
    return problems


def _extra_parameters(inputs):
    """Checks "Extra parameters leave the protected ones alone",
    "Relay domains set as an extra parameter are not top-level domains or public suffixes"."""
    extra = inputs.get('postfix_extra_parameters') or {}
    allowed = inputs.get('postfix_allow_extra_parameters') or []
    problems = ['postfix_extra_parameters: %s is protected (%s); list it in postfix_allow_extra_parameters to set '
                'it anyway' % (name, PROTECTED_PARAMETERS[name])
                for name in extra if name in PROTECTED_PARAMETERS and name not in allowed]
    if 'relay_domains' in extra:
        # Domain names only: tables and $parameters cannot be judged here.
        domains = [w for w in _words(extra['relay_domains']) if not re.search('[:/$]', w)]
        wide = public_suffix_domains(domains, inputs.get('postfix_allow_public_suffix_domains') or [])
        if wide:
            problems.append('postfix_extra_parameters: relay_domains: refused: %s' % '; '.join(wide))
    return problems


def _mode(inputs):
    """Checks "A gateway relays at least one domain", "A null client has a smarthost",
    "A hub lists the gateways it accepts mail from"."""
    mode = inputs.get('postfix_mode')
    if mode == 'gateway' and not inputs.get('postfix_relay_domains'):
        return ['postfix_relay_domains: a gateway must relay at least one domain (postfix_mode: gateway)']
    if mode == 'null_client' and not inputs.get('postfix_relayhost'):
        return ['postfix_relayhost: a null client sends everything through a smarthost; set it '
                '(postfix_mode: null_client)']
    if mode == 'hub' and not inputs.get('postfix_hub_allowed_clients'):
        return ['postfix_hub_allowed_clients: a hub accepts SMTP only from listed gateways; the list is empty']
    return []


def _listen(inputs, hostname, addresses):
    """Checks "Listen addresses exist on this host"."""
    return ['postfix_inet_interfaces: %s is not an address of %s' % (item, hostname)
            for item in inputs.get('postfix_inet_interfaces') or []
            if item not in LOCAL_INTERFACES and item not in addresses]


def _single_lines(inputs):
    """Checks "Single-line values only (a newline would inject another parameter)"."""
    # A newline would inject another parameter.
    written = {
        'hub': inputs.get('postfix_mode') == 'hub',
        'relays': inputs.get('postfix_mode') != 'null_client',
        'tls': _bool(inputs.get('postfix_tls_enabled')),
        'sasl': _bool(inputs.get('postfix_submission_enabled')) or _bool(inputs.get('postfix_smtps_enabled')),
        'content_filter': _bool(inputs.get('postfix_content_filter_enabled')),
    }
    problems = ['%s: %s has an invalid name or a value with a newline' % (name, parameter)
                for name, parameter, when in MAIN_CF_SOURCES
                if (when is None or written[when]) and _has_line_break(inputs.get(name, ''))]
    problems += ['postfix_extra_parameters: %s has an invalid name or a value with a newline' % name
                 for name, value in (inputs.get('postfix_extra_parameters') or {}).items()
                 if not _MAIN_CF_NAME.match(str(name)) or _has_line_break(name) or _has_line_break(value)]
    return problems


def _tokens(inputs):
    """Checks "Relay host and policy service are single tokens",
    "Transport map keys are domains and next hops single tokens"."""
    problems = ['%s: %s must not contain whitespace' % (name, _truncate(inputs.get(name, ''), 60))
                for name in ('postfix_relayhost', 'postfix_policy_service')
                if re.search(r'\s', str(inputs.get(name, '')))]
    for key, value in (inputs.get('postfix_transport_map') or {}).items():
        if (bad_domains([key]) and not re.match(r'^[^\s@]+@[^\s@]+$', str(key))) \
                or not isinstance(value, str) or not re.match(r'^[^\s]+$', value):
            problems.append('postfix_transport_map: %s -> %s is not a domain and a next hop'
                            % (key, _truncate(value, 60)))
    return problems


def _banner(inputs):
    """Checks "Banner starts with the host name, is short and discloses no software"."""
    # Whatever sets it: the role variable or postfix_extra_parameters.
    extra = inputs.get('postfix_extra_parameters') or {}
    banner = extra.get('smtpd_banner', inputs.get('postfix_smtpd_banner'))
    start = r'^(\$myhostname|\$\{myhostname\}|%s)(\s|$)' % re.escape(str(inputs.get('postfix_myhostname')))
    if isinstance(banner, str) and len(banner) <= 200 and re.match(start, banner) \
            and not _BANNER_SOFTWARE.search(banner):
        return []
    return ['%s: %s must start with $myhostname (RFC 5321), be at most 200 characters (%d) and not disclose the '
            'software (keep it to $myhostname ESMTP)'
            % ('postfix_extra_parameters' if 'smtpd_banner' in extra else 'postfix_smtpd_banner',
               _truncate(banner, 80), len(str(banner)))]


def _bounds(inputs):
    """Checks "Sizes and limits are within sane bounds"."""
    limits = inputs.get('postfix_smtpd_error_limits') or {}
    hard = limits.get('hard')
    checks = [(name, inputs.get(name), low, high, why) for name, low, high, why in BOUNDS[:2]]
    checks += [('postfix_smtpd_error_limits', hard, 1, 100, 'hard'),
               ('postfix_smtpd_error_limits', limits.get('soft'), 1, _int(hard), 'soft, at most hard')]
    checks += [(name, inputs.get(name), low, high, why) for name, low, high, why in BOUNDS[2:]]
    return ['%s: %s is outside %s..%s (%s)' % (name, value, low, high, why)
            for name, value, low, high, why in checks if not low <= _int(value) <= high]


def _maillog(inputs):
    """Checks "The mail log is a file of its own under /var/log"."""
    # Postfix itself accepts any path under /var (maillog_file_prefixes), and
    # logrotate would rotate, compress and prune whatever file is named here:
    # only a file of its own in /var/log is ours to own.
    path = inputs.get('postfix_maillog_file')
    text = path if isinstance(path, str) else ''
    if (not text.startswith('/var/log/') or os.path.normpath(text) != text or _has_line_break(text)
            or re.search(r'[\s*?\[\]{}"\'\\]', text) or os.path.basename(text) in ('', 'log')):
        return ['postfix_maillog_file: %s must be a file of its own under /var/log (an absolute, normalized path '
                'without spaces or wildcards); logrotate rotates and prunes it' % _truncate(path, 80)]
    return []


def _tls_files(inputs, hostname, tls_stats):
    """Checks "Certificate and key come together", "TLS files exist"."""
    if not _bool(inputs.get('postfix_tls_enabled')):
        return []
    problems = []
    if bool(inputs.get('postfix_tls_cert_file')) != bool(inputs.get('postfix_tls_key_file')):
        problems.append('postfix_tls_cert_file / postfix_tls_key_file: set both or neither')
    for result in tls_stats or []:
        name, path = result['item'][0], result['item'][1]
        stat = result.get('stat')
        # Skipped (no stat), or an empty path: "set both or neither" says it.
        if stat is not None and path and not (stat.get('exists') and stat.get('isreg')):
            problems.append('%s: %s does not exist on %s' % (name, path, hostname))
    return problems


def _tables(inputs, regexp_probe):
    """Checks "Lookup table keys are one word and values one line",
    "Header and body checks are regexp lines with allowed actions",
    "Postfix compiles every header and body check regexp"."""
    # A newline in a key or value starts a new entry (a catch-all redirect in
    # virtual, a pipe in aliases); whitespace in a key moves the rest into the
    # value. The messages name the key, never the value.
    problems = []
    for name, kind in TABLES:
        found = postfix_table_problems(inputs.get(name, [] if kind == 'list' else {}), kind)
        if found:
            problems.append('%s: %s' % (name, '; '.join(found)))
    # Lines are /regexp/flags ACTION text with an action from a safe set.
    # Whether Postfix can compile a regexp only postmap on the host says
    # (tasks/validate.yml asks it); its answer counts for lines that passed.
    said = dict((r['item']['key'], r) for r in regexp_probe or [] if r.get('stdout'))
    for name in CHECK_TABLES:
        found = postfix_check_problems(inputs.get(name) or [], inputs.get('postfix_allow_check_actions') or [])
        if found:
            problems.append('%s: %s' % (name, '; '.join(found)))
        elif name in said:
            problems.append('%s: Postfix cannot use these lines: %s' % (name, '; '.join(
                _POSTMAP_PREFIX.sub('', line) for line in said[name].get('stdout_lines') or [])))
    return problems


def _credentials(inputs):
    """Checks "Smarthost credentials are next hop -> user:password, one line each"."""
    # Names only in the message: a value here is a password.
    passwords = inputs.get('postfix_smtp_sasl_passwords') or {}
    if all(re.match(r'^[^\s#]+$', str(key)) for key in passwords) \
            and all(isinstance(value, str) and re.match(r'^[^\s:]+:[^\r\n]+$', value) for value in passwords.values()):
        return []
    return ['postfix_smtp_sasl_passwords: every key must be a next hop without whitespace and every value one line '
            '"user:password"; check the entries for %s' % ', '.join(_truncate(key, 60) for key in passwords)]


def _recipients(inputs):
    """Checks "A gateway knows its valid recipients", "Recipient verification only on a gateway"."""
    # Without relay_recipient_maps the gateway accepts every address of a
    # relay domain and the hub bounces the unknown ones to forged senders.
    verify = _bool(inputs.get('postfix_recipient_verification'))
    if inputs.get('postfix_mode') == 'gateway' and not inputs.get('postfix_relay_recipients') and not verify \
            and not _bool(inputs.get('postfix_allow_unknown_recipients')):
        return ['postfix_relay_recipients: a gateway must list the valid recipients (addresses or @domain) of its '
                'relay domains or verify them with the hub (postfix_recipient_verification: true), otherwise it '
                'accepts every address and bounces the unknown ones later (backscatter); set '
                'postfix_allow_unknown_recipients: true to run without either (postfix_mode: gateway)']
    # A hub or null client has no next hop that owns the recipients; probing
    # would only load whatever relayhost it has.
    if verify and inputs.get('postfix_mode') != 'gateway':
        return ['postfix_recipient_verification: recipient verification asks the next hop of a gateway; it does '
                'nothing useful in postfix_mode: %s' % inputs.get('postfix_mode')]
    return []


# postscreen_dnsbl_sites entries: domain[=filter][*weight], where the filter
# is a reply address pattern such as 127.0.0.[2..11] or 127.0.[0..255].[1;3].
_DNSBL_SITE = re.compile(r'^(?P<domain>[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+)'
                         r'(=(?P<filter>[0-9.\[\];]+))?(\*(?P<weight>-?[0-9]+))?$')


def _postscreen(inputs):
    """Checks "DNSBL sites are domain[=filter][*weight]", "postscreen's threshold can be reached",
    "The postscreen allowlist is narrow"."""
    problems = []
    sites = inputs.get('postfix_postscreen_dnsbl_sites') or []
    bad = [str(s) for s in sites if not _DNSBL_SITE.match(str(s))]
    if bad:
        problems.append('postfix_postscreen_dnsbl_sites: each entry must be domain[=filter][*weight], for example '
                        'zen.spamhaus.org*3; check %s' % ', '.join(_truncate(b, 60) for b in bad))
    threshold = _int(inputs.get('postfix_postscreen_dnsbl_threshold', 1))
    if threshold < 1:
        problems.append('postfix_postscreen_dnsbl_threshold: must be 1 or more; at 0 or below every client, listed or '
                        'not, would be refused')
    allow = _int(inputs.get('postfix_postscreen_dnsbl_allowlist_threshold', 0))
    if allow > 0:
        problems.append('postfix_postscreen_dnsbl_allowlist_threshold: must be 0 (off) or negative; a positive value '
                        'would let listed clients skip the tests')
    allowlist = inputs.get('postfix_postscreen_allowlist') or []
    malformed = bad_networks(allowlist)
    if malformed:
        problems.append('postfix_postscreen_allowlist: not an address or CIDR network: %s'
                        % ', '.join(str(b) for b in malformed))
    wide = too_wide_networks(allowlist)
    if wide:
        problems.append('postfix_postscreen_allowlist: wider than /8 (IPv4) or /48 (IPv6), which switches postscreen '
                        'off for a good part of the Internet: %s' % ', '.join(str(w) for w in wide))
    return problems


def _authentication(inputs):
    """Checks "DKIM signing domains are domain names, not top-level domains or public suffixes",
    "The DKIM selector is one DNS label"."""
    if not boolean(inputs.get('postfix_sender_authentication', True), strict=False):
        return []
    problems = []
    domains = inputs.get('postfix_dkim_signing_domains') or []
    bad = bad_domains(domains) + [d for d in domains if str(d).startswith('.')]
    if bad:
        problems.append('postfix_dkim_signing_domains: not a domain name: %s' % ', '.join(str(b) for b in bad))
    # A key for `org` would sign (and claim) mail from every .org sender.
    wide = public_suffix_domains([d for d in domains if d not in bad],
                                 inputs.get('postfix_allow_public_suffix_domains') or [])
    if wide:
        problems.append('postfix_dkim_signing_domains: refused: %s' % '; '.join(wide))
    selector = inputs.get('postfix_dkim_selector')
    # The default selector comes from the host name: a bad host name is
    # reported once, as itself.
    derived = str(inputs.get('postfix_myhostname') or '').split('.', maxsplit=1)[0].lower()
    if selector == derived and _host_name(inputs):
        return problems
    if domains and not (isinstance(selector, str) and re.match(r'^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$', selector)):
        problems.append('postfix_dkim_selector: %s is not one DNS label (letters, digits and inner hyphens, at most '
                        '63): it names the key file and the record <selector>._domainkey.<domain>'
                        % _truncate(selector, 80))
    return problems


# Outbound TLS levels (postconf(5) smtp_tls_security_level, TLS_README's
# policy table), weakest first: a destination's policy below the role-wide
# postfix_tls_outbound_level lowers it for that destination. "encrypt" and
# "dane" share a rank: encrypt ignores TLSA records, dane falls back to
# unauthenticated TLS without them; neither is refused for the other.
TLS_LEVEL_RANK = {'none': 0, 'may': 1, 'encrypt': 2, 'dane': 2,
                  'dane-only': 3, 'fingerprint': 3, 'verify': 3, 'secure': 3}
# Policy attributes that only narrow what the level accepts. protocols=,
# ciphers= and exclude= could bring back what postfix_tls_protocols and
# postfix_tls_ciphers refuse; the role-wide settings apply instead.
TLS_POLICY_ATTRIBUTES = ('match', 'servername', 'tafile', 'connection_reuse')
_TLS_DESTINATION = re.compile(r'^(\[[^\s\[\]]+\](:[0-9]{1,5})?|\.?[^\s\[\]:@]+(:[0-9]{1,5})?)$')


def _tls_policy(inputs):
    """Checks "Per-destination TLS policies name a destination and a level, never below the role-wide level"."""
    policy = inputs.get('postfix_tls_policy') or {}
    if not policy:
        return []
    if not _bool(inputs.get('postfix_tls_enabled', True)):
        return ['postfix_tls_policy: needs postfix_tls_enabled (with TLS off the policies would name levels Postfix '
                'never uses)']
    problems = []
    floor = TLS_LEVEL_RANK.get(str(inputs.get('postfix_tls_outbound_level', 'may')), 1)
    allowed = [str(d) for d in inputs.get('postfix_allow_tls_policy_downgrades') or []]
    for destination, value in sorted(policy.items(), key=lambda item: str(item[0])):
        if postfix_table_problems({destination: value}, 'map'):
            continue  # _tables reports it
        words = value.split() if isinstance(value, str) else []
        host = re.sub(r'^\[|\](:[0-9]+)?$|:[0-9]+$', '', str(destination)).lstrip('.')
        if not _TLS_DESTINATION.match(str(destination)) or (bad_domains([host]) and (bad_networks([host]) or '/' in host)):
            problems.append('postfix_tls_policy: %s is not a domain, .domain, [host] or [host]:port'
                            % _truncate(destination, 80))
            continue
        if not words or words[0] not in TLS_LEVEL_RANK:
            problems.append('postfix_tls_policy: %s -> %s does not start with a TLS level (%s)'
                            % (destination, _truncate(value, 60), ', '.join(TLS_LEVEL_RANK)))
            continue
        extra = [w.split('=', 1)[0] for w in words[1:] if w.split('=', 1)[0] not in TLS_POLICY_ATTRIBUTES
                 or '=' not in w]
        if extra:
            problems.append('postfix_tls_policy: %s -> %s: attribute(s) %s refused; only %s (protocols and ciphers '
                            'come from postfix_tls_protocols and postfix_tls_ciphers)'
                            % (destination, words[0], ', '.join(extra), ', '.join(TLS_POLICY_ATTRIBUTES)))
        if TLS_LEVEL_RANK[words[0]] < floor and str(destination) not in allowed:
            problems.append('postfix_tls_policy: %s -> %s is weaker than postfix_tls_outbound_level (%s); list %s in '
                            'postfix_allow_tls_policy_downgrades to send it so'
                            % (destination, words[0], inputs.get('postfix_tls_outbound_level'), destination))
    return problems


def _mta_sts(inputs):
    """Checks "MTA-STS needs outbound TLS, and its resolver a loopback port of its own"."""
    if not _bool(inputs.get('postfix_mta_sts', False)):
        return []
    problems = []
    if not _bool(inputs.get('postfix_tls_enabled', True)):
        problems.append('postfix_mta_sts: needs postfix_tls_enabled (a policy asks for verified TLS, which the smtp '
                        'client cannot do with TLS off)')
    port = inputs.get('postfix_mta_sts_port')
    taken = {25: 'smtp', 465: 'smtps', 587: 'submission'}
    for name in ('postfix_reinject_port', 'postfix_content_filter_port'):
        if str(inputs.get(name, '')).isdigit():
            taken[int(inputs[name])] = name
    if isinstance(port, bool) or not str(port).isdigit() or not 1 <= int(port) <= 65535:
        problems.append('postfix_mta_sts_port: %s is not a TCP port (1-65535)' % _truncate(port, 40))
    elif int(port) in taken:
        problems.append('postfix_mta_sts_port: %s is already %s' % (port, taken[int(port)]))
    return problems


def postfix_input_problems(inputs, hostname='', addresses=(), tls_stats=(), regexp_probe=()):
    """Problems with the postfix role's variables: 'variable: reason' each; [] when none.

    ``inputs``: every postfix_* variable, templated. ``hostname``: the host's
    name in messages. ``addresses``: the host's IP addresses (listen checks).
    ``tls_stats``: the results of the stat loop over (variable, path) items.
    ``regexp_probe``: the results of the postmap loop over header/body check
    items ({key, value}), whose stdout is what Postfix could not use.
    """
    if not isinstance(inputs, dict):
        return ['postfix_*: expected the role variables as a dict, got %s' % type(inputs).__name__]
    return (_host_name(inputs) + _relay_domains(inputs) + _networks(inputs) + _extra_parameters(inputs)
            + _mode(inputs) + _listen(inputs, hostname, list(addresses or [])) + _single_lines(inputs)
            + _tokens(inputs) + _banner(inputs) + _bounds(inputs) + _tls_files(inputs, hostname, tls_stats)
            + _tables(inputs, regexp_probe) + _credentials(inputs) + _recipients(inputs) + _maillog(inputs)
            + _postscreen(inputs) + _authentication(inputs) + _tls_policy(inputs) + _mta_sts(inputs))


class FilterModule(object):
    def filters(self):
        return {'postfix_input_problems': postfix_input_problems}
