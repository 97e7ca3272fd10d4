# -*- coding: utf-8 -*-
# Copyright: securemail.gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Network checks the roles need before they write anything.

ansible.utils' ipaddr filter needs netaddr on the controller; Python's own
ipaddress module answers the questions the roles ask: does it parse, and may a
host trust it (network_trust_problem, the one place that decides what counts
as private and narrow, for mynetworks, a hub's clients, pg_hba and the audit)?
Is a relay domain a whole top-level domain or public suffix
(domain_scope_problem)?
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

from ansible.errors import AnsibleFilterError

# RFC 1123 labels; relay domains may start with "." (subdomain form in Postfix).
# \Z, not $: a name with a trailing newline must not pass.
DOMAIN_RE = re.compile(r'^\.?(?=.{1,253}\Z)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?\Z')


def _network_text(value):
    text = str(value).strip()
    # Postfix writes IPv6 networks as [addr]/len.
    return re.sub(r'^\[([^\]]+)\]', r'\1', text)


def bad_networks(values):
    """Entries of a list that are not an IP address or CIDR network."""
    if not isinstance(values, (list, tuple)):
        raise AnsibleFilterError('bad_networks expects a list, got %s' % type(values).__name__)
    bad = []
    for value in values:
        try:
            ipaddress.ip_network(_network_text(value), strict=False)
        except ValueError:
            bad.append(value)
    return bad


def bad_domains(values):
    """Entries of a list that are not a valid DNS domain name."""
    if not isinstance(values, (list, tuple)):
        raise AnsibleFilterError('bad_domains expects a list, got %s' % type(values).__name__)
    return [v for v in values if not isinstance(v, str) or not DOMAIN_RE.match(v)]


def postfix_network(value, brackets=True):
    """An address or network in the form Postfix's mynetworks expects (cidr tables: brackets=False)."""
    net = ipaddress.ip_network(_network_text(value), strict=False)
    if net.version == 6 and brackets:
        return '[%s]/%d' % (net.network_address, net.prefixlen)
    return str(net)


# Networks a host may trust without anyone saying so: loopback, RFC 1918 and
# RFC 4193 unique local addresses. Everything else (public, CGNAT 100.64/10,
# link-local, documentation ranges) is "public" here: it is not yours alone.
PRIVATE_NETWORKS = tuple(ipaddress.ip_network(n) for n in (
    '127.0.0.0/8', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '::1/128', 'fc00::/7'))
# Never trust a network wider than this, opted in or not: /8 is the widest
# RFC 1918 block, /48 one site's unique local (or provider) allocation.
WIDEST_PREFIX = {4: 8, 6: 48}


def _as_network(value):
    net = ipaddress.ip_network(_network_text(value), strict=False)
    # ::ffff:a.b.c.d/len (IPv4-mapped, as in Postfix's own mynetworks default)
    # is the IPv4 network a.b.c.d/(len - 96).
    if net.version == 6 and net.prefixlen >= 96 and net.network_address.ipv4_mapped is not None:
        net = ipaddress.ip_network('%s/%d' % (net.network_address.ipv4_mapped, net.prefixlen - 96))
    return net


def _too_wide(net):
    return net.prefixlen < WIDEST_PREFIX[net.version]


def too_wide_networks(values):
    """Entries of ``values`` wider than /8 (IPv4) or /48 (IPv6), the whole Internet included.

    Entries that do not parse are left out: bad_networks names them.
    """
    wide = []
    for value in values:
        try:
            net = _as_network(value)
        except ValueError:
            continue
        if _too_wide(net):
            wide.append(value)
    return wide


def _words(values):
    """A list, or Postfix's own "a, b c" text, as single words."""
    if isinstance(values, (list, tuple)):
        return [w for v in values for w in _words(v)]
    return [w for w in re.split(r'[\s,]+', str(values)) if w]


def network_trust_problem(value, trusted=()):
    """Why a host must not trust ``value`` (relay, connect, log in), or '' when it may.

    Trusted without opt-in: subnets of loopback, RFC 1918 and fc00::/7.
    ``trusted`` lists the public networks an admin explicitly opted in; a
    subnet of one of them passes too. Never trusted: anything that does not
    parse, the whole Internet, and IPv4 networks wider than /8 or IPv6
    networks wider than /48.
    """
    try:
        net = _as_network(value)
    except ValueError:
        return 'not an address or CIDR network'
    if net.prefixlen == 0:
        return 'the whole %s Internet' % ('IPv4' if net.version == 4 else 'IPv6')
    if _too_wide(net):
        return 'wider than /%d, the widest network this collection trusts' % WIDEST_PREFIX[net.version]
    if any(net.version == p.version and net.subnet_of(p) for p in PRIVATE_NETWORKS):
        return ''
    for entry in _words(trusted):
        try:
            allowed = _as_network(entry)
        except ValueError:
            continue
        if allowed.version == net.version and allowed.prefixlen >= WIDEST_PREFIX[allowed.version] \
                and net.subnet_of(allowed):
            return ''
    return 'a public network: only loopback, RFC 1918 and fc00::/7 are trusted without an opt-in'


def untrusted_networks(values, trusted=()):
    """Entries of ``values`` a host must not trust, each as "entry (reason)".

    ``values`` is a list or Postfix's own list syntax ("a, b c"); every word
    is judged by network_trust_problem, so a table or $parameter is refused
    too (it cannot be checked).
    """
    problems = []
    for word in _words(values):
        reason = network_trust_problem(word, trusted)
        if reason:
            problems.append('%s (%s)' % (word, reason))
    return problems


# The common multi-label public suffixes (registries' second levels). Partial
# on purpose: the Public Suffix List has thousands of entries, and the point
# is to catch the usual mistakes (co.uk, com.au), not to replace it.
PUBLIC_SUFFIXES = frozenset("""
co.uk org.uk me.uk ltd.uk plc.uk net.uk ac.uk gov.uk nhs.uk sch.uk
com.au net.au org.au edu.au gov.au asn.au id.au
co.nz net.nz org.nz govt.nz ac.nz
co.jp ne.jp or.jp ac.jp go.jp ad.jp ed.jp gr.jp lg.jp
co.kr or.kr ne.kr go.kr ac.kr
com.cn net.cn org.cn gov.cn edu.cn ac.cn
com.hk net.hk org.hk edu.hk gov.hk
com.tw net.tw org.tw edu.tw gov.tw
com.sg net.sg org.sg edu.sg gov.sg
co.in net.in org.in firm.in gen.in ind.in ac.in gov.in
co.id or.id ac.id go.id web.id
com.my net.my org.my edu.my gov.my
com.ph net.ph org.ph com.vn net.vn com.pk com.bd
co.il org.il net.il ac.il gov.il
co.za org.za net.za gov.za ac.za
com.br net.br org.br gov.br edu.br
com.ar net.ar org.ar gob.ar com.mx net.mx org.mx gob.mx edu.mx
com.co net.co com.pe com.ve com.uy com.ec
com.tr net.tr org.tr gov.tr edu.tr
com.ua net.ua org.ua com.pl net.pl org.pl com.ru net.ru org.ru
co.at or.at gv.at ac.at com.gr com.cy com.mt
com.eg com.sa com.ng com.kw com.qa com.lb
""".split())


def domain_scope_problem(value):
    """Why relaying for ``value`` relays for many owners at once, or ''.

    Single-label names (``net``, ``.com``, ``corp``) always; multi-label names
    only when they are in PUBLIC_SUFFIXES (partial, see there).
    """
    name = str(value).strip().strip('.').lower()
    if '.' not in name:
        return 'a top-level domain: it relays for every domain under it'
    if name in PUBLIC_SUFFIXES:
        return 'a public suffix: it relays for every registrant under it'
    return ''


def public_suffix_domains(values, allowed=()):
    """Entries of ``values`` that are a top-level domain or a common public suffix, as "entry (reason)".

    ``allowed`` lists the ones an admin opted in (compared without a leading
    dot, case-insensitive).
    """
    if not isinstance(values, (list, tuple)):
        raise AnsibleFilterError('public_suffix_domains expects a list, got %s' % type(values).__name__)
    ok = set(str(a).strip().strip('.').lower() for a in _words(allowed))
    problems = []
    for value in values:
        reason = domain_scope_problem(value)
        if reason and str(value).strip().strip('.').lower() not in ok:
            problems.append('%s (%s)' % (value, reason))
    return problems


class FilterModule(object):
    def filters(self):
        return {
            'bad_networks': bad_networks,
            'bad_domains': bad_domains,
            'postfix_network': postfix_network,
            'network_trust_problem': network_trust_problem,
            'untrusted_networks': untrusted_networks,
            'domain_scope_problem': domain_scope_problem,
            'public_suffix_domains': public_suffix_domains,
        }
