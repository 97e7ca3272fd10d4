# -*- coding: utf-8 -*-
"""smtp_probe's relay forms, and its session handling against a scripted server."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import smtplib

import pytest

from ansible_collections.securemail.gateway.plugins.modules import smtp_probe

ALL = list(smtp_probe.RELAY_FORMS)


def test_every_form_for_one_relay_domain():
    tests, skipped = smtp_probe.relay_tests('relay-test@example.com', ['example.org'], ALL)
    assert tests == [
        ('relay_recipient', 'relay-test@example.com'),
        ('foreign', 'relay-test@example.net'),
        ('foreign', 'relay-test@victim.example'),
        ('foreign', 'relay-test@probe.test'),
        ('address_literal', 'relay-test@[192.0.2.1]'),
        ('percent_hack', 'relay-test%victim.example@example.org'),
        ('source_route', '@example.org:relay-test@victim.example'),
        ('bang_path', 'victim.example!relay-test@example.org'),
        ('parent_sibling', 'relay-test@securemail-probe.org'),
    ]
    assert skipped == []


def test_foreign_domains_are_in_different_tlds_and_never_relay_domains():
    tlds = set(d.rsplit('.', 1)[1] for d in smtp_probe.FOREIGN_DOMAINS)
    assert len(tlds) == len(smtp_probe.FOREIGN_DOMAINS) >= 4
    tests, dummy = smtp_probe.relay_tests('x@example.com', ['example.net', '.probe.test'], ['foreign'])
    assert tests == [('relay_recipient', 'x@example.com'), ('foreign', 'x@victim.example')]


def test_siblings_of_each_relay_domain_parent():
    domains = ['mx.example.org', 'Example.NET.', 'org', 'a.b.c.d.e', 'securemail-probe.example.org', 'z.example',
               'y.example']
    tests, skipped = smtp_probe.relay_tests('x@example.com', domains, ['parent_sibling'])
    assert [t[1] for t in tests[1:]] == ['x@securemail-probe.net', 'x@securemail-probe.b.c.d.e']
    # mx.example.org's sibling is itself relayed; org has no parent; only the first five domains are tried.
    assert skipped == ['parent_sibling: securemail-probe.example.org is itself relayed',
                       'parent_sibling: org has no parent domain',
                       'parent_sibling: securemail-probe.example.org is itself relayed']


def test_without_relay_domains_the_routed_forms_are_skipped_not_invented():
    tests, skipped = smtp_probe.relay_tests('relay-test@example.com', [], ALL)
    assert [f for f, dummy in tests] == ['relay_recipient', 'foreign', 'foreign', 'foreign', 'address_literal']
    assert skipped == ['percent_hack: no relay_domains given', 'source_route: no relay_domains given',
                       'bang_path: no relay_domains given', 'parent_sibling: no relay_domains given']


def test_duplicates_are_tried_once():
    tests, dummy = smtp_probe.relay_tests('relay-test@example.net', ['example.org'], ['foreign'])
    assert [r for dummy, r in tests].count('relay-test@example.net') == 1
    assert tests[0] == ('relay_recipient', 'relay-test@example.net')


class FakeSMTP(object):
    """Answers like Postfix with smtpd_hard_error_limit=2: the connection drops after two refusals."""
    sessions = 0

    def __init__(self, accept=()):
        FakeSMTP.sessions += 1
        self.errors = 0
        self.accept = accept
        self.closed = False

    def docmd(self, verb, arg=''):
        if self.closed:
            raise smtplib.SMTPServerDisconnected('gone')
        if verb.startswith('MAIL'):
            return 250, b'2.1.0 Ok'
        if verb.startswith('RCPT'):
            rcpt = verb.split('<', 1)[1].rstrip('>')
            if rcpt in self.accept:
                return 250, b'2.1.5 Ok'
            self.errors += 1
            return 554, b'5.7.1 Relay access denied'
        if self.errors >= 2:
            self.closed = True
            return 421, b'4.7.0 Error: too many errors'
        return 250, b'2.0.0 Ok'

    def quit(self):
        self.closed = True

    def close(self):
        self.closed = True


@pytest.fixture
def probe(monkeypatch):
    def make(accept=(), budget=60):
        params = dict(host='192.0.2.25', port=25, helo_name='probe.example.net', timeout=5, starttls=False,
                      relay_sender='probe@example.net', relay_recipient='relay-test@example.com',
                      relay_domains=['example.org'], relay_forms=ALL, relay_time_budget=budget)
        instance = smtp_probe.Probe(params)
        FakeSMTP.sessions = 0
        monkeypatch.setattr(instance, 'relay_session', lambda: FakeSMTP(accept))
        return instance
    return make


def test_reconnects_when_dropped_and_answers_every_form(probe):
    result = {}
    probe().relay(result)
    assert result['relay_complete'] is True and result['relay_accepted'] == []
    assert [t['code'] for t in result['relay_tests']] == [554] * 9
    # After two refusals the next MAIL FROM finds the connection gone; the form is retried in a new session.
    assert FakeSMTP.sessions == 5
    assert result['relay'] == dict(code=554, message='5.7.1 Relay access denied', accepted=False, stage='rcpt')


def test_accepted_forms_are_named(probe):
    result = {}
    probe(accept=('relay-test%victim.example@example.org', 'relay-test@[192.0.2.1]')).relay(result)
    assert result['relay_accepted'] == ['address_literal <relay-test@[192.0.2.1]>',
                                        'percent_hack <relay-test%victim.example@example.org>']
    assert result['relay']['accepted'] is False


def test_time_budget_leaves_the_rest_untested(probe, monkeypatch):
    clock = iter(range(0, 1000, 10))
    monkeypatch.setattr(smtp_probe.time, 'monotonic', lambda: next(clock))
    result = {}
    probe(budget=25).relay(result)
    assert result['relay_complete'] is False
    assert [t['stage'] for t in result['relay_tests']] == ['rcpt', 'rcpt'] + ['untested'] * 7
    assert result['relay_untested'][0] == 'foreign <relay-test@victim.example>'
    assert result['relay_tests'][-1]['error'] == 'relay_time_budget of 25s spent'


def test_a_server_that_always_hangs_up_leaves_forms_untested_not_refused(probe, monkeypatch):
    instance = probe()

    def dropping():
        raise smtplib.SMTPServerDisconnected('Connection unexpectedly closed')
    monkeypatch.setattr(instance, 'relay_session', dropping)
    result = {}
    instance.relay(result)
    assert result['relay_complete'] is False and result['relay_accepted'] == []
    assert len(result['relay_untested']) == 9
    assert result['relay_tests'][0]['error'] == 'SMTPServerDisconnected: Connection unexpectedly closed'


# ------------------------------------------------------------------ what the probe offers


@pytest.mark.parametrize('version', ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'])
def test_the_probe_builds_a_hello_for_each_version(version):
    # Debian 12's OpenSSL offers TLSv1 and TLSv1.1 at security level 0 only,
    # which tls_context sets; without it this is the probe's limit, not the server's.
    assert smtp_probe.client_offers(version) == ''


@pytest.mark.parametrize('hello,problem', [
    (b'', 'no ClientHello was built for TLSv1'),
    (b'\x15\x03\x01\x00\x02\x02\x46\x00\x00\x00\x00', 'no ClientHello was built for TLSv1'),   # an alert record
    (b'\x16\x03\x01\x00\x10\x02\x00\x00\x0c\x03\x01', 'no ClientHello was built for TLSv1'),   # a ServerHello
    (b'\x16\x03\x01\x00\x10\x01\x00\x00\x0c\x03\x03', 'the ClientHello offers 0303, not TLSv1'),
    (b'\x16\x03\x01\x00\x10\x01\x00\x00\x0c\x03\x01', ''),
])
def test_hello_problem(hello, problem):
    assert smtp_probe.hello_problem('TLSv1', hello) == problem


def test_a_version_the_probe_cannot_offer_is_never_reported_refused(monkeypatch):
    monkeypatch.setattr(smtp_probe, 'client_offers', lambda version: 'cannot offer %s: no protocols' % version)

    class NeverAsked(smtp_probe.Probe):
        def __init__(self):
            self.params = {}

        def connect(self):
            raise AssertionError('the server must not be asked')
    assert NeverAsked().try_version('TLSv1') == 'unsupported by probe'
