# -*- coding: utf-8 -*-
"""trace: the module over fake log files, with postconf and postqueue faked."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import gzip
import json
import os
import shutil

import pytest
import yaml

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.securemail.gateway.plugins.modules import trace

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(__file__)), 'module_utils', 'fixtures')

QUEUE_JSON = '\n'.join(json.dumps(entry) for entry in [
    {'queue_name': 'deferred', 'queue_id': '1A2B3C4D5E', 'sender': 's@example.com', 'recipients': []},
    {'queue_name': 'deferred', 'queue_id': '2A2B3C4D5E', 'sender': 's@example.com', 'recipients': []},
    {'queue_name': 'hold', 'queue_id': '3A2B3C4D5E', 'sender': 's@example.com', 'recipients': []},
]) + '\n'


class FakePostfix(object):
    """Answers postconf and postqueue the way Postfix 3.7 does, and records every call."""

    def __init__(self, maillog_file='', content_filter='', overrides='', postqueue=(0, QUEUE_JSON, ''), tools=None):
        self.settings = 'maillog_file = %s\ncontent_filter = %s\n' % (maillog_file, content_filter)
        self.overrides = overrides
        self.postqueue = postqueue
        self.tools = ('postconf', 'postqueue') if tools is None else tools
        self.calls = []
        self.warnings = []

    def get_bin_path(self, name, required=False, opt_dirs=None):
        return '/usr/sbin/%s' % name if name in self.tools else None

    def run_command(self, args, **kwargs):
        self.calls.append(list(args))
        if args[0].endswith('postqueue'):
            return self.postqueue
        if args[3:] == ['-x', 'maillog_file', 'content_filter']:
            return 0, self.settings, ''
        if args[3:] == ['-P']:
            return 0, self.overrides, ''
        return 1, '', 'postconf: fatal: unexpected call %s' % args


@pytest.fixture
def fake(monkeypatch):
    def install(**kwargs):
        postfix = FakePostfix(**kwargs)
        # Bound methods set on the class are not bound again: the module instance never reaches them.
        monkeypatch.setattr(AnsibleModule, 'get_bin_path', postfix.get_bin_path)
        monkeypatch.setattr(AnsibleModule, 'run_command', postfix.run_command)
        # Where module.warn's text ends up depends on what else the test process imported: catch it at the source.
        monkeypatch.setattr(AnsibleModule, 'warn', postfix.warnings.append)
        return postfix
    return install


@pytest.fixture
def logs(tmp_path):
    """The gateway's two logs, the Postfix one cut in two by a rotation."""
    source = open(os.path.join(FIXTURES, 'gateway-postfix.log')).read().splitlines(True)
    with gzip.open(str(tmp_path / 'postfix.log.1.gz'), 'wt') as handle:
        handle.writelines(source[:40])
    (tmp_path / 'postfix.log').write_text(''.join(source[40:]))
    shutil.copy(os.path.join(FIXTURES, 'gateway-amavisd.log'), str(tmp_path / 'amavisd.log'))
    return tmp_path


SUMMARY = dict(accepted=7, delivered=5, quarantined=2, bounced=0, deferred=0, discarded=0, held=0, in_queue=0, mixed=0,
               rejected=1)


def test_a_selector_lists_the_message_with_its_quarantine_id(run_main, fake, logs):
    postfix = fake(content_filter='smtp-amavis:[127.0.0.1]:10024')
    files = [str(logs / 'postfix.log'), str(logs / 'amavisd.log')]
    code, result = run_main(trace, dict(message_id='gtube-260380f6@example.net', log_files=files,
                                        _ansible_check_mode=True))
    assert code == 0 and result['changed'] is False
    assert [(m['queue_id'], m['outcome'], m['quarantine_id']) for m in result['messages']] == [
        ('A764817038A', 'quarantined', 'ykYJYXo0U_Ei')]
    assert result['summary'] == dict(SUMMARY, accepted=1, delivered=0, quarantined=1, rejected=0)
    assert result['refused'] == []
    assert result['filter_relays'] == ['127.0.0.1:10024']
    assert result['log_files_read'] == [str(logs / 'postfix.log.1.gz'), str(logs / 'postfix.log'), str(logs / 'amavisd.log')]
    assert result['log_files_missing'] == []
    assert result['queue'] == dict(total=3, active=0, deferred=2, hold=1, incoming=0, maildrop=0, error=None)
    assert postfix.calls == [['/usr/sbin/postconf', '-c', '/etc/postfix', '-x', 'maillog_file', 'content_filter'],
                             ['/usr/sbin/postconf', '-c', '/etc/postfix', '-P'],
                             ['/usr/sbin/postqueue', '-c', '/etc/postfix', '-j']]


def test_without_a_selector_only_counts(run_main, fake, logs):
    fake()
    code, result = run_main(trace, dict(log_files=[str(logs / 'postfix.log'), str(logs / 'amavisd.log')]))
    assert code == 0 and result['summary'] == SUMMARY
    assert result['messages'] == [] and result['refused'] == []
    # No content_filter anywhere: the filter is still known by its replies.
    assert result['filter_relays'] == []
    code, result = run_main(trace, dict(log_files=[str(logs / 'postfix.log'), str(logs / 'amavisd.log')],
                                        list_messages=True))
    assert len(result['messages']) == 7 and [r['recipient'] for r in result['refused']] == ['nobody@example.org']


def test_defaults_come_from_postconf_and_master_cf(run_main, fake, logs):
    postfix = fake(maillog_file=str(logs / 'postfix.log'), content_filter='',
                   overrides='relay/unix/syslog_name = postfix/$service_name\n'
                             'smtp/inet/content_filter = amavis:[127.0.0.1]:10024\n'
                             '127.0.0.1:10025/inet/content_filter =\n')
    code, result = run_main(trace, dict(config_dir=str(logs), recipient='ALICE@example.org', rotated=False))
    assert code == 0
    assert result['filter_relays'] == ['127.0.0.1:10024']
    # No rotation read; /var/log/amavis/amavisd.log is not on this machine.
    assert result['log_files_read'] == [str(logs / 'postfix.log')]
    assert result['log_files_missing'] == ['/var/log/amavis/amavisd.log']
    assert postfix.calls[0] == ['/usr/sbin/postconf', '-c', str(logs), '-x', 'maillog_file', 'content_filter']
    # The rotation with the accepting lines is not read; the hand-overs to the filter still make the messages.
    # Without amavisd's log the held ones have no quarantine id, but they are still held by the filter.
    assert [(m['outcome'], m['quarantine_id'], m['accepted']) for m in result['messages']] == (
        [('delivered', None, None)] * 5 + [('quarantined', None, None)] * 2)
    assert result['refused'] == []


def test_given_log_files_and_filter_relays_need_no_postconf(run_main, fake, logs):
    postfix = fake(tools=())
    code, result = run_main(trace, dict(log_files=[str(logs / 'postfix.log'), str(logs / 'amavisd.log')],
                                        filter_relays=['[127.0.0.1]:10024', '127.0.0.1:10024'], queue_id='D7A3417096B'))
    assert code == 0 and postfix.calls == []
    assert result['queue'] is None and result['filter_relays'] == ['127.0.0.1:10024']
    assert [m['queue_id'] for m in result['messages']] == ['A1E351701A1']


def test_postqueue_failing_is_reported_not_fatal(run_main, fake, logs):
    fake(postqueue=(69, '', 'postqueue: fatal: Queue report unavailable - mail system is down\n'))
    code, result = run_main(trace, dict(log_files=[str(logs / 'postfix.log')], filter_relays=[]))
    assert code == 0
    assert result['queue'] == dict(total=None, active=None, deferred=None, hold=None, incoming=None, maildrop=None,
                                   error='postqueue: fatal: Queue report unavailable - mail system is down')


def test_no_readable_log_fails_naming_the_paths(run_main, fake, tmp_path):
    fake()
    missing = [str(tmp_path / 'a.log'), str(tmp_path / 'b.log')]
    code, result = run_main(trace, dict(log_files=missing, filter_relays=[]))
    assert code == 1 and result['failed']
    assert result['msg'] == 'no mail log could be read: %s, %s' % tuple(missing)
    assert result['log_files_missing'] == missing


def test_an_unreadable_log_is_missing_with_a_warning(run_main, fake, logs):
    postfix = fake()
    (logs / 'bad.log').write_bytes(b'\x1f\x8b not gzip')
    code, result = run_main(trace, dict(log_files=[str(logs / 'bad.log'), str(logs / 'amavisd.log')], filter_relays=[],
                                        rotated=False))
    assert code == 0
    assert result['log_files_read'] == [str(logs / 'amavisd.log')]
    assert result['log_files_missing'] == [str(logs / 'bad.log')]
    assert any(w.startswith('could not read %s: ' % (logs / 'bad.log')) for w in postfix.warnings)


def test_postconf_failing_falls_back_to_the_default_logs(run_main, fake, monkeypatch, logs):
    postfix = fake()
    monkeypatch.setattr(trace, 'DEFAULT_MAIL_LOG', str(logs / 'postfix.log'))
    original = postfix.run_command

    def failing(dummy_module, args, **kwargs):
        if args[0].endswith('postconf'):
            return 1, '', 'postconf: fatal: open /etc/postfix/main.cf: No such file or directory\n'
        return original(args, **kwargs)
    monkeypatch.setattr(AnsibleModule, 'run_command', failing)
    code, result = run_main(trace, dict())
    assert code == 0 and result['summary'] == SUMMARY
    assert result['log_files_read'] == [str(logs / 'postfix.log.1.gz'), str(logs / 'postfix.log')]
    assert result['log_files_missing'] == ['/var/log/amavis/amavisd.log']
    assert any(w.startswith('postconf -c /etc/postfix failed (') for w in postfix.warnings)


def test_the_documentation_matches_the_argument_spec_and_the_result():
    doc = yaml.safe_load(trace.DOCUMENTATION)
    assert sorted(doc['options']) == ['config_dir', 'filter_relays', 'list_messages', 'log_files', 'message_id',
                                      'queue_id', 'recipient', 'rotated', 'sender']
    returned = yaml.safe_load(trace.RETURN)
    assert sorted(returned) == ['filter_relays', 'log_files_missing', 'log_files_read', 'messages', 'queue', 'refused',
                                'summary']
    assert sorted(returned['summary']['sample']) == sorted(SUMMARY)
    from ansible_collections.securemail.gateway.plugins.module_utils import maillog
    message = maillog.trace([open(os.path.join(FIXTURES, 'gateway-postfix.log'))])['messages'][0]
    assert sorted(returned['messages']['contains']) == sorted(message)
    assert sorted(returned['messages']['sample'][0]) == sorted(message)
