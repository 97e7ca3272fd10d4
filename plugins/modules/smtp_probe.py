#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: securemail.gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: smtp_probe
short_description: Report what a remote SMTP client sees of a mail server
version_added: 0.1.0
description:
  - Connects to an SMTP server the way an outside client would and reports the banner (and whether it names
    the software or the operating system), the EHLO capabilities, STARTTLS and the negotiated protocol, which
    TLS versions the server accepts, the answers to VRFY and EXPN, and whether the server accepts a recipient in
    a foreign domain (an open relay).
  - It never sends a message; the relay test stops after RCPT TO and resets the session.
  - Run it from the controller or, with C(delegate_to), from a peer host, to see the server from that network.
  - A server that cannot be reached, or that times out, is a result (RV(reachable) false), not a task failure.
author:
  - securemail.gateway developers (@securemail)
options:
  host:
    description: Address or name of the SMTP server.
    type: str
    required: true
  port:
    description: TCP port.
    type: int
    default: 25
  helo_name:
    description: Name given in EHLO. Use a fully qualified name, or HELO restrictions will refuse the probe.
    type: str
    default: probe.example.net
  timeout:
    description: Seconds to wait for the connection and for each reply.
    type: float
    default: 10
  starttls:
    description: Try STARTTLS when the server offers it, and report the negotiated protocol and cipher.
    type: bool
    default: true
  tls_versions:
    description:
      - TLS versions to try one at a time (each in a new session). The probe lowers its own OpenSSL security
        level for TLSv1 and TLSv1.1 so that a refusal comes from the server, not from the probe.
    type: list
    elements: str
    choices: [TLSv1, TLSv1.1, TLSv1.2, TLSv1.3]
    default: []
  vrfy_address:
    description: Local part or address asked with VRFY and EXPN. Empty to skip both.
    type: str
    default: root
  relay_sender:
    description: Envelope sender of the relay test.
    type: str
    default: probe@example.net
  relay_recipient:
    description: A recipient in a domain the server must not relay for. Empty to skip the relay test.
    type: str
    default: relay-test@example.com
attributes:
  check_mode:
    description: Can run in check mode; it only reads, so the results are the same.
    support: full
  diff_mode:
    description: Nothing is changed, so there is no diff.
    support: none
'''

EXAMPLES = r'''
- name: See the gateway from the outside
  securemail.gateway.smtp_probe:
    host: "{{ ansible_host }}"
    tls_versions: [TLSv1, TLSv1.1, TLSv1.2, TLSv1.3]
  delegate_to: outsider
  register: smtp

- name: Refuse an open relay or a chatty banner
  ansible.builtin.assert:
    that:
      - smtp.reachable
      - not smtp.relay.accepted
      - smtp.banner_discloses | length == 0
      - not smtp.vrfy.disclosed
'''

RETURN = r'''
reachable:
  description: Whether an SMTP greeting was received.
  returned: always
  type: bool
error:
  description: Why the probe stopped early, when it did.
  returned: when the probe could not complete
  type: str
banner:
  description: The 220 greeting text.
  returned: when reachable
  type: str
  sample: mx.example.org ESMTP
banner_discloses:
  description: Software or operating system names (and version numbers) found in the banner.
  returned: always
  type: list
  elements: str
  sample: [Postfix, Debian]
ehlo:
  description: EHLO reply code and the capability keywords.
  returned: when reachable
  type: dict
  sample: {code: 250, capabilities: [PIPELINING, SIZE 10240000, STARTTLS, ENHANCEDSTATUSCODES, 8BITMIME]}
starttls:
  description: STARTTLS outcome.
  returned: when reachable
  type: dict
  sample: {offered: true, negotiated: true, protocol: TLSv1.3, cipher: TLS_AES_256_GCM_SHA384}
tls_versions:
  description: Per requested TLS version, C(accepted), C(refused), or C(not offered) when STARTTLS is absent.
  returned: always
  type: dict
  sample: {TLSv1: refused, TLSv1.1: refused, TLSv1.2: accepted}
vrfy:
  description: VRFY answer; C(disclosed) is true when the server confirmed or expanded the address.
  returned: when reachable and vrfy_address is set
  type: dict
  sample: {code: 502, message: "5.5.1 VRFY command is disabled", disclosed: false}
expn:
  description: EXPN answer, as for RV(vrfy).
  returned: when reachable and vrfy_address is set
  type: dict
relay:
  description: Relay test; C(accepted) is true when the foreign recipient got a 2xx answer (an open relay).
  returned: when reachable and relay_recipient is set
  type: dict
  sample: {accepted: false, stage: rcpt, code: 554, message: "5.7.1 <relay-test@example.com>: Relay access denied"}
'''

import re
import smtplib
import socket
import ssl

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_text

# Names that tell an attacker which software (and so which exploits) to try.
DISCLOSURE = re.compile(
    r'\b(postfix|sendmail|exim|qmail|exchange|microsoft|debian|ubuntu|red ?hat|centos|fedora|suse|'
    r'freebsd|openbsd|puremessage|pmdf|proxmox|\d+\.\d+(?:\.\d+)?)\b', re.IGNORECASE)

TLS_VERSIONS = {
    'TLSv1': ssl.TLSVersion.TLSv1,
    'TLSv1.1': ssl.TLSVersion.TLSv1_1,
    'TLSv1.2': ssl.TLSVersion.TLSv1_2,
    'TLSv1.3': ssl.TLSVersion.TLSv1_3,
}


def banner_disclosures(banner):
    found = []
    for match in DISCLOSURE.finditer(banner or ''):
        word = match.group(1)
        if word.lower() not in [f.lower() for f in found]:
            found.append(word)
    return found


def tls_context(version=None):
    # A probe must see the server's certificate whatever it is: verification is not what it measures.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    if version:
        if version in ('TLSv1', 'TLSv1.1'):
            context.set_ciphers('ALL:@SECLEVEL=0')
        context.minimum_version = TLS_VERSIONS[version]
        context.maximum_version = TLS_VERSIONS[version]
    return context


def reply(code, message):
    return dict(code=code, message=to_text(message, errors='surrogate_or_replace'))


class Probe(object):
    def __init__(self, params):
        self.params = params

    def connect(self):
        client = smtplib.SMTP(timeout=self.params['timeout'])
        code, message = client.connect(self.params['host'], self.params['port'])
        # smtplib only records the host for STARTTLS's server_hostname when it connects from
        # its constructor, which would hide a non-220 greeting from us.
        client._host = self.params['host']  # pylint: disable=protected-access
        return client, code, to_text(message, errors='surrogate_or_replace')

    def run(self):
        params = self.params
        result = dict(changed=False, reachable=False, banner_discloses=[], tls_versions={})
        try:
            client, code, banner = self.connect()
        except (OSError, smtplib.SMTPException) as exc:
            result['error'] = 'connect to %s:%d: %s' % (params['host'], params['port'], exc)
            return result
        result.update(reachable=code == 220, banner=banner, banner_discloses=banner_disclosures(banner))
        try:
            self.session(client, result)
        except (OSError, smtplib.SMTPException) as exc:
            result['error'] = '%s: %s' % (type(exc).__name__, exc)
        finally:
            self.close(client)
        if result.get('reachable'):
            offered = result.get('starttls', {}).get('offered')
            for version in params['tls_versions']:
                result['tls_versions'][version] = self.try_version(version) if offered else 'not offered'
        return result

    def session(self, client, result):
        params = self.params
        code, message = client.ehlo(params['helo_name'])
        result['ehlo'] = dict(code=code, capabilities=to_text(message).splitlines()[1:])
        offered = client.has_extn('starttls')
        result['starttls'] = dict(offered=offered, negotiated=False)
        if offered and params['starttls']:
            try:
                client.starttls(context=tls_context())
                tls = client.sock
                result['starttls'].update(negotiated=True, protocol=tls.version(), cipher=tls.cipher()[0])
                client.ehlo(params['helo_name'])
            except (ssl.SSLError, smtplib.SMTPException) as exc:
                result['starttls']['error'] = to_text(exc)
                return
        if params['vrfy_address']:
            result['vrfy'] = self.lookup(client, 'VRFY')
            result['expn'] = self.lookup(client, 'EXPN')
        if params['relay_recipient']:
            result['relay'] = self.relay_test(client)

    def lookup(self, client, verb):
        code, message = client.docmd(verb, self.params['vrfy_address'])
        answer = reply(code, message)
        # 250/251 confirm or expand the address; 252 is the "cannot verify, will try" non-answer.
        answer['disclosed'] = code in (250, 251)
        return answer

    def relay_test(self, client):
        code, message = client.docmd('MAIL FROM:<%s>' % self.params['relay_sender'])
        if code // 100 != 2:
            return dict(reply(code, message), accepted=False, stage='mail')
        code, message = client.docmd('RCPT TO:<%s>' % self.params['relay_recipient'])
        outcome = dict(reply(code, message), accepted=code // 100 == 2, stage='rcpt')
        client.docmd('RSET')
        return outcome

    def try_version(self, version):
        try:
            client, code, dummy = self.connect()
        except (OSError, smtplib.SMTPException):
            return 'unreachable'
        try:
            client.ehlo(self.params['helo_name'])
            client.starttls(context=tls_context(version))
            return 'accepted' if client.sock.version() == version else 'refused'
        except ssl.SSLError as exc:
            if 'NO_PROTOCOLS_AVAILABLE' in str(exc).upper():
                return 'unsupported by probe'
            return 'refused'
        except (OSError, smtplib.SMTPException):
            return 'refused'
        finally:
            self.close(client)

    @staticmethod
    def close(client):
        try:
            client.quit()
        except (OSError, smtplib.SMTPException):
            client.close()


def main():
    module = AnsibleModule(
        argument_spec=dict(
            host=dict(type='str', required=True),
            port=dict(type='int', default=25),
            helo_name=dict(type='str', default='probe.example.net'),
            timeout=dict(type='float', default=10),
            starttls=dict(type='bool', default=True),
            tls_versions=dict(type='list', elements='str', default=[], choices=list(TLS_VERSIONS)),
            vrfy_address=dict(type='str', default='root'),
            relay_sender=dict(type='str', default='probe@example.net'),
            relay_recipient=dict(type='str', default='relay-test@example.com'),
        ),
        supports_check_mode=True,
    )
    params = module.params
    if not 0 < params['port'] < 65536:
        module.fail_json(msg='port: %d is out of range 1-65535' % params['port'])
    for name in ('helo_name', 'vrfy_address', 'relay_sender', 'relay_recipient'):
        if re.search(r'[\x00-\x1f\x7f<>]', params[name] or ''):
            module.fail_json(msg='%s: control characters and angle brackets are not allowed' % name)
    if params['timeout'] <= 0:
        module.fail_json(msg='timeout: must be positive, got %s' % params['timeout'])
    socket.setdefaulttimeout(params['timeout'])
    module.exit_json(**Probe(params).run())


if __name__ == '__main__':
    main()
