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
    TLS versions the server accepts, the answers to VRFY and EXPN, and whether the server accepts recipients it
    must not relay for (an open relay).
  - The relay test tries several forms (see O(relay_forms)), foreign domains in different top-level domains, an
    address literal, the percent hack, a source route and a bang path through one of O(relay_domains), and a
    sibling of each relay domain (another name under its parent). Each must be refused at RCPT TO (4xx or 5xx);
    every accepted one is named in RV(relay_accepted).
  - It never sends a message; every relay test stops after RCPT TO and resets the transaction. The relay tests
    run in their own sessions, a few recipients each, so that servers that slow down or disconnect clients after
    a few errors (C(smtpd_soft_error_limit), C(smtpd_hard_error_limit)) answer them all without delay; their
    total time is bounded by O(relay_time_budget).
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
      - Before it asks the server, the probe builds its ClientHello in memory and checks that it offers exactly
        that version; when this host's TLS library cannot, the result is C(unsupported by probe), never
        C(refused).
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
    description:
      - A recipient in a domain the server must not relay for; its answer is RV(relay). Its local part is used
        for every other relay form too. Empty to skip all relay tests.
    type: str
    default: relay-test@example.com
  relay_domains:
    description:
      - Domains the server accepts mail for (its C(relay_domains), or its own name). The routed forms
        (C(percent_hack), C(source_route), C(bang_path)) point at the first one; C(parent_sibling) tries a sibling
        of each of the first five. Foreign domains that fall inside one of them are not tried.
      - Empty skips the routed and sibling forms (reported in RV(relay_skipped)).
    type: list
    elements: str
    default: []
  relay_forms:
    description:
      - Which relay forms to try besides O(relay_recipient).
      - V(foreign) relay-test@ example.com, example.net, victim.example and probe.test (com, net and the reserved
        example and test TLDs); V(address_literal) relay-test@[192.0.2.1]; V(percent_hack)
        relay-test%victim.example@RELAYDOMAIN; V(source_route) @RELAYDOMAIN:relay-test@victim.example;
        V(bang_path) victim.example!relay-test@RELAYDOMAIN; V(parent_sibling) relay-test@securemail-probe.PARENT
        for every relay domain PARENT is the parent of (example.org -> securemail-probe.org,
        mx.example.org -> securemail-probe.example.org).
    type: list
    elements: str
    choices: [foreign, address_literal, percent_hack, source_route, bang_path, parent_sibling]
    default: [foreign, address_literal, percent_hack, source_route, bang_path, parent_sibling]
  relay_time_budget:
    description:
      - Seconds the relay tests may take in all. Forms not tried when it runs out are listed in
        RV(relay_untested) and RV(relay_complete) is false.
    type: float
    default: 60
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
  description:
    - Per requested TLS version, C(accepted) (the server negotiated it), C(refused) (the probe offered exactly that
      version and the server answered with an alert, another version, or by closing the connection), C(not offered)
      when the server does not announce STARTTLS, C(unsupported by probe) when this host's TLS library cannot offer
      the version (nothing was asked), C(unreachable), or C(starttls failed CODE) when the server answered the
      STARTTLS command with an error.
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
  description: The O(relay_recipient) test; C(accepted) is true when it got a 2xx answer (an open relay).
  returned: when reachable and relay_recipient is set
  type: dict
  sample: {accepted: false, stage: rcpt, code: 554, message: "5.7.1 <relay-test@example.com>: Relay access denied"}
relay_tests:
  description:
    - Every relay test in the order tried, with its form, recipient, the answer and the stage it came at
      (C(mail) when MAIL FROM was already refused, C(rcpt) otherwise). C(accepted) is true for a 2xx answer.
  returned: when reachable and relay_recipient is set
  type: list
  elements: dict
  sample:
    - {form: percent_hack, recipient: "relay-test%victim.example@example.org", accepted: false, stage: rcpt,
       code: 554, message: "5.7.1 <relay-test%victim.example@example.org>: Relay access denied"}
relay_accepted:
  description: The tests the server accepted, as C(form <recipient>); empty when it relays nothing it tried.
  returned: always
  type: list
  elements: str
  sample: ["percent_hack <relay-test%victim.example@example.org>"]
relay_untested:
  description: Tests that could not be completed (time budget spent, connection lost twice), as C(form <recipient>).
  returned: always
  type: list
  elements: str
relay_skipped:
  description: Forms that were requested but could not be built (no O(relay_domains), a relay domain without a parent).
  returned: always
  type: list
  elements: str
relay_complete:
  description: True when every relay test that was built got an answer.
  returned: always
  type: bool
'''

import re
import smtplib
import socket
import ssl
import time

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


# Foreign domains in different top-level domains, reserved for documentation and tests (RFC 2606, RFC 6761):
# no mail can ever reach them, and the probe never sends any.
FOREIGN_DOMAINS = ('example.com', 'example.net', 'victim.example', 'probe.test')
ADDRESS_LITERAL = '[192.0.2.1]'  # TEST-NET-1 (RFC 5737)
VICTIM = 'victim.example'
SIBLING_LABEL = 'securemail-probe'
MAX_SIBLING_DOMAINS = 5
RELAY_FORMS = ('foreign', 'address_literal', 'percent_hack', 'source_route', 'bang_path', 'parent_sibling')
# Recipients per relay session. Postfix slows down every reply once a client has made
# smtpd_soft_error_limit errors (the role sets 3) and disconnects at smtpd_hard_error_limit:
# a fresh session every few refusals keeps the probe fast and complete.
RELAY_BATCH = 3
DOMAIN = re.compile(r'^\.?[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$')


def _clean_domain(domain):
    return str(domain).strip().strip('.').lower()


def _inside(domain, domains):
    """True when domain is one of domains or a subdomain of one."""
    return any(domain == d or domain.endswith('.' + d) for d in domains if d)


def relay_tests(recipient, relay_domains, forms):
    """The relay tests to run: (tests, skipped).

    tests: list of (form, recipient) pairs, the O(relay_recipient) test first;
    skipped: texts naming the requested forms that could not be built.
    """
    local = recipient.rpartition('@')[0] or 'relay-test'
    domains = []
    for domain in relay_domains or []:
        clean = _clean_domain(domain)
        if clean and clean not in domains:
            domains.append(clean)
    tests = [('relay_recipient', recipient)]
    skipped = []
    if 'foreign' in forms:
        tests.extend(('foreign', '%s@%s' % (local, d)) for d in FOREIGN_DOMAINS if not _inside(d, domains))
    if 'address_literal' in forms:
        tests.append(('address_literal', '%s@%s' % (local, ADDRESS_LITERAL)))
    routed = [f for f in ('percent_hack', 'source_route', 'bang_path') if f in forms]
    if routed and not domains:
        skipped.extend('%s: no relay_domains given' % f for f in routed)
    elif routed:
        home = domains[0]
        built = {'percent_hack': '%s%%%s@%s' % (local, VICTIM, home),
                 'source_route': '@%s:%s@%s' % (home, local, VICTIM),
                 'bang_path': '%s!%s@%s' % (VICTIM, local, home)}
        tests.extend((f, built[f]) for f in routed)
    if 'parent_sibling' in forms:
        if not domains:
            skipped.append('parent_sibling: no relay_domains given')
        for domain in domains[:MAX_SIBLING_DOMAINS]:
            parent = domain.partition('.')[2]
            if not parent:
                skipped.append('parent_sibling: %s has no parent domain' % domain)
                continue
            sibling = '%s.%s' % (SIBLING_LABEL, parent)
            if _inside(sibling, domains):
                skipped.append('parent_sibling: %s is itself relayed' % sibling)
                continue
            tests.append(('parent_sibling', '%s@%s' % (local, sibling)))
    seen = set()
    unique = []
    for form, address in tests:
        if address.lower() not in seen:
            seen.add(address.lower())
            unique.append((form, address))
    return unique, skipped


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


# ClientHello.legacy_version (RFC 8446 4.1.2): TLS 1.3 offers 1.2 there and
# 1.3 in supported_versions, which a 1.3-only context cannot leave out.
HELLO_VERSION = {'TLSv1': b'\x03\x01', 'TLSv1.1': b'\x03\x02', 'TLSv1.2': b'\x03\x03', 'TLSv1.3': b'\x03\x03'}


def client_offers(version):
    """'' when this host's TLS library builds a ClientHello offering ``version``; why not otherwise.

    Nothing goes on the wire: the handshake runs into memory buffers and stops
    at the first flight, which is the ClientHello record.
    """
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    try:
        tls = tls_context(version).wrap_bio(incoming, outgoing)
        tls.do_handshake()
    except ssl.SSLWantReadError:
        pass
    except (ssl.SSLError, ValueError) as exc:
        return 'cannot offer %s: %s' % (version, exc)
    return hello_problem(version, outgoing.read())


def hello_problem(version, hello):
    """'' when ``hello`` is a TLS handshake record holding a ClientHello for ``version``; the reason otherwise."""
    # Record: type 22 (handshake), version (2), length (2); then handshake type
    # 1 (ClientHello), length (3), legacy_version (2).
    if len(hello) < 11 or hello[0:1] != b'\x16' or hello[5:6] != b'\x01':
        return 'no ClientHello was built for %s' % version
    if hello[9:11] != HELLO_VERSION[version]:
        return 'the ClientHello offers %s, not %s' % (hello[9:11].hex(), version)
    return ''


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
        result = dict(changed=False, reachable=False, banner_discloses=[], tls_versions={},
                      relay_accepted=[], relay_untested=[], relay_skipped=[], relay_complete=True)
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
            if params['relay_recipient']:
                self.relay(result)
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

    def lookup(self, client, verb):
        code, message = client.docmd(verb, self.params['vrfy_address'])
        answer = reply(code, message)
        # 250/251 confirm or expand the address; 252 is the "cannot verify, will try" non-answer.
        answer['disclosed'] = code in (250, 251)
        return answer

    def relay(self, result):
        """Every relay form, a few per session, within the time budget."""
        params = self.params
        tests, result['relay_skipped'] = relay_tests(params['relay_recipient'], params['relay_domains'],
                                                     params['relay_forms'])
        deadline = time.monotonic() + params['relay_time_budget']
        answers = []
        client = None
        in_session = 0
        lost = 0
        index = 0
        while index < len(tests):
            form, recipient = tests[index]
            if time.monotonic() >= deadline:
                break
            try:
                if client is None or in_session >= RELAY_BATCH:
                    if client is not None:
                        self.close(client)
                    client = self.relay_session()
                    in_session = 0
                outcome = self.relay_test(client, recipient)
            except (OSError, smtplib.SMTPException) as exc:
                # Dropped (error limit, idle timeout, rate limit): one more try in a new session.
                self.close_quietly(client)
                client = None
                lost += 1
                if lost > 1 or time.monotonic() >= deadline:
                    answers.append(dict(form=form, recipient=recipient, accepted=False, stage='untested',
                                        error='%s: %s' % (type(exc).__name__, to_text(exc))))
                    index += 1
                    lost = 0
                continue
            lost = 0
            in_session += 1
            answers.append(dict(outcome, form=form, recipient=recipient))
            index += 1
        if client is not None:
            self.close(client)
        for form, recipient in tests[index:]:
            answers.append(dict(form=form, recipient=recipient, accepted=False, stage='untested',
                                error='relay_time_budget of %ss spent' % params['relay_time_budget']))
        result['relay_tests'] = answers
        result['relay'] = dict((k, v) for k, v in answers[0].items() if k not in ('form', 'recipient'))
        result['relay_accepted'] = ['%s <%s>' % (a['form'], a['recipient']) for a in answers if a['accepted']]
        result['relay_untested'] = ['%s <%s>' % (a['form'], a['recipient']) for a in answers
                                    if a['stage'] == 'untested']
        result['relay_complete'] = not result['relay_untested']

    def relay_session(self):
        """A new session ready for MAIL FROM: EHLO, and STARTTLS when offered (as a real client would)."""
        params = self.params
        client, code, dummy = self.connect()
        if code != 220:
            self.close_quietly(client)
            raise smtplib.SMTPResponseException(code, 'greeting refused')
        client.ehlo(params['helo_name'])
        if params['starttls'] and client.has_extn('starttls'):
            try:
                client.starttls(context=tls_context())
                client.ehlo(params['helo_name'])
            except ssl.SSLError:
                # TLS is measured elsewhere; the relay test goes on in a plain session.
                self.close_quietly(client)
                client, code, dummy = self.connect()
                client.ehlo(params['helo_name'])
        return client

    def relay_test(self, client, recipient):
        code, message = client.docmd('MAIL FROM:<%s>' % self.params['relay_sender'])
        if code // 100 != 2:
            if code == 421 or code < 0:
                raise smtplib.SMTPServerDisconnected('MAIL FROM answered %d %s' % (code, to_text(message)))
            client.docmd('RSET')
            return dict(reply(code, message), accepted=False, stage='mail')
        code, message = client.docmd('RCPT TO:<%s>' % recipient)
        if code == 421:
            raise smtplib.SMTPServerDisconnected('RCPT TO answered %d %s' % (code, to_text(message)))
        outcome = dict(reply(code, message), accepted=code // 100 == 2, stage='rcpt')
        client.docmd('RSET')
        return outcome

    def try_version(self, version):
        # Asked only with a ClientHello proven to offer the version, so a
        # "refused" is the server's answer, never the probe's own limit.
        if client_offers(version):
            return 'unsupported by probe'
        try:
            client, code, dummy = self.connect()
        except (OSError, smtplib.SMTPException):
            return 'unreachable'
        try:
            client.ehlo(self.params['helo_name'])
            code, message = client.docmd('STARTTLS')
            if code != 220:
                return 'starttls failed %d' % code
            try:
                client.sock = tls_context(version).wrap_socket(client.sock)
            except (ssl.SSLError, OSError):
                # An alert (protocol_version, handshake_failure) or a closed
                # connection in answer to a hello that offered only this version.
                return 'refused'
            return 'accepted' if client.sock.version() == version else 'refused'
        except (OSError, smtplib.SMTPException):
            return 'unreachable'
        finally:
            self.close(client)

    @staticmethod
    def close(client):
        try:
            client.quit()
        except (OSError, smtplib.SMTPException):
            client.close()

    @staticmethod
    def close_quietly(client):
        if client is not None:
            try:
                client.close()
            except (OSError, smtplib.SMTPException):
                pass


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
            relay_domains=dict(type='list', elements='str', default=[]),
            relay_forms=dict(type='list', elements='str', default=list(RELAY_FORMS), choices=list(RELAY_FORMS)),
            relay_time_budget=dict(type='float', default=60),
        ),
        supports_check_mode=True,
    )
    params = module.params
    if not 0 < params['port'] < 65536:
        module.fail_json(msg='port: %d is out of range 1-65535' % params['port'])
    for name in ('helo_name', 'vrfy_address', 'relay_sender', 'relay_recipient'):
        if re.search(r'[\x00-\x1f\x7f<>]', params[name] or ''):
            module.fail_json(msg='%s: control characters and angle brackets are not allowed' % name)
    for domain in params['relay_domains']:
        if not DOMAIN.match(str(domain)):
            module.fail_json(msg='relay_domains: %r is not a domain name' % (domain,))
    if params['relay_recipient'] and '@' not in params['relay_recipient']:
        module.fail_json(msg='relay_recipient: %r has no domain' % params['relay_recipient'])
    for name in ('timeout', 'relay_time_budget'):
        if params[name] <= 0:
            module.fail_json(msg='%s: must be positive, got %s' % (name, params[name]))
    socket.setdefaulttimeout(params['timeout'])
    module.exit_json(**Probe(params).run())


if __name__ == '__main__':
    main()
