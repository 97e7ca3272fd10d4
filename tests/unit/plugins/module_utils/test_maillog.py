# -*- coding: utf-8 -*-
"""maillog: parsing Postfix and amavisd lines and rebuilding each message's path.

The fixtures are the logs of a real gateway run (Postfix's maillog_file and
amavisd's own log on the gateway, the hub's Postfix log); the other cases
are synthetic lines in the same formats.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import bz2
import datetime
import gzip
import os

import pytest

from ansible_collections.securemail.gateway.plugins.module_utils import maillog

FIXTURES = os.path.join(os.path.dirname(__file__), 'fixtures')
NOW = datetime.datetime(2026, 12, 31, 12, 0, 0)
FILTER = ['127.0.0.1:10024']


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read().splitlines()


def gateway(*extra, **kwargs):
    streams = [fixture('gateway-postfix.log'), fixture('gateway-amavisd.log')] + list(extra)
    return maillog.trace(streams, filter_relays=kwargs.pop('filter_relays', FILTER), now=NOW, **kwargs)


def by_id(result):
    return dict((m['queue_id'], m) for m in result['messages'])


def lines(text):
    """Synthetic log lines: 'HH:MM:SS program: text', one per line, on Dec 04 at host gw."""
    out = []
    for row in text.strip().splitlines():
        if not row.strip():
            continue
        clock, program, rest = row.strip().split(' ', 2)
        out.append('Dec 04 %s gw %s[100]: %s' % (clock, program.rstrip(':'), rest))
    return out


def run(text, amavis='', filter_relays=None):
    streams = [lines(text)] + ([lines(amavis)] if amavis else [])
    return maillog.trace(streams, filter_relays=FILTER if filter_relays is None else filter_relays, now=NOW)


def only(result):
    assert len(result['messages']) == 1, result['messages']
    return result['messages'][0]


# ---------------------------------------------------------------- lines

def test_syslog_line_with_padded_day_and_fraction():
    parsed = maillog.parse_line('Dec  4 16:12:14.250 gateway.example.test /usr/sbin/amavisd[5379]: starting.\n', NOW)
    assert parsed == dict(time=datetime.datetime(2026, 12, 4, 16, 12, 14, 250000), stamp='Dec 04 16:12:14.250',
                          host='gateway.example.test', program='/usr/sbin/amavisd', pid=5379, text='starting.')


def test_syslog_month_after_now_is_last_year():
    parsed = maillog.parse_line('Dec 31 23:59:59 gw postfix/qmgr[1]: x', datetime.datetime(2027, 1, 1))
    assert parsed['time'] == datetime.datetime(2026, 12, 31, 23, 59, 59)


def test_rfc3339_line_is_brought_to_local_time(monkeypatch):
    parsed = maillog.parse_line('2026-12-04T16:12:33.123456+01:00 gateway postfix-hub/smtp[42]: text')
    expected = datetime.datetime(2026, 12, 4, 15, 12, 33, 123456, tzinfo=datetime.timezone.utc)
    assert parsed['time'] == expected.astimezone().replace(tzinfo=None)
    assert (parsed['stamp'], parsed['program'], parsed['pid']) == ('2026-12-04T16:12:33.123456+01:00', 'postfix-hub/smtp', 42)
    short_iso = maillog.parse_line('2026-12-04T16:12:33+0000 gw amavis[7]: x')
    assert short_iso['time'] == datetime.datetime(2026, 12, 4, 16, 12, 33, tzinfo=datetime.timezone.utc).astimezone().replace(
        tzinfo=None)


@pytest.mark.parametrize('line', ['', 'garbage', 'Foo 04 16:12:33 gw postfix/smtpd[1]: x', 'Feb 30 10:00:00 gw p[1]: x',
                                  '-- Journal begins at Mon 2026-11-30 --'])
def test_lines_that_are_not_log_lines(line):
    assert maillog.parse_line(line, NOW) is None


@pytest.mark.parametrize('value, key', [
    ('127.0.0.1:10024', '127.0.0.1:10024'),
    ('[127.0.0.1]:10024', '127.0.0.1:10024'),
    ('smtp-amavis:[127.0.0.1]:10024', '127.0.0.1:10024'),
    ('lmtp:inet:LocalHost:10024', 'localhost:10024'),
    ('smtp:[::1]:10024', '[::1]:10024'),
    ('amavis:[127.0.0.1]', '127.0.0.1'),
    ('  ', None),
])
def test_relay_key(value, key):
    assert maillog.relay_key(value) == key


def test_logged_relay_answers_to_its_name_and_address():
    assert maillog.logged_relay_keys('localhost[::1]:10024') == set(['localhost:10024', '[::1]:10024'])
    assert maillog.logged_relay_keys('local') == set(['local'])


# ---------------------------------------------------------------- the real gateway run

def test_sample_summary():
    assert gateway()['summary'] == dict(accepted=7, delivered=5, quarantined=2, bounced=0, deferred=0, discarded=0,
                                        held=0, in_queue=0, mixed=0, rejected=1)


def test_sample_outcomes_and_ids():
    found = [(m['queue_id'], m['message_id'], m['outcome'], m['quarantine_id'], m['next_hop'], m['children'])
             for m in gateway()['messages']]
    hub = '10.89.0.3[10.89.0.3]:25'
    assert found == [
        ('A1E351701A1', '<clean-260380f6@example.net>', 'delivered', None, hub, ['D7A3417096B']),
        ('A38341701B1', '<nodate-260380f6@example.net>', 'delivered', None, hub, ['E2E2917096C']),
        ('A4B971701D1', None, 'delivered', None, hub, ['0AE0F170972']),
        ('A66A21701E1', '<8bit-260380f6@example.net>', 'delivered', None, hub, ['119261701D1']),
        ('A6F0E1701F1', '<longhdr-260380f6@example.net>', 'delivered', None, hub, ['2A8D51701D1']),
        ('A764817038A', '<gtube-260380f6@example.net>', 'quarantined', 'ykYJYXo0U_Ei', None, []),
        ('A93491707E7', '<banned-260380f6@example.net>', 'quarantined', 'p81F6VgiKEER', None, []),
    ]


def test_sample_gtube_is_quarantined_with_its_file():
    gtube = by_id(gateway())['A764817038A']
    assert gtube == dict(
        queue_id='A764817038A', host='gateway', message_id='<gtube-260380f6@example.net>', sender='sender@example.net',
        recipients=['alice@example.org'], client='unknown[10.88.0.83]', accepted='Dec 04 16:12:33', size=420,
        outcome='quarantined',
        recipient_status=[dict(recipient='alice@example.org', status='quarantined', dsn='2.7.0',
                               relay='127.0.0.1[127.0.0.1]:10024', text='250 2.7.0 Ok, discarded, id=05399-02-2 - spam',
                               queue_id='A764817038A', time='Dec 04 16:12:34')],
        filter_verdict='Blocked SPAM {DiscardedInbound,Quarantined}', quarantine_id='ykYJYXo0U_Ei',
        quarantine_file='y/spam-ykYJYXo0U_Ei', next_hop=None, children=[],
        hops=[
            dict(time='Dec 04 16:12:33', queue_id='A764817038A', event='received', text='received from unknown[10.88.0.83]'),
            dict(time='Dec 04 16:12:34', queue_id='A764817038A', event='filter_verdict',
                 text='amavisd: Blocked SPAM {DiscardedInbound,Quarantined}, mail_id ykYJYXo0U_Ei, hits 999.001'),
            dict(time='Dec 04 16:12:34', queue_id='A764817038A', event='quarantined',
                 text='quarantined as ykYJYXo0U_Ei (y/spam-ykYJYXo0U_Ei)'),
            dict(time='Dec 04 16:12:34', queue_id='A764817038A', event='filter',
                 text='content filter kept it, for <alice@example.org> via 127.0.0.1[127.0.0.1]:10024 (dsn=2.7.0): '
                      '250 2.7.0 Ok, discarded, id=05399-02-2 - spam'),
        ])


def test_sample_banned_names_the_banned_part():
    banned = by_id(gateway())['A93491707E7']
    assert (banned['quarantine_id'], banned['quarantine_file']) == ('p81F6VgiKEER', 'p/banned-p81F6VgiKEER')
    assert banned['filter_verdict'] == 'Blocked BANNED (application/octet-stream,.exe,.exe-ms,invoice.exe) ' \
                                       '{DiscardedInbound,Quarantined}'


def test_sample_clean_path_in_flow_order():
    clean = by_id(gateway())['A1E351701A1']
    assert [(h['queue_id'], h['event']) for h in clean['hops']] == [
        ('A1E351701A1', 'received'), ('A1E351701A1', 'filter_verdict'), ('A1E351701A1', 'filter'),
        ('D7A3417096B', 'reinjected'), ('D7A3417096B', 'delivered')]
    assert clean['hops'][-1]['text'] == ('delivered to <alice@example.org> via 10.89.0.3[10.89.0.3]:25 (dsn=2.0.0): '
                                         '250 2.0.0 Ok: queued as F1D70170970')
    assert clean['recipient_status'] == [dict(recipient='alice@example.org', status='delivered', dsn='2.0.0',
                                              relay='10.89.0.3[10.89.0.3]:25', text='250 2.0.0 Ok: queued as F1D70170970',
                                              queue_id='D7A3417096B', time='Dec 04 16:12:33')]


def test_sample_bad_header_passes_with_a_quarantine_copy():
    nodate = by_id(gateway())['A38341701B1']
    assert nodate['outcome'] == 'delivered' and nodate['quarantine_id'] is None
    assert nodate['filter_verdict'] == 'Passed BAD-HEADER-7 {RelayedInbound,Quarantined}'
    assert [h['text'] for h in nodate['hops'] if h['event'] == 'quarantine_copy'] == [
        'passed; quarantine copy as KhNspzqosJrA (K/badh-KhNspzqosJrA)']


def test_sample_refusal_at_rcpt():
    assert gateway()['refused'] == [dict(
        time='Dec 04 16:12:33', host='gateway', queue_id=None, stage='RCPT', client='unknown[10.88.0.83]',
        sender='sender@example.net', recipient='nobody@example.org', message_id=None,
        reason='550 5.1.1 <nobody@example.org>: Recipient address rejected: User unknown')]


def test_sample_without_filter_relays_recognises_the_filter_by_its_replies():
    assert gateway(filter_relays=[])['messages'] == gateway()['messages']


def test_sample_with_the_hub_log_follows_the_message_to_its_mailbox():
    result = gateway(fixture('hub-postfix.log'))
    assert result['summary']['accepted'] == 7 and result['summary']['delivered'] == 5
    clean = by_id(result)['A1E351701A1']
    assert clean['children'] == ['D7A3417096B', 'F1D70170970']
    assert clean['next_hop'] == '10.89.0.3[10.89.0.3]:25'
    assert clean['recipient_status'][0]['relay'] == 'local'
    assert clean['recipient_status'][0]['queue_id'] == 'F1D70170970'
    assert clean['hops'][-2:] == [
        dict(time='Dec 04 16:12:33', queue_id='F1D70170970', event='received',
             text='received by hub as F1D70170970 from unknown[10.89.0.2]'),
        dict(time='Dec 04 16:12:33', queue_id='F1D70170970', event='delivered',
             text='delivered to <root@hub.example.test> via local (dsn=2.0.0): delivered to mailbox')]


@pytest.mark.parametrize('selection, expected', [
    (dict(message_id='gtube-260380f6@example.net'), ['A764817038A']),
    (dict(message_id='<gtube-260380f6@example.net>'), ['A764817038A']),
    (dict(queue_id='D7A3417096B'), ['A1E351701A1']),
    (dict(queue_id='A93491707E7'), ['A93491707E7']),
    (dict(queue_id='F1D70170970'), []),
    (dict(sender='SENDER@example.net', recipient='<alice@example.org>'), [
        'A1E351701A1', 'A38341701B1', 'A4B971701D1', 'A66A21701E1', 'A6F0E1701F1', 'A764817038A', 'A93491707E7']),
    (dict(sender='other@example.net'), []),
    (dict(recipient='nobody@example.org'), []),
])
def test_sample_selection(selection, expected):
    result = gateway(**selection)
    assert [m['queue_id'] for m in result['messages']] == expected
    assert result['summary']['accepted'] == len(expected)


def test_selection_applies_to_refusals():
    assert [r['recipient'] for r in gateway(recipient='nobody@example.org')['refused']] == ['nobody@example.org']
    assert gateway(recipient='nobody@example.org')['summary']['rejected'] == 1
    assert gateway(message_id='gtube-260380f6@example.net')['refused'] == []


# ---------------------------------------------------------------- synthetic cases

ACCEPT = """
10:00:00 postfix/smtpd: 1A2B3C4D5E: client=mx.example.com[192.0.2.7]
10:00:00 postfix/cleanup: 1A2B3C4D5E: message-id=<m1@example.com>
10:00:00 postfix/qmgr: 1A2B3C4D5E: from=<s@example.com>, size=500, nrcpt=1 (queue active)
"""


def test_bounced_with_its_non_delivery_notice():
    result = run(ACCEPT + """
10:00:01 postfix/smtp: 1A2B3C4D5E: to=<u@example.org>, relay=10.89.0.3[10.89.0.3]:25, delay=1, delays=0/0/0/1, dsn=5.1.1, status=bounced \
(host 10.89.0.3[10.89.0.3] said: 550 5.1.1 no such user (in reply to RCPT TO command))
10:00:01 postfix/cleanup: 2B3C4D5E6F: message-id=<20261204100001.2B3C4D5E6F@gw>
10:00:01 postfix/bounce: 1A2B3C4D5E: sender non-delivery notification: 2B3C4D5E6F
10:00:01 postfix/qmgr: 2B3C4D5E6F: from=<>, size=2000, nrcpt=1 (queue active)
10:00:01 postfix/qmgr: 1A2B3C4D5E: removed
10:00:02 postfix/smtp: 2B3C4D5E6F: to=<s@example.com>, relay=mx.example.com[192.0.2.7]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 ok)
""")
    message = only(result)
    assert (message['outcome'], message['children'], message['next_hop']) == ('bounced', ['2B3C4D5E6F'], None)
    assert message['recipient_status'][0]['dsn'] == '5.1.1'
    assert [h['event'] for h in message['hops']] == ['received', 'bounced', 'notification', 'delivered']
    assert message['hops'][2]['text'] == 'sender non-delivery notification queued as 2B3C4D5E6F'
    assert result['summary']['bounced'] == 1 and result['summary']['accepted'] == 1


def test_deferred_then_sent_is_delivered():
    message = only(run(ACCEPT + """
10:00:01 postfix/smtp: 1A2B3C4D5E: to=<u@example.org>, relay=none, delay=1, delays=0/0/1/0, dsn=4.4.1, status=deferred (connect to \
10.89.0.3[10.89.0.3]:25: Connection refused)
10:30:01 postfix/smtp: 1A2B3C4D5E: to=<u@example.org>, relay=10.89.0.3[10.89.0.3]:25, delay=1801, delays=1800/0/0/1, dsn=2.0.0, status=sent \
(250 2.0.0 Ok: queued as 99)
10:30:01 postfix/qmgr: 1A2B3C4D5E: removed
"""))
    assert (message['outcome'], message['next_hop']) == ('delivered', '10.89.0.3[10.89.0.3]:25')
    assert [(h['time'], h['event']) for h in message['hops']] == [
        ('Dec 04 10:00:00', 'received'), ('Dec 04 10:00:01', 'deferred'), ('Dec 04 10:30:01', 'delivered')]


def test_deferred_only_stays_deferred_until_it_expires():
    deferred = ACCEPT + """
10:00:01 postfix/smtp: 1A2B3C4D5E: to=<u@example.org>, relay=none, delay=1, delays=0/0/1/0, dsn=4.4.1, status=deferred (connect to \
10.89.0.3[10.89.0.3]:25: Connection refused)
"""
    message = only(run(deferred))
    assert message['outcome'] == 'deferred' and message['recipient_status'][0]['dsn'] == '4.4.1'
    expired = only(run(deferred + """
15:00:00 postfix/qmgr: 1A2B3C4D5E: from=<s@example.com>, status=expired, returned to sender
"""))
    assert expired['outcome'] == 'bounced' and expired['hops'][-1]['event'] == 'expired'
    deleted = only(run(deferred + '11:00:00 postfix/postsuper: 1A2B3C4D5E: removed'))
    assert deleted['outcome'] == 'discarded'
    assert deleted['hops'][-1] == dict(time='Dec 04 11:00:00', queue_id='1A2B3C4D5E', event='removed', text='removed from the queue')


def test_a_lone_removed_line_is_no_message():
    # Its other lines are in a rotation that was not read.
    assert run('10:00:00 postfix/qmgr: 1A2B3C4D5E: removed')['messages'] == []


FILTERED = ACCEPT + """
10:00:01 postfix/smtp: 1A2B3C4D5E: to=<u@example.org>, relay=127.0.0.1[127.0.0.1]:10024, delay=1, delays=0/0/0/1, dsn=2.7.0, status=sent \
(250 2.7.0 Ok, discarded, id=00001-01 - spam)
10:00:01 postfix/qmgr: 1A2B3C4D5E: removed
"""


def test_silent_discard_by_amavis_without_quarantine():
    message = only(run(FILTERED, amavis="""
10:00:01 amavis: (00001-01) Blocked SPAM {DiscardedInbound}, [192.0.2.7]:4000 <s@example.com> -> <u@example.org>, Queue-ID: 1A2B3C4D5E, \
Message-ID: <m1@example.com>, mail_id: abcdEFGH1234, Hits: 12.5, size: 500, 80 ms
"""))
    assert (message['outcome'], message['quarantine_id'], message['quarantine_file']) == ('discarded', None, None)
    assert message['filter_verdict'] == 'Blocked SPAM {DiscardedInbound}'


def test_amavis_bounce_is_bounced():
    message = only(run(FILTERED, amavis="""
10:00:01 amavis: (00001-01) Blocked SPAM {BouncedInbound}, [192.0.2.7]:4000 <s@example.com> -> <u@example.org>, Queue-ID: 1A2B3C4D5E, \
mail_id: abcdEFGH1234, Hits: 12.5, size: 500, 80 ms
"""))
    assert message['outcome'] == 'bounced'


def test_filter_discard_without_amavis_log_counts_as_held_by_the_filter():
    message = only(run(FILTERED))
    assert (message['outcome'], message['quarantine_id'], message['filter_verdict']) == ('quarantined', None, None)


def test_cleanup_discard():
    message = only(run("""
10:00:00 postfix/smtpd: 1A2B3C4D5E: client=mx.example.com[192.0.2.7]
10:00:00 postfix/cleanup: 1A2B3C4D5E: discard: header Subject: win a prize from mx.example.com[192.0.2.7]; from=<s@example.com> \
to=<u@example.org> proto=ESMTP helo=<mx.example.com>: spam subject
"""))
    assert (message['outcome'], message['recipients']) == ('discarded', ['u@example.org'])
    assert message['hops'][-1] == dict(time='Dec 04 10:00:00', queue_id='1A2B3C4D5E', event='discarded',
                                       text='discarded: header Subject: win a prize: spam subject')


def test_cleanup_hold_then_release_and_delivery():
    held = """
10:00:00 postfix/smtpd: 1A2B3C4D5E: client=mx.example.com[192.0.2.7]
10:00:00 postfix/cleanup: 1A2B3C4D5E: hold: header Subject: review me from mx.example.com[192.0.2.7]; from=<s@example.com> \
to=<u@example.org> proto=ESMTP helo=<mx.example.com>
"""
    assert only(run(held))['outcome'] == 'held'
    assert run(held)['summary']['held'] == 1
    released = only(run(held + """
11:00:00 postfix/postsuper: 1A2B3C4D5E: released from hold
11:00:00 postfix/qmgr: 1A2B3C4D5E: from=<s@example.com>, size=500, nrcpt=1 (queue active)
11:00:01 postfix/smtp: 1A2B3C4D5E: to=<u@example.org>, relay=10.89.0.3[10.89.0.3]:25, delay=3601, delays=3600/0/0/1, dsn=2.0.0, status=sent (250 ok)
"""))
    assert released['outcome'] == 'delivered'
    assert [h['event'] for h in released['hops']] == ['received', 'held', 'released', 'delivered']


def test_cleanup_reject_is_a_refusal_not_a_message():
    result = run("""
10:00:00 postfix/smtpd: 1A2B3C4D5E: client=mx.example.com[192.0.2.7]
10:00:00 postfix/cleanup: 1A2B3C4D5E: message-id=<bad@example.com>
10:00:00 postfix/cleanup: 1A2B3C4D5E: reject: body GTUBE from mx.example.com[192.0.2.7]; from=<s@example.com> to=<u@example.org> \
proto=ESMTP helo=<mx.example.com>: 5.7.1 content rejected
""")
    assert result['messages'] == []
    assert result['refused'] == [dict(time='Dec 04 10:00:00', host='gw', queue_id='1A2B3C4D5E', stage='body',
                                      client='mx.example.com[192.0.2.7]', sender='s@example.com', recipient='u@example.org',
                                      message_id='<bad@example.com>', reason='body GTUBE: 5.7.1 content rejected')]
    assert result['summary']['rejected'] == 1 and result['summary']['accepted'] == 0


def test_dnsbl_reason_keeps_its_semicolons():
    result = run("""
10:00:00 postfix/smtpd: NOQUEUE: reject: RCPT from bad.example[198.51.100.9]: 554 5.7.1 Service unavailable; Client host [198.51.100.9] \
blocked using zen.example; https://zen.example/q; from=<a@bad.example> to=<u@example.org> proto=ESMTP helo=<bad>
""")
    assert result['refused'][0]['reason'] == ('554 5.7.1 Service unavailable; Client host [198.51.100.9] blocked using '
                                              'zen.example; https://zen.example/q')
    assert result['refused'][0]['sender'] == 'a@bad.example'


def test_local_submission_through_pickup():
    message = only(run("""
10:00:00 postfix/pickup: 3C4D5E6F70: uid=0 from=<root>
10:00:00 postfix/cleanup: 3C4D5E6F70: message-id=<cron@gw>
10:00:00 postfix/qmgr: 3C4D5E6F70: from=<root@gw.example>, size=300, nrcpt=1 (queue active)
10:00:01 postfix/local: 3C4D5E6F70: to=<admin@gw.example>, orig_to=<root>, relay=local, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent \
(delivered to mailbox)
"""))
    assert (message['client'], message['sender'], message['recipients'], message['outcome']) == (
        'local', 'root@gw.example', ['root'], 'delivered')
    assert message['hops'][0]['text'] == 'submitted locally by uid 0'


def test_accepted_without_final_status_is_in_queue():
    assert only(run(ACCEPT))['outcome'] == 'in_queue'
    # A client that went away after RCPT left no message behind.
    assert run('10:00:00 postfix/smtpd: 1A2B3C4D5E: client=mx.example.com[192.0.2.7]')['messages'] == []


def test_multi_recipient_mixed():
    message = only(run("""
10:00:00 postfix/smtpd: 1A2B3C4D5E: client=mx.example.com[192.0.2.7]
10:00:00 postfix/qmgr: 1A2B3C4D5E: from=<s@example.com>, size=500, nrcpt=2 (queue active)
10:00:01 postfix/smtpd: 4D5E6F7081: client=localhost[127.0.0.1], orig_queue_id=1A2B3C4D5E, orig_client=mx.example.com[192.0.2.7]
10:00:01 postfix/qmgr: 4D5E6F7081: from=<s@example.com>, size=900, nrcpt=2 (queue active)
10:00:01 postfix/smtp: 1A2B3C4D5E: to=<a@example.org>, relay=127.0.0.1[127.0.0.1]:10024, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent \
(250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as 4D5E6F7081)
10:00:01 postfix/smtp: 1A2B3C4D5E: to=<b@example.org>, relay=127.0.0.1[127.0.0.1]:10024, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent \
(250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as 4D5E6F7081)
10:00:02 postfix/smtp: 4D5E6F7081: to=<a@example.org>, relay=10.89.0.3[10.89.0.3]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 ok)
10:00:02 postfix/smtp: 4D5E6F7081: to=<b@example.org>, relay=10.89.0.3[10.89.0.3]:25, delay=1, delays=0/0/0/1, dsn=5.1.1, status=bounced \
(550 5.1.1 unknown)
"""))
    assert message['outcome'] == 'mixed'
    assert [(r['recipient'], r['status'], r['queue_id']) for r in message['recipient_status']] == [
        ('a@example.org', 'delivered', '4D5E6F7081'), ('b@example.org', 'bounced', '4D5E6F7081')]
    assert message['next_hop'] == '10.89.0.3[10.89.0.3]:25'


def test_a_recipient_not_logged_yet_makes_it_mixed():
    message = only(run("""
10:00:00 postfix/smtpd: 1A2B3C4D5E: client=mx.example.com[192.0.2.7]
10:00:00 postfix/qmgr: 1A2B3C4D5E: from=<s@example.com>, size=500, nrcpt=2 (queue active)
10:00:01 postfix/smtp: 1A2B3C4D5E: to=<a@example.org>, relay=10.89.0.3[10.89.0.3]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 ok)
"""))
    assert message['outcome'] == 'mixed'


def test_reinjection_linked_by_the_reply_alone():
    # Without orig_queue_id (no XFORWARD) the filter's reply still names the new queue id.
    message = only(run(ACCEPT + """
10:00:01 postfix/smtpd: 4D5E6F7081: client=localhost[127.0.0.1]
10:00:01 postfix/qmgr: 4D5E6F7081: from=<s@example.com>, size=900, nrcpt=1 (queue active)
10:00:01 postfix/lmtp: 1A2B3C4D5E: to=<u@example.org>, relay=localhost[::1]:10024, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 \
2.0.0 Ok: queued as 4D5E6F7081)
10:00:02 postfix/smtp: 4D5E6F7081: to=<u@example.org>, relay=10.89.0.3[10.89.0.3]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 ok)
""", filter_relays=['smtp-amavis:[::1]:10024']))
    assert (message['outcome'], message['children']) == ('delivered', ['4D5E6F7081'])


def test_a_reply_naming_an_id_seen_much_earlier_is_not_a_link():
    result = run("""
08:00:00 postfix/smtpd: 5E6F708192: client=mx.example.net[192.0.2.8]
08:00:00 postfix/qmgr: 5E6F708192: from=<t@example.net>, size=100, nrcpt=1 (queue active)
""" + ACCEPT + """
10:00:01 postfix/smtp: 1A2B3C4D5E: to=<u@example.org>, relay=10.89.0.3[10.89.0.3]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, \
status=sent (250 2.0.0 Ok: queued as 5E6F708192)
""")
    assert [(m['queue_id'], m['children']) for m in result['messages']] == [('5E6F708192', []), ('1A2B3C4D5E', [])]


def test_null_sender_selection():
    bounce_in = ACCEPT.replace('from=<s@example.com>', 'from=<>')
    assert [m['sender'] for m in run(bounce_in)['messages']] == ['']
    assert len(maillog.trace([lines(bounce_in)], now=NOW, sender='<>')['messages']) == 1
    assert maillog.trace([lines(ACCEPT)], now=NOW, sender='<>')['messages'] == []


def test_a_reused_queue_id_starts_a_new_message():
    result = run(ACCEPT + """
10:00:01 postfix/smtp: 1A2B3C4D5E: to=<u@example.org>, relay=10.89.0.3[10.89.0.3]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 ok)
10:00:01 postfix/qmgr: 1A2B3C4D5E: removed
""" + ACCEPT.replace('10:00:0', '11:00:0').replace('<m1@', '<m2@'))
    assert [(m['message_id'], m['outcome']) for m in result['messages']] == [
        ('<m1@example.com>', 'delivered'), ('<m2@example.com>', 'in_queue')]


def test_rfc3339_logs_trace_the_same_way():
    text = [line.replace('Dec 04 ', '2026-12-04T', 1).replace(' gw ', '.000001+00:00 gw ', 1)
            for line in lines(ACCEPT + """
10:00:01 postfix/smtp: 1A2B3C4D5E: to=<u@example.org>, relay=10.89.0.3[10.89.0.3]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 ok)
""")]
    message = only(maillog.trace([text], now=NOW))
    assert (message['outcome'], message['accepted']) == ('delivered', '2026-12-04T10:00:00.000001+00:00')


def test_streams_are_merged_by_time():
    first = lines('10:00:02 postfix/qmgr: 1A2B3C4D5E: removed\n10:00:00 other: x')
    second = lines('10:00:01 postfix/qmgr: 2A2B3C4D5E: removed')
    merged = [r['text'] for r in maillog.merge_streams([second, first], NOW)]
    # Each stream keeps its own order; the merge interleaves them by stamp.
    assert merged == ['2A2B3C4D5E: removed', '1A2B3C4D5E: removed', 'x']


# ---------------------------------------------------------------- rotated files

def test_rotation_order_from_a_listing():
    names = ['mail.log', 'mail.log.1', 'mail.log.2.gz', 'mail.log.10.gz', 'mail.log.20261203-010000.gz',
             'mail.log-20261201', 'mail.log.20261202-010000', 'mail.log.old', 'mail.log.1.tmp', 'other.log.1']
    assert maillog.rotated_files('/var/log/mail.log', names) == [
        '/var/log/mail.log.10.gz', '/var/log/mail.log.2.gz', '/var/log/mail.log.1', '/var/log/mail.log-20261201',
        '/var/log/mail.log.20261202-010000', '/var/log/mail.log.20261203-010000.gz', '/var/log/mail.log']


def test_rotated_files_are_read_oldest_first_whatever_their_compression(tmp_path):
    log = tmp_path / 'mail.log'
    log.write_text('live\n')
    (tmp_path / 'mail.log.1').write_text('one\n')
    with gzip.open(str(tmp_path / 'mail.log.2.gz'), 'wt') as handle:
        handle.write('two\n')
    with bz2.open(str(tmp_path / 'mail.log.3'), 'wt') as handle:
        handle.write('three\n')
    (tmp_path / 'mail.log.4.gz').write_bytes(b'\x1f\x8b broken')
    paths = maillog.rotated_files(str(log))
    read, errors = [], []
    assert list(maillog.read_lines(paths, read, errors)) == ['three\n', 'two\n', 'one\n', 'live\n']
    assert read == [str(tmp_path / n) for n in ('mail.log.3', 'mail.log.2.gz', 'mail.log.1', 'mail.log')]
    assert [path for path, dummy in errors] == [str(tmp_path / 'mail.log.4.gz')]


def test_rotated_files_of_a_missing_log(tmp_path):
    (tmp_path / 'mail.log.1').write_text('one\n')
    assert maillog.rotated_files(str(tmp_path / 'mail.log')) == [str(tmp_path / 'mail.log.1')]
    assert maillog.rotated_files(str(tmp_path / 'nothing' / 'mail.log')) == []


def test_a_rotation_in_the_middle_of_a_message_keeps_its_path(tmp_path):
    source = fixture('gateway-postfix.log')
    cut = source.index([s for s in source if 'A1E351701A1: to=' in s][0])
    with gzip.open(str(tmp_path / 'mail.log.1.gz'), 'wt') as handle:
        handle.write('\n'.join(source[:cut]) + '\n')
    (tmp_path / 'mail.log').write_text('\n'.join(source[cut:]) + '\n')
    stream = maillog.read_lines(maillog.rotated_files(str(tmp_path / 'mail.log')))
    result = maillog.trace([stream, fixture('gateway-amavisd.log')], FILTER, NOW)
    assert result['summary'] == gateway()['summary']
    assert by_id(result)['A1E351701A1']['children'] == ['D7A3417096B']
