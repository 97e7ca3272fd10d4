# -*- coding: utf-8 -*-
# Copyright: securemail.gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Listening sockets from /proc and their comparison with an exposure policy.

/proc is read directly so that the audit works on minimal hosts and
containers where neither netstat nor ss is installed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import os
import re
import socket
import struct

# /proc/net/tcp "st" column: 0A is TCP_LISTEN. An unconnected UDP socket is
# 07 (TCP_CLOSE reused by the kernel), which is how a UDP server looks.
_TCP_LISTEN = '0A'
_UDP_UNCONNECTED = '07'

# Narrowest first: a listener may be narrower than its policy allows, never wider.
CLASS_RANK = {'loopback': 0, 'internal': 1, 'public': 2}

_SOCKET_LINK = re.compile(r'^socket:\[(\d+)\]$')


def decode_address(hexaddr):
    """Turn /proc/net's 'HEXIP:HEXPORT' into (address text, port)."""
    host, port = hexaddr.split(':')
    raw = bytes.fromhex(host)
    # The kernel prints each 32-bit word in host byte order.
    words = struct.unpack('<%dI' % (len(raw) // 4), raw)
    packed = struct.pack('>%dI' % len(words), *words)
    family = socket.AF_INET if len(packed) == 4 else socket.AF_INET6
    addr = ipaddress.ip_address(socket.inet_ntop(family, packed))
    if addr.version == 6 and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return str(addr), int(port, 16)


def parse_proc_net(text, proto):
    """Parse the text of /proc/net/{tcp,tcp6,udp,udp6} into listener dicts."""
    wanted = _TCP_LISTEN if proto == 'tcp' else _UDP_UNCONNECTED
    listeners = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 10 or fields[3] != wanted:
            continue
        address, port = decode_address(fields[1])
        if proto == 'udp' and port == 0:
            continue
        listeners.append({'proto': proto, 'address': address, 'port': port, 'inode': int(fields[9])})
    return listeners


def socket_owners(proc_root='/proc'):
    """Map socket inode -> (pid, process name) by walking /proc/PID/fd."""
    owners = {}
    try:
        pids = [p for p in os.listdir(proc_root) if p.isdigit()]
    except OSError:
        return owners
    for pid in pids:
        fd_dir = os.path.join(proc_root, pid, 'fd')
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue
        name = None
        for fd in fds:
            try:
                match = _SOCKET_LINK.match(os.readlink(os.path.join(fd_dir, fd)))
            except OSError:
                continue
            if not match:
                continue
            if name is None:
                name = _process_name(proc_root, pid)
            owners.setdefault(int(match.group(1)), (int(pid), name))
    return owners


def _process_name(proc_root, pid):
    try:
        with open(os.path.join(proc_root, pid, 'comm')) as handle:
            return handle.read().strip()
    except (IOError, OSError):
        return None


def read_listeners(protocols=('tcp', 'udp'), proc_root='/proc'):
    """All listening sockets of the current network namespace, with owners."""
    listeners = []
    for proto in protocols:
        for suffix in ('', '6'):
            path = os.path.join(proc_root, 'net', proto + suffix)
            try:
                with open(path) as handle:
                    text = handle.read()
            except (IOError, OSError):
                continue
            listeners.extend(parse_proc_net(text, proto))
    owners = socket_owners(proc_root)
    unique = {}
    for item in listeners:
        pid, name = owners.get(item.pop('inode'), (None, None))
        item['pid'] = pid
        item['process'] = name
        unique.setdefault((item['proto'], item['address'], item['port']), item)
    return sorted(unique.values(), key=lambda i: (i['proto'], i['port'], i['address']))


def address_class(address, internal_networks):
    """Classify a bound address as loopback, internal or public.

    A wildcard bind answers on every interface, so it counts as public.
    """
    addr = ipaddress.ip_address(address)
    if addr.is_unspecified:
        return 'public'
    if addr.is_loopback:
        return 'loopback'
    for net in internal_networks:
        if addr in net:
            return 'internal'
    return 'public'


def parse_networks(values):
    """CIDR strings -> ip_network objects; raises ValueError naming the bad one."""
    nets = []
    for value in values:
        try:
            nets.append(ipaddress.ip_network(str(value), strict=False))
        except ValueError as exc:
            raise ValueError('internal_networks: %r is not a network: %s' % (value, exc))
    return nets


def _bind_allows(bind, address, klass):
    """True when a listener (address, class) fits a policy entry's bind value."""
    if isinstance(bind, (list, tuple)):
        allowed = set()
        for item in bind:
            allowed.add(str(ipaddress.ip_address(item)))
        return address in allowed
    return CLASS_RANK[klass] <= CLASS_RANK[bind]


def compare(listeners, policy, internal_networks):
    """Compare listeners with a policy.

    policy: list of dicts {name, port, proto, bind, required, process}; bind is
    one of loopback/internal/public or a list of explicit addresses.
    Returns a list of violation dicts, each with a 'kind' of unexpected,
    too_wide, wrong_process or missing.
    """
    by_key = {}
    for entry in policy:
        by_key.setdefault((entry.get('proto', 'tcp'), int(entry['port'])), []).append(entry)

    violations = []
    seen = set()
    for item in listeners:
        key = (item['proto'], item['port'])
        entries = by_key.get(key)
        klass = address_class(item['address'], internal_networks)
        base = dict(proto=item['proto'], port=item['port'], address=item['address'],
                    address_class=klass, process=item.get('process'))
        if not entries:
            violations.append(dict(base, kind='unexpected', service=None,
                                   reason='no policy entry allows %s port %d' % (item['proto'], item['port'])))
            continue
        fitting = [e for e in entries if _bind_allows(e.get('bind', 'loopback'), item['address'], klass)]
        if not fitting:
            entry = entries[0]
            # The service is there, only too exposed: one finding, not also "missing".
            seen.add(id(entry))
            violations.append(dict(base, kind='too_wide', service=entry.get('name'),
                                   reason='%s is bound on %s (%s) but the policy allows %s' % (
                                       entry.get('name'), item['address'], klass, _bind_text(entry.get('bind')))))
            continue
        entry = fitting[0]
        seen.add(id(entry))
        expected_process = entry.get('process')
        if expected_process and item.get('process') and item['process'] != expected_process:
            violations.append(dict(base, kind='wrong_process', service=entry.get('name'),
                                   reason='port %d is owned by %s, the policy expects %s' % (
                                       item['port'], item['process'], expected_process)))

    for entry in policy:
        if entry.get('required', True) and id(entry) not in seen:
            violations.append(dict(kind='missing', service=entry.get('name'), proto=entry.get('proto', 'tcp'),
                                   port=int(entry['port']), address=None, address_class=None, process=None,
                                   reason='%s is not listening on port %d' % (entry.get('name'), int(entry['port']))))
    return violations


def _bind_text(bind):
    if isinstance(bind, (list, tuple)):
        return ', '.join(str(b) for b in bind)
    return str(bind)


# The audit's own baseline: what may ever face the outside, whatever a role declared.
DEFAULT_PUBLIC_PORTS = (('tcp', 25), ('tcp', 465), ('tcp', 587))


def parse_ports(values):
    """Baseline ports -> set of (proto, port).

    An entry is a port number (TCP), 'tcp/25', 'udp/68', '25/tcp', or a dict
    {port, proto}. Raises ValueError naming the bad entry.
    """
    found = set()
    for value in values:
        proto, port = 'tcp', value
        if isinstance(value, dict):
            proto, port = str(value.get('proto', 'tcp')).lower(), value.get('port')
        elif isinstance(value, str) and '/' in value:
            left, right = (part.strip().lower() for part in value.split('/', 1))
            proto, port = (left, right) if left in ('tcp', 'udp') else (right, left)
        try:
            number = int(str(port).strip())
        except (TypeError, ValueError):
            number = 0
        if proto not in ('tcp', 'udp') or not 0 < number < 65536 or isinstance(port, bool):
            raise ValueError('public_ports: %r is not a port (25, tcp/25, udp/68)' % (value,))
        found.add((proto, number))
    return found


def split_internal(values, private_only=False):
    """Addresses or networks that count as internal for the baseline -> (networks, ignored).

    With private_only, entries that are globally routable (or wildcards) are
    not accepted as internal: a default taken from the inventory may not make
    a public address internal. ignored lists them with the reason.
    Raises ValueError naming an entry that does not parse.
    """
    networks, ignored = [], []
    for value in values:
        text = str(value).strip()
        if text.startswith('[') and ']' in text:
            text = text[1:].replace(']', '', 1)
        try:
            net = ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise ValueError('internal: %r is not an address or network' % (value,))
        if private_only and net.network_address.is_unspecified:
            ignored.append('%s (a wildcard, not an address)' % value)
            continue
        if private_only and net.is_global:
            ignored.append('%s (globally routable: only securemail_audit_internal can make it internal)' % value)
            continue
        networks.append(net)
    return networks, ignored


def _endpoint(address, port):
    return ('[%s]:%d' if ':' in address else '%s:%d') % (address, port)


def baseline_violations(listeners, public_ports, internal):
    """Listeners that face the outside on a port the baseline does not allow.

    Outside means: not loopback and not inside ``internal`` (networks). A
    wildcard bind answers on every address, so it always faces the outside.
    The exposure policy is not consulted: a listener a role declared is still
    a violation here.
    """
    allowed = ', '.join('%s %d' % item for item in sorted(public_ports)) or 'nothing'
    violations = []
    for item in listeners:
        addr = ipaddress.ip_address(item['address'])
        if addr.is_loopback:
            continue
        if not addr.is_unspecified and any(addr in net for net in internal if net.version == addr.version):
            continue
        if (item['proto'], item['port']) in public_ports:
            continue
        owner = ' (%s)' % item['process'] if item.get('process') else ''
        violations.append(dict(
            kind='outside_baseline', proto=item['proto'], port=item['port'], address=item['address'],
            process=item.get('process'),
            reason='%s %s%s faces the outside; the audit baseline allows only %s on non-internal addresses' % (
                item['proto'], _endpoint(item['address'], item['port']), owner, allowed)))
    return violations
