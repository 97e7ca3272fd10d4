#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: securemail.gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: exposure_check
short_description: Compare a host's listening sockets with an exposure policy
version_added: 0.1.0
description:
  - Reads the listening TCP sockets and unconnected UDP sockets of the host (its current network namespace)
    straight from C(/proc/net), with the process owning each one, so it needs neither C(netstat) nor C(ss).
  - Compares them with a policy that says, for each service, on which port and how widely it may be bound,
    C(loopback), C(internal) (an address inside O(internal_networks)), C(public) (any address, including the
    wildcard), or an explicit list of addresses.
  - Optionally, and independently of the policy, checks the host against the audit's own baseline (O(baseline)),
    where any listener that faces the outside (not loopback, not an internal address) on a port the baseline does not
    allow is a finding, even when a policy entry allows it.
  - Optionally judges what else the host exposes, private key file modes (O(private_keys)), web document roots
    (O(document_roots)), and PostgreSQL's client authentication rules and TLS settings as read by the caller
    (O(postgresql)). These are reported in RV(findings).
  - Read-only. Reports violations; it never changes the host.
author:
  - securemail.gateway developers (@securemail)
options:
  policy:
    description:
      - The allowed listeners. A listener whose protocol and port match no entry is reported as C(unexpected);
        one bound more widely than its entry allows as C(too_wide); a required entry with no listener as
        C(missing); a listener owned by another process than the entry's O(policy[].process) as C(wrong_process).
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Service name used in reports.
        type: str
        required: true
      port:
        description: TCP or UDP port.
        type: int
        required: true
      proto:
        description: Transport protocol.
        type: str
        choices: [tcp, udp]
        default: tcp
      bind:
        description:
          - How widely the service may be bound. V(loopback) < V(internal) < V(public); a narrower bind than
            allowed is accepted. A list of addresses allows exactly those addresses.
        type: raw
        default: loopback
      required:
        description: Report C(missing) when nothing listens on this port.
        type: bool
        default: true
      process:
        description: Expected process name (as in C(/proc/PID/comm)); not checked when omitted.
        type: str
  internal_networks:
    description: Networks (CIDR) whose addresses count as C(internal).
    type: list
    elements: str
    default: []
  protocols:
    description: Which socket families to read.
    type: list
    elements: str
    choices: [tcp, udp]
    default: [tcp, udp]
  fail_on_violation:
    description: Fail the task when there is any violation or finding (the result still carries the details).
    type: bool
    default: false
  baseline:
    description:
      - The audit's own limit on what may face the outside, applied to every listener whatever O(policy) says.
        Omit to skip it.
    type: dict
    suboptions:
      public_ports:
        description:
          - Ports that may listen on outside addresses. A number is a TCP port; V(udp/68) or V(tcp/22) name the
            protocol.
        type: list
        elements: raw
        default: [25, 465, 587]
      internal:
        description:
          - Addresses or networks that count as internal (not outside). Loopback is always inside; a wildcard
            bind (V(0.0.0.0), V(::)) always faces the outside.
        type: list
        elements: str
        default: []
      private_only:
        description:
          - Accept only non-global (private, link-local, ...) entries of O(baseline.internal) and list the others in
            C(ignored) of RV(baseline). For defaults taken from an inventory, which must not make a public address
            internal.
        type: bool
        default: false
  private_keys:
    description:
      - Private key files to judge. Readable or writable by others is a finding; by the group too, except
        root:O(private_keys[].group_readable_by) with mode 0640 exactly. A listed file that holds no private key
        (a certificate file) is not judged; a missing one is a finding.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path of the file the service reads.
        type: path
        required: true
      service:
        description: Who uses the key, for the finding text.
        type: str
        default: tls
      group_readable_by:
        description: Group that may read the key when it is owned by root with mode 0640 (PostgreSQL with V(ssl-cert)).
        type: str
      purpose:
        description:
          - What the key is for. Findings about a V(TLS) key belong to the C(tls keys) check, findings about a
            V(DKIM) signing key to the C(dkim keys) check, and their text says which it is.
        type: str
        choices: [TLS, DKIM]
        default: TLS
        version_added: 0.3.0
  document_roots:
    description: Web document roots; one that resolves (links followed) outside O(document_root_bases) is a finding.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: The DocumentRoot as configured.
        type: path
        required: true
      service:
        description: Whose document root, for the finding text.
        type: str
        default: web
  document_root_bases:
    description: Directories document roots must stay in.
    type: list
    elements: path
    default: [/var/www, /srv]
  postgresql:
    description:
      - PostgreSQL's effective settings and client authentication rules, as the caller read them from the server.
        Rules of type C(host) or C(hostnossl) that let a non-loopback address in with any method but C(reject) are
        findings (they accept connections without TLS); so are C(ssl) off, C(ssl_min_protocol_version) below
        TLSv1.2, and an C(ssl_ciphers) string that lets in eNULL, aNULL or export suites (V(ALL), V(HIGH),
        V(MEDIUM) and V(LOW) count as aNULL unless the string removes it with V(!aNULL)).
    type: dict
    suboptions:
      settings:
        description: C(ssl), C(ssl_min_protocol_version) and C(ssl_ciphers) as C(SHOW) prints them.
        type: dict
        default: {}
      hba_rules:
        description: Rows of the C(pg_hba_file_rules) view (line_number, type, database, user_name, address, netmask,
          auth_method, error).
        type: list
        elements: dict
        default: []
attributes:
  check_mode:
    description: Can run in check mode; it only reads, so the results are the same.
    support: full
  diff_mode:
    description: Nothing is changed, so there is no diff.
    support: none
notes:
  - Process names are only visible for sockets whose owner the connecting user may inspect; run as root.
'''

EXAMPLES = r'''
- name: Prove the gateway's exposure
  securemail.gateway.exposure_check:
    internal_networks: [10.0.0.0/8]
    policy:
      - {name: smtp, port: 25, bind: public, process: master}
      - {name: content-filter, port: 10024, bind: loopback}
      - {name: reinjection, port: 10025, bind: loopback, process: master}
      - {name: postgresql, port: 5432, bind: loopback, process: postgres}
      - {name: quarantine-https, port: 28443, bind: internal, process: apache2}
      - {name: ssh, port: 22, bind: public, required: false}
  register: exposure

- name: Fail on the first drift
  securemail.gateway.exposure_check:
    policy: "{{ gateway_policy }}"
    fail_on_violation: true
'''

RETURN = r'''
listeners:
  description: Every listening socket found.
  returned: always
  type: list
  elements: dict
  sample: [{proto: tcp, address: 0.0.0.0, port: 25, pid: 812, process: master}]
violations:
  description: What does not match the policy.
  returned: always
  type: list
  elements: dict
  sample:
    - kind: too_wide
      service: postgresql
      proto: tcp
      port: 5432
      address: 0.0.0.0
      address_class: public
      process: postgres
      reason: postgresql is bound on 0.0.0.0 (public) but the policy allows loopback
findings:
  description:
    - What the baseline and the file and database checks found. C(check) is V(baseline), V(tls keys),
      V(dkim keys), V(document root), V(pg_hba) or V(postgresql tls); C(reason) says what is wrong.
  returned: always
  type: list
  elements: dict
  sample:
    - check: baseline
      kind: outside_baseline
      proto: tcp
      port: 2526
      address: 0.0.0.0
      process: master
      reason: tcp 0.0.0.0:2526 (master) faces the outside; the audit baseline allows only tcp 25, tcp 465, tcp 587 on
        non-internal addresses
    - check: tls keys
      kind: key_open_to_others
      path: /etc/postfix/tls/smtpd-chain.pem
      service: postfix
      mode: '0644'
      reason: postfix TLS key /etc/postfix/tls/smtpd-chain.pem is readable by others (0644 root:root)
keys:
  description: The inspected key files (never their content).
  returned: always
  type: list
  elements: dict
  sample: [{path: /etc/ssl/private/ssl-cert-snakeoil.key, exists: true, holds_key: true, mode: '0640', owner: root,
            group: ssl-cert, service: postgresql, purpose: TLS}]
baseline:
  description: The baseline applied; C(ignored) lists internal entries refused by O(baseline.private_only).
  returned: when O(baseline) is set
  type: dict
  sample: {public_ports: [tcp/25, tcp/465, tcp/587], internal: [10.89.0.5/32], ignored: []}
compliant:
  description: True when there is no violation and no finding.
  returned: always
  type: bool
'''

import ipaddress

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.securemail.gateway.plugins.module_utils.audit import (
    document_root_findings, hba_findings, inspect_key, key_findings, postgresql_tls_findings)
from ansible_collections.securemail.gateway.plugins.module_utils.sockets import (
    CLASS_RANK, baseline_violations, compare, parse_networks, parse_ports, read_listeners, split_internal)


def validate_policy(policy):
    """Return an error text for the first bad entry, or None."""
    for index, entry in enumerate(policy):
        label = 'policy[%d] (%s)' % (index, entry.get('name'))
        if not 0 < entry['port'] < 65536:
            return '%s: port %r is out of range 1-65535' % (label, entry['port'])
        bind = entry.get('bind')
        if isinstance(bind, list):
            for address in bind:
                try:
                    ipaddress.ip_address(str(address))
                except ValueError:
                    return '%s: bind address %r is not an IP address' % (label, address)
        elif bind not in CLASS_RANK:
            return '%s: bind must be one of %s or a list of addresses, got %r' % (
                label, ', '.join(sorted(CLASS_RANK)), bind)
    return None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            policy=dict(type='list', elements='dict', required=True, options=dict(
                name=dict(type='str', required=True),
                port=dict(type='int', required=True),
                proto=dict(type='str', choices=['tcp', 'udp'], default='tcp'),
                bind=dict(type='raw', default='loopback'),
                required=dict(type='bool', default=True),
                process=dict(type='str'),
            )),
            internal_networks=dict(type='list', elements='str', default=[]),
            protocols=dict(type='list', elements='str', choices=['tcp', 'udp'], default=['tcp', 'udp']),
            fail_on_violation=dict(type='bool', default=False),
            baseline=dict(type='dict', options=dict(
                public_ports=dict(type='list', elements='raw', default=[25, 465, 587]),
                internal=dict(type='list', elements='str', default=[]),
                private_only=dict(type='bool', default=False),
            )),
            # Paths of key files, never their content.
            private_keys=dict(type='list', elements='dict', default=[], no_log=False, options=dict(
                path=dict(type='path', required=True),
                service=dict(type='str', default='tls'),
                group_readable_by=dict(type='str'),
                purpose=dict(type='str', default='TLS', choices=['TLS', 'DKIM']),
            )),
            document_roots=dict(type='list', elements='dict', default=[], options=dict(
                path=dict(type='path', required=True),
                service=dict(type='str', default='web'),
            )),
            document_root_bases=dict(type='list', elements='path', default=['/var/www', '/srv']),
            postgresql=dict(type='dict', options=dict(
                settings=dict(type='dict', default={}),
                hba_rules=dict(type='list', elements='dict', default=[]),
            )),
        ),
        supports_check_mode=True,
    )
    policy = module.params['policy']
    error = validate_policy(policy)
    if error:
        module.fail_json(msg=error)
    params = module.params
    baseline = params['baseline']
    try:
        networks = parse_networks(params['internal_networks'])
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    if baseline is not None:
        try:
            public_ports = parse_ports(baseline['public_ports'])
            internal, ignored = split_internal(baseline['internal'], baseline['private_only'])
        except ValueError as exc:
            module.fail_json(msg='baseline.%s' % exc)
    for entry in params['private_keys'] + params['document_roots']:
        if not entry['path'].startswith('/'):
            module.fail_json(msg='%s: path %r is not absolute' % (entry['service'], entry['path']))

    listeners = read_listeners(tuple(params['protocols']))
    wanted = set(params['protocols'])
    violations = compare(listeners, [e for e in policy if e['proto'] in wanted], networks)
    result = dict(changed=False, listeners=listeners, violations=violations)

    findings = []
    if baseline is not None:
        findings.extend(dict(v, check='baseline') for v in baseline_violations(listeners, public_ports, internal))
        result['baseline'] = dict(public_ports=['%s/%d' % p for p in sorted(public_ports)],
                                  internal=[str(n) for n in internal], ignored=ignored)
    keys = []
    for entry in params['private_keys']:
        info = inspect_key(entry['path'])
        info.update(service=entry['service'], purpose=entry['purpose'])
        keys.append(info)
        findings.extend(key_findings(info, entry['service'], entry.get('group_readable_by'), entry['purpose']))
    for entry in params['document_roots']:
        findings.extend(document_root_findings(entry['path'], entry['service'], params['document_root_bases']))
    if params['postgresql'] is not None:
        findings.extend(hba_findings(params['postgresql']['hba_rules']))
        findings.extend(postgresql_tls_findings(params['postgresql']['settings']))
    result.update(findings=findings, keys=keys, compliant=not violations and not findings)
    if not result['compliant'] and params['fail_on_violation']:
        module.fail_json(msg='; '.join(v['reason'] for v in violations + findings), **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
