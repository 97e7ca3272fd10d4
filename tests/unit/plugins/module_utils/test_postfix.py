# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.securemail.gateway.plugins.module_utils import postfix as pf


@pytest.mark.parametrize('left,right', [
    ('permit_mynetworks, reject_unauth_destination', 'permit_mynetworks reject_unauth_destination'),
    ('permit_mynetworks,reject_unauth_destination', '  permit_mynetworks ,\n\treject_unauth_destination  '),
    ('a, {b c, d}', 'a {b  c, d}'),
    ('check_policy_service { inet:127.0.0.1:10040, timeout=10s }',
     'check_policy_service {inet:127.0.0.1:10040, timeout=10s}'),
    ('{ name = value }', '{name=value}'),
    ('', ''),
])
def test_lists_equal_by_meaning(left, right):
    assert pf.values_equal('smtpd_recipient_restrictions', left, right)


@pytest.mark.parametrize('left,right', [
    ('permit_mynetworks, reject', 'reject, permit_mynetworks'),
    ('a {b c}', 'a b c'),
    ('a', ''),
    ('hash:/etc/postfix/a', 'hash:/etc/postfix/b'),
])
def test_lists_differ(left, right):
    assert not pf.values_equal('smtpd_recipient_restrictions', left, right)


def test_none_only_equals_none():
    assert pf.values_equal('x', None, None)
    assert not pf.values_equal('x', None, '')


def test_free_text_keeps_commas():
    assert not pf.values_equal('smtpd_banner', '$myhostname ESMTP, ready', '$myhostname ESMTP ready')
    assert pf.values_equal('smtpd_banner', '$myhostname  ESMTP', '$myhostname ESMTP')


@pytest.mark.parametrize('value,text', [
    (True, 'yes'), (False, 'no'), (25, '25'), (None, ''), ('  x  ', 'x'),
    (['permit_mynetworks', 'reject'], 'permit_mynetworks, reject'), ([], ''),
    ([True, 1], 'yes, 1'),
])
def test_render_value(value, text):
    assert pf.render_value(value) == text


@pytest.mark.parametrize('value,reason', [
    ('a\nb', 'contains a newline'), ('a\rb', 'contains a newline'), ('a\x00', 'contains a NUL character'),
    ('plain $text, {x}', None),
])
def test_bad_text(value, reason):
    assert pf.bad_text(value) == reason


def test_parse_assignments_folds_continuations():
    text = 'mynetworks = 127.0.0.0/8\n    [::1]/128\nsmtpd_banner = $myhostname ESMTP\nempty =\n'
    assert pf.parse_assignments(text) == {'mynetworks': '127.0.0.0/8 [::1]/128',
                                          'smtpd_banner': '$myhostname ESMTP', 'empty': ''}


def test_messages_with_full_argv0_path():
    err = ('/usr/sbin/postconf: warning: foo: unknown parameter\n'
           'postconf: warning: /etc/postfix/main.cf: unused parameter: bar=1 2\n'
           '/usr/sbin/postconf: fatal: open /x/main.cf: No such file or directory\n')
    warnings, fatal = pf.split_messages(err)
    assert fatal == 'open /x/main.cf: No such file or directory'
    assert pf.unknown_parameters(warnings) == {'foo'}
    assert pf.unused_parameters(warnings) == {'bar': '1 2'}


def test_references():
    assert pf.references('$a, ${b}, $(c) x') == {'a', 'b', 'c'}
    assert pf.references('') == set()


def test_parse_master_entry_with_options_and_groups():
    line = ('127.0.0.1:10025 inet n   -       n       -       -       smtpd -o content_filter= '
            '-o {smtpd_client_restrictions=permit_mynetworks, reject} -o smtpd_helo_restrictions=')
    entry = pf.parse_master_entry(line)
    assert entry['service'] == '127.0.0.1:10025' and entry['type'] == 'inet'
    assert (entry['private'], entry['unpriv'], entry['chroot'], entry['wakeup'], entry['maxproc']) == \
        ('n', '-', 'n', '-', '-')
    assert entry['command'] == 'smtpd' and entry['args'] == []
    assert entry['options'] == [('content_filter', ''), ('smtpd_client_restrictions', 'permit_mynetworks, reject'),
                                ('smtpd_helo_restrictions', '')]
    assert pf.parse_master_entry(pf.format_master_entry(entry)) == entry


def test_parse_master_pipe_keeps_argv():
    line = 'filter unix - n n - 10 pipe flags=Rq user=filter argv=/usr/bin/f -o x -- ${recipient}'
    entry = pf.parse_master_entry(line)
    assert entry['command'] == 'pipe' and entry['options'] == []
    assert entry['args'] == ['flags=Rq', 'user=filter', 'argv=/usr/bin/f', '-o', 'x', '--', '${recipient}']


def test_parse_master_skips_short_lines_and_comments():
    services = pf.parse_master('# comment\nsmtp inet n - y - - smtpd\nbroken line\n')
    assert list(services) == [('smtp', 'inet')]


def test_format_option_uses_braces_for_spaces():
    assert pf.format_option('a', 'b') == '-o a=b'
    assert pf.format_option('a', 'b, c') == '-o {a=b, c}'


def test_names():
    assert pf.PARAM_NAME_RE.match('2bounce_notice_recipient')
    assert not pf.PARAM_NAME_RE.match('a-b')
    assert pf.SERVICE_NAME_RE.match('[::1]:10025') and pf.SERVICE_NAME_RE.match('127.0.0.1:10025')
    assert not pf.SERVICE_NAME_RE.match('smtp inet')


def test_restart_parameters_are_documented_ones():
    assert {'inet_interfaces', 'inet_protocols'} <= pf.RESTART_PARAMETERS
    assert 'smtpd_banner' not in pf.RESTART_PARAMETERS


def test_index_staleness(tmp_path):
    src = tmp_path / 'transport'
    src.write_text('a b\n')
    assert pf.index_is_stale(str(src), 'hash')
    db = tmp_path / 'transport.db'
    db.write_text('')
    import os
    st = os.stat(str(src)).st_mtime
    os.utime(str(db), (st + 5, st + 5))
    assert not pf.index_is_stale(str(src), 'hash')
    os.utime(str(db), (st - 5, st - 5))
    assert pf.index_is_stale(str(src), 'hash')
    assert pf.indexed_file('/x/t', 'cdb') == '/x/t.cdb'
