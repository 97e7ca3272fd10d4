# -*- coding: utf-8 -*-
# Copyright: securemail.gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Network checks the roles need before they write anything.

ansible.utils' ipaddr filter needs netaddr on the controller; Python's own
ipaddress module answers the only question the roles ask: does it parse?
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

from ansible.errors import AnsibleFilterError

# RFC 1123 labels; relay domains may start with "." (subdomain form in Postfix).
DOMAIN_RE = re.compile(r'^\.?(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$')


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


def postfix_network(value):
    """An address or network in the form Postfix's mynetworks expects."""
    net = ipaddress.ip_network(_network_text(value), strict=False)
    if net.version == 6:
        return '[%s]/%d' % (net.network_address, net.prefixlen)
    return str(net)


class FilterModule(object):
    def filters(self):
        return {
            'bad_networks': bad_networks,
            'bad_domains': bad_domains,
            'postfix_network': postfix_network,
        }
