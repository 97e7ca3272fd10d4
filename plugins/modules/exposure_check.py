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
    description: Fail the task when there is any violation (the result still carries the details).
    type: bool
    default: false
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
compliant:
  description: True when there is no violation.
  returned: always
  type: bool
'''

import ipaddress

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.securemail.gateway.plugins.module_utils.sockets import (
    CLASS_RANK, compare, parse_networks, read_listeners)


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
        ),
        supports_check_mode=True,
    )
    policy = module.params['policy']
    error = validate_policy(policy)
    if error:
        module.fail_json(msg=error)
    try:
        networks = parse_networks(module.params['internal_networks'])
    except ValueError as exc:
        module.fail_json(msg=str(exc))

    listeners = read_listeners(tuple(module.params['protocols']))
    wanted = set(module.params['protocols'])
    violations = compare(listeners, [e for e in policy if e['proto'] in wanted], networks)
    result = dict(changed=False, listeners=listeners, violations=violations, compliant=not violations)
    if violations and module.params['fail_on_violation']:
        module.fail_json(msg='; '.join(v['reason'] for v in violations), **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
