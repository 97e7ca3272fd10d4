# -*- coding: utf-8 -*-
"""Input checks for the lookup tables and header/body checks the postfix role writes."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.securemail.gateway.plugins.filter import postfix as pf

SECRET = 'pw-Secret-93'


@pytest.mark.parametrize('table,kind', [
    ({'example.org': 'smtp:[10.0.0.5]:25', '.example.org': 'smtp:[10.0.0.5]:25'}, 'map'),
    ({'root@example.org': 'alice@example.org, bob@example.org'}, 'map'),
    ({'10.0.0.1': 'OK', '192.0.2.0/24': 'REJECT no thanks'}, 'map'),
    ({'postmaster': 'root', 'abuse': 'root', 'archive': '|/usr/local/bin/archive'}, 'aliases'),
    ({'client': 550}, 'map'),
    (['alice@example.org', '@example.net'], 'list'),
    ({}, 'map'),
    ([], 'list'),
])
def test_good_tables(table, kind):
    assert pf.postfix_table_problems(table, kind) == []


@pytest.mark.parametrize('table,kind,expected', [
    # the catch-all redirect: a newline in a virtual value
    ({'root': 'root\n@example.org attacker@evil.example'}, 'map', "the value of key 'root' contains a newline"),
    # the pipe alias
    ({'postmaster': 'root\nevil: |/bin/sh -c id'}, 'aliases', "the value of key 'postmaster' contains a newline"),
    ({'postmaster': 'root\rx'}, 'aliases', 'carriage return'),
    ({'a\nevil': 'root'}, 'aliases', "key 'a\\nevil' contains whitespace"),
    ({'a\r': 'root'}, 'map', "key 'a\\r' contains whitespace"),
    ({'with space': 'x'}, 'map', "key 'with space' contains whitespace"),
    ({'#comment': 'x'}, 'map', 'starts a comment'),
    ({'evil:': 'root'}, 'aliases', 'contains ":"'),
    ({'': 'x'}, 'map', 'not a non-empty string'),
    ({'k': ''}, 'map', "the value of key 'k' is empty"),
    ({'k': ['a', 'b']}, 'map', "the value of key 'k' is not a string"),
    ({'k': True}, 'map', 'not a string'),
    ({'k': 'v\x00'}, 'map', 'NUL'),
    (['alice@example.org\n@example.org'], 'list', "entry 1 'alice@example.org\\n@example.org' contains whitespace"),
    (['ok@example.org', 'a b'], 'list', 'entry 2'),
    (['ok@example.org', ''], 'list', 'entry 2 is not a non-empty string'),
    ('alice@example.org', 'list', 'expected a list'),
    (['x'], 'map', 'expected a dict'),
])
def test_bad_tables(table, kind, expected):
    problems = pf.postfix_table_problems(table, kind)
    assert len(problems) == 1, problems
    assert expected in problems[0], problems


def test_messages_never_show_values():
    problems = pf.postfix_table_problems({'[smtp.example.org]:587': 'user:%s\nrelayhost = x' % SECRET,
                                         'k\n': 'x' + SECRET}, 'map')
    assert len(problems) == 2
    assert SECRET not in ' '.join(problems)


def test_long_keys_are_cut():
    problem = pf.postfix_table_problems({'a' * 500 + ' b': 'x'}, 'map')[0]
    assert len(problem) < 150 and '...' in problem


@pytest.mark.parametrize('line', [
    '/^Subject:.*viagra/ REJECT',
    '/^X-Test-Reject:/ REJECT header rejected by policy',
    '/^Received:.*internal/ IGNORE',
    '/^X-Spam:/i WARN spam header seen',
    '!/^From:/ DUNNO',
    '/a\\/b/imx HOLD',
    '/^X-Mailer:/ strip',
    '/^Subject:/ PREPEND X-Checked: yes',
    '/^(Subject:.*)SPAM(.*)/ REPLACE ${1}HAM${2}',
    '/x/ OK',
    '/x/ INFO',
    '# a comment',
])
def test_good_check_lines(line):
    assert pf.postfix_check_problems([line]) == []


@pytest.mark.parametrize('line,expected', [
    ('/^Subject:/ REDIRECT spy@evil.example', 'action REDIRECT sends mail elsewhere'),
    ('/^Subject:/ BCC spy@evil.example', 'action BCC'),
    ('/^Subject:/ FILTER smtp:[192.0.2.1]', 'action FILTER'),
    ('/^Subject:/ DISCARD', 'action DISCARD'),
    ('/^Subject:/ discard', 'action discard'),
    ('/^X-Trusted:/ PASS', 'action PASS'),
    ('/^Subject:/ PIPE /bin/sh', 'unknown action'),
    ('/^Subject:/ 550 no', 'unknown action'),
    ('/^Subject:/ REJECT x\n/^/ REDIRECT spy@evil.example', 'contains a newline'),
    ('/^Subject:/ REJECT\r', 'contains a newline'),
    ('/^Subject:/', 'is not "/regexp/flags ACTION text"'),
    ('^Subject: REJECT', 'is not "/regexp/flags ACTION text"'),
    ('/^Subject:/q REJECT', 'is not "/regexp/flags ACTION text"'),
    ('if /^Subject:/', 'is not "/regexp/flags ACTION text"'),
    ('/^Subject:/ PREPEND', 'PREPEND needs its text'),
    ('', 'is not "/regexp/flags ACTION text"'),
])
def test_bad_check_lines(line, expected):
    problems = pf.postfix_check_problems(['/^X-Ok:/ WARN', line])
    assert len(problems) == 1, problems
    assert problems[0].startswith('line 2 ') and expected in problems[0], problems


def test_opt_in_actions():
    lines = ['/^Subject:/ REDIRECT archive@example.org', '/^X-Junk:/ DISCARD']
    assert len(pf.postfix_check_problems(lines)) == 2
    assert len(pf.postfix_check_problems(lines, ['REDIRECT'])) == 1
    assert pf.postfix_check_problems(lines, ['redirect', 'DISCARD']) == []
    # an opt-in names only the risky actions: nothing unknown comes in that way
    assert 'unknown action' in pf.postfix_check_problems(['/x/ PIPE'], ['PIPE'])[0]
    assert 'REDIRECT needs its text' in pf.postfix_check_problems(['/x/ REDIRECT'], ['REDIRECT'])[0]
    assert pf.postfix_check_problems('/x/ REJECT') == ['expected a list of lines, got str']
    assert pf.postfix_check_problems([3]) == ['line 1 is not a string']


def test_filters_are_registered():
    filters = pf.FilterModule().filters()
    assert filters['postfix_table_problems'] is pf.postfix_table_problems
    assert filters['postfix_check_problems'] is pf.postfix_check_problems


def test_dkim_record_splits_a_2048_bit_key_into_txt_strings():
    key = 'MIIBIjANBg' + 'A' * 382
    record = pf.dkim_record(['example.org', key + '\n'], 'gw')
    assert record['name'] == 'gw._domainkey.example.org'
    assert record['value'] == 'v=DKIM1; k=rsa; p=' + key
    assert ''.join(record['strings']) == record['value']
    assert [len(s) for s in record['strings']] == [250, len(record['value']) - 250]
    assert record['zone_line'] == 'gw._domainkey.example.org. 3600 IN TXT "%s" "%s"' % tuple(record['strings'])


def test_dkim_record_of_a_short_value_is_one_string():
    assert pf.dkim_record(['example.org', 'MIGf'], 's1')['strings'] == ['v=DKIM1; k=rsa; p=MIGf']
