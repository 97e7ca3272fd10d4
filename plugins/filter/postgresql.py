# -*- coding: utf-8 -*-
# Copyright: securemail.gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pg_hba decisions of the postgresql role (and the audit).

Which networks may be trusted at all is network_trust_problem's decision
(plugins/filter/network.py); these filters apply it to pg_hba entries and add
the one question pg_hba asks besides: does a remote client have to use TLS?
A line of type host or hostnossl lets a client log in without TLS, so its
password exchange and every query cross the network in clear; that is fine
on loopback only. ``reject`` lines refuse, so they may name any network
without TLS (``hostnossl all all 0.0.0.0/0 reject`` is a hardening line).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.securemail.gateway.plugins.filter.network import _as_network, network_trust_problem

TCP_TYPES = ('host', 'hostssl', 'hostnossl', 'hostgssenc', 'hostnogssenc')
WITHOUT_TLS_TYPES = ('host', 'hostnossl', 'hostgssenc', 'hostnogssenc')


def _entries(entries, name):
    if not isinstance(entries, (list, tuple)):
        raise AnsibleFilterError('%s expects a list of pg_hba entries, got %s' % (name, type(entries).__name__))
    return [(i, e) for i, e in enumerate(entries) if isinstance(e, dict)]


def _grants(entry):
    """A TCP entry that lets someone in (anything but reject)."""
    return entry.get('type') in TCP_TYPES and entry.get('method') != 'reject'


def is_loopback_network(value):
    """Whether ``value`` (address or CIDR, IPv4-mapped too) is inside 127.0.0.0/8 or ::1/128."""
    try:
        return _as_network(value).is_loopback
    except ValueError:
        return False


def remote_networks(values):
    """Entries of a list of addresses or networks that are not loopback."""
    if not isinstance(values, (list, tuple)):
        raise AnsibleFilterError('remote_networks expects a list, got %s' % type(values).__name__)
    return [v for v in values if not is_loopback_network(v)]


def postgresql_hba_untrusted(entries, trusted=()):
    """pg_hba entries that let in a network a host must not trust, as "[index] address (reason)".

    Judged by network_trust_problem: public networks only inside ``trusted``
    (the opt-in list), never the whole Internet or wider than /8 (/48).
    """
    problems = []
    for i, entry in _entries(entries, 'postgresql_hba_untrusted'):
        if _grants(entry):
            reason = network_trust_problem(entry.get('address', ''), trusted)
            if reason:
                problems.append('[%d] %s (%s)' % (i, entry.get('address'), reason))
    return problems


def postgresql_hba_without_tls(entries):
    """pg_hba entries that let a remote (non-loopback) client log in without TLS, as "[index] type address"."""
    problems = []
    for i, entry in _entries(entries, 'postgresql_hba_without_tls'):
        if _grants(entry) and entry.get('type') in WITHOUT_TLS_TYPES \
                and not is_loopback_network(entry.get('address', '')):
            problems.append('[%d] %s %s' % (i, entry.get('type'), entry.get('address')))
    return problems


class FilterModule(object):
    def filters(self):
        return {
            'is_loopback_network': is_loopback_network,
            'remote_networks': remote_networks,
            'postgresql_hba_untrusted': postgresql_hba_untrusted,
            'postgresql_hba_without_tls': postgresql_hba_without_tls,
        }
