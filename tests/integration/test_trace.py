# -*- coding: utf-8 -*-
"""trace against the real postconf: where the logs are and where the content filter listens, from a real main.cf."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil

from conftest import postconf, run_module

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, 'tests', 'unit', 'plugins', 'module_utils', 'fixtures')
AMAVIS_LOG = '/var/log/amavis/amavisd.log'

# A hand-over to the filter over LMTP whose reply has none of amavisd's marks
# and a re-injection without orig_queue_id: only content_filter tells that
# 127.0.0.1:10024 is the filter and not the next hop.
UNMARKED = """\
Dec 04 10:00:00 gw postfix/smtpd[1]: 1A2B3C4D5E: client=mx.example.com[192.0.2.7]
Dec 04 10:00:00 gw postfix/qmgr[2]: 1A2B3C4D5E: from=<s@example.com>, size=500, nrcpt=1 (queue active)
Dec 04 10:00:01 gw postfix/smtpd[3]: 4D5E6F7081: client=localhost[127.0.0.1]
Dec 04 10:00:01 gw postfix/lmtp[4]: 1A2B3C4D5E: to=<u@example.org>, relay=127.0.0.1[127.0.0.1]:10024, delay=1, \
delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 4D5E6F7081)
Dec 04 10:00:02 gw postfix/smtp[5]: 4D5E6F7081: to=<u@example.org>, relay=10.89.0.3[10.89.0.3]:25, delay=1, \
delays=0/0/0/1, dsn=2.0.0, status=sent (250 ok)
"""


def write_logs(directory, sample=True):
    """postfix.log in directory: the gateway's sample log (when sample) followed by UNMARKED."""
    log = os.path.join(str(directory), 'postfix.log')
    if sample:
        # Its replies mark 127.0.0.1:10024 as the filter whatever content_filter says.
        shutil.copy(os.path.join(FIXTURES, 'gateway-postfix.log'), log)
    with open(log, 'a') as handle:
        handle.write(UNMARKED)
    return log


def test_maillog_file_and_content_filter_come_from_main_cf(confdir, tmp_path):
    log = write_logs(tmp_path, sample=False)
    # $-expansion is postconf's: the module must ask for expanded values.
    postconf(confdir, '-e', 'securemail_log_dir=%s' % tmp_path, 'maillog_file=${securemail_log_dir}/postfix.log',
             'content_filter=smtp-amavis:[127.0.0.1]:10024')
    result = run_module('trace', dict(config_dir=confdir, queue_id='4D5E6F7081'), tmp_path=tmp_path)
    assert result['changed'] is False and not result.get('failed'), result
    assert result['filter_relays'] == ['127.0.0.1:10024']
    assert result['log_files_read'][0] == log
    if not os.path.exists(AMAVIS_LOG):
        assert result['log_files_missing'] == [AMAVIS_LOG]
    [message] = result['messages']
    assert (message['queue_id'], message['outcome'], message['next_hop'], message['children']) == (
        '1A2B3C4D5E', 'delivered', '10.89.0.3[10.89.0.3]:25', ['4D5E6F7081'])
    assert [h['event'] for h in message['hops']] == ['received', 'filter', 'reinjected', 'delivered']


def test_content_filter_of_a_master_cf_service(confdir, tmp_path):
    log = write_logs(tmp_path)
    postconf(confdir, '-e', 'maillog_file=%s' % log)
    postconf(confdir, '-P', 'smtp/inet/content_filter=lmtp-amavis:[127.0.0.1]:10024')
    result = run_module('trace', dict(config_dir=confdir, rotated=False), tmp_path=tmp_path)
    assert result['filter_relays'] == ['127.0.0.1:10024']
    assert result['messages'] == [] and result['refused'] == []
    assert result['summary'] == dict(accepted=8, delivered=6, quarantined=2, bounced=0, deferred=0, discarded=0, held=0,
                                     in_queue=0, mixed=0, rejected=1)
    # No Postfix runs with this scratch config: postqueue says why instead of counting.
    queue = result['queue']
    assert queue is not None and (queue['error'] and queue['total'] is None or queue['error'] is None and queue['total'] >= 0)


def test_without_content_filter_the_unmarked_hand_over_is_a_delivery(confdir, tmp_path):
    log = write_logs(tmp_path, sample=False)
    postconf(confdir, '-e', 'maillog_file=%s' % log)
    result = run_module('trace', dict(config_dir=confdir, queue_id='1A2B3C4D5E'), tmp_path=tmp_path)
    assert result['filter_relays'] == []
    [message] = result['messages']
    # Nothing says 127.0.0.1:10024 is the filter, so the message left the host there.
    assert (message['outcome'], message['next_hop']) == ('delivered', '127.0.0.1[127.0.0.1]:10024')


def test_an_empty_maillog_file_means_the_syslog_file(confdir, tmp_path):
    result = run_module('trace', dict(config_dir=confdir), tmp_path=tmp_path)
    expected = [p for p in ('/var/log/mail.log', AMAVIS_LOG) if not os.path.exists(p)]
    assert result['log_files_missing'] == expected
    if len(expected) == 2:
        assert result['failed'] and result['msg'] == 'no mail log could be read: /var/log/mail.log, %s' % AMAVIS_LOG
