# -*- coding: utf-8 -*-
# Copyright: securemail.gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Postfix facts the postfix role hands to the safe-change engine.

They come from plugins/module_utils/postfix.py, so the role, the postconf
modules and the engine format values and decide restarts one way. The
postfix_*_problems filters are the role's input checks for lookup tables and
header/body checks: they name keys and line numbers, never a table's values.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible.errors import AnsibleFilterError
from ansible_collections.securemail.gateway.plugins.module_utils.postfix import (
    RESTART_PARAMETERS, bad_text, format_master_entry, render_value, split_words)


def postfix_restart_regex(dummy=None):
    """A regular expression for main.cf lines whose change needs a stop and start."""
    return r'^\s*(%s)\s*=' % '|'.join(sorted(RESTART_PARAMETERS))


def _field(value):
    if isinstance(value, bool):
        return 'y' if value else 'n'
    return str(value).strip()


def postfix_master_line(service):
    """One declared master.cf service (the role's dict form) as ``name/type=entry`` for postconf -Me."""
    words = split_words(str(service['command']))
    options = [(name, render_value(value)) for name, value in sorted((service.get('options') or {}).items())]
    entry = dict(service=service['service'], type=service['type'], command=words[0], args=words[1:],
                 options=options)
    for field in ('private', 'unpriv', 'chroot', 'wakeup', 'maxproc'):
        entry[field] = _field(service.get(field, '-'))
    line = format_master_entry(entry)
    if bad_text(line):
        raise AnsibleFilterError('master.cf service %s: %s' % (service['service'], bad_text(line)))
    return '%s/%s=%s' % (service['service'], service['type'], line)


def postfix_merge_commands(main_cf, services, config_dir):
    """postconf commands that merge main_cf and services into {root}config_dir.

    For the engine's ``edits``: parameters are set with one ``-e``, declared
    services replaced whole with one ``-Me``, absent ones removed with ``-MX``
    (only those that exist: -MX of a missing entry is harmless but noisy).
    """
    staged = '{root}' + config_dir
    assignments = []
    for name, value in sorted(main_cf.items()):
        text = render_value(value)
        if bad_text(text) or not re.match(r'^[A-Za-z0-9_]+$', name):
            raise AnsibleFilterError('main.cf parameter %s: invalid name or %s' % (name, bad_text(text)))
        assignments.append('%s=%s' % (name, text))
    commands = [['postconf', '-c', staged, '-e'] + assignments]
    present = [postfix_master_line(s) for s in services if s.get('state', 'present') == 'present']
    if present:
        commands.append(['postconf', '-c', staged, '-Me'] + present)
    absent = ['%s/%s' % (s['service'], s['type']) for s in services if s.get('state', 'present') == 'absent']
    if absent:
        commands.append(['sh', '-c', 'for s; do postconf -c "$0" -M "$s" | grep -q . && postconf -c "$0" -MX "$s"; '
                                     'done; exit 0', staged] + absent)
    return commands


def postfix_table_file(item, config_dir, header):
    """A lookup table ({key: name, value: lines}) as an engine file entry."""
    lines = [str(line) for line in item['value']]
    return {'dest': '%s/%s' % (config_dir, item['key']), 'mode': '0644',
            'content': header + ''.join(line + '\n' for line in lines)}


def postfix_table_index(name, config_dir, map_type, suffix):
    """How the engine indexes table name in the scratch tree (postalias for aliases)."""
    tool = 'postalias' if name == 'aliases' else 'postmap'
    source = '%s/%s' % (config_dir, name)
    return {'source': source, 'label': name, 'outputs': [source + suffix],
            'argv': [tool, '-c', '{root}' + config_dir, '%s:{root}%s' % (map_type, source)]}


def _show(text, width=60):
    """A key or line as it can be shown in a message: repr-quoted (so a newline is visible), truncated."""
    shown = repr(str(text))
    return shown if len(shown) <= width else shown[:width - 3] + '...'


_LINE_BREAKS = ('\n', '\r', '\x00')


def postfix_table_problems(table, kind='map'):
    """What is wrong with a lookup table the role writes, one message per entry; [] when nothing.

    ``kind``: ``map`` (dict, key -> value, hash/postmap tables), ``aliases``
    (dict, name -> target, postalias) or ``list`` (one key per entry, the
    role appends the value). Keys must be one word without whitespace
    (whitespace ends a key, a newline starts a new entry: table injection);
    values one line. Messages show the key, never the value.
    """
    problems = []
    if kind == 'list':
        if not isinstance(table, (list, tuple)):
            return ['expected a list, got %s' % type(table).__name__]
        for number, entry in enumerate(table, 1):
            if not isinstance(entry, str) or not entry.strip():
                problems.append('entry %d is not a non-empty string' % number)
            elif re.search(r'\s|\x00', entry):
                problems.append('entry %d %s contains whitespace, a newline or a NUL' % (number, _show(entry)))
        return problems
    if not isinstance(table, dict):
        return ['expected a dict, got %s' % type(table).__name__]
    for key, value in sorted(table.items(), key=lambda kv: str(kv[0])):
        if not isinstance(key, str) or not key.strip():
            problems.append('key %s is not a non-empty string' % _show(key))
            continue
        if re.search(r'\s|\x00', key) or key.startswith('#'):
            problems.append('key %s contains whitespace, a newline or a NUL, or starts a comment' % _show(key))
        if kind == 'aliases' and ':' in key:
            problems.append('key %s contains ":" (it would end the alias name)' % _show(key))
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            problems.append('the value of key %s is not a string' % _show(key))
        elif any(c in str(value) for c in _LINE_BREAKS):
            problems.append('the value of key %s contains a newline, carriage return or NUL' % _show(key))
        elif not str(value).strip():
            problems.append('the value of key %s is empty' % _show(key))
    return problems


# header_checks/body_checks actions (header_checks(5)) that change only a
# message's headers, the log or its fate here (rejected, held): safe to take
# from an inventory as they are.
CHECK_ACTIONS = frozenset(['REJECT', 'WARN', 'HOLD', 'INFO', 'IGNORE', 'STRIP', 'DUNNO', 'OK',
                           'PREPEND', 'REPLACE'])
# Actions that send mail somewhere else, drop it silently or switch off the
# later checks: only with an explicit opt-in (postfix_allow_check_actions).
# BCC and REDIRECT copy or divert mail to any address, FILTER routes it past
# the content filter to any transport, DISCARD loses mail while claiming
# delivery, PASS turns off header, body and milter inspection.
CHECK_OPT_IN_ACTIONS = frozenset(['BCC', 'DISCARD', 'FILTER', 'PASS', 'REDIRECT'])
# Actions that need their text (the header, address or transport).
_CHECK_NEEDS_TEXT = frozenset(['PREPEND', 'REPLACE', 'BCC', 'REDIRECT', 'FILTER'])
# !/regexp/flags ACTION text: "/" delimiters (a "\/" inside stays part of the
# regexp), regexp_table(5) flags i, m, x.
_CHECK_LINE = re.compile(r'^(!?)/((?:[^/\\]|\\.)+)/([imx]*)\s+(\S+)(?:\s+(.*))?$')


def postfix_check_problems(lines, extra_actions=()):
    """What is wrong with header_checks/body_checks lines, one message per line; [] when nothing.

    A line is a comment (``#`` first) or ``/regexp/flags ACTION text``. The
    action (any case, as cleanup(8) reads it) must be in CHECK_ACTIONS, or in
    CHECK_OPT_IN_ACTIONS and ``extra_actions``. Whether Postfix can compile the regexp is the engine's
    postmap validator's job.
    """
    if not isinstance(lines, (list, tuple)):
        return ['expected a list of lines, got %s' % type(lines).__name__]
    allowed = CHECK_ACTIONS | (CHECK_OPT_IN_ACTIONS & set(str(a).upper() for a in extra_actions))
    problems = []
    for number, line in enumerate(lines, 1):
        if not isinstance(line, str):
            problems.append('line %d is not a string' % number)
            continue
        if any(c in line for c in _LINE_BREAKS):
            problems.append('line %d %s contains a newline, carriage return or NUL' % (number, _show(line)))
            continue
        if line.lstrip().startswith('#'):
            continue
        match = _CHECK_LINE.match(line)
        if not match:
            problems.append('line %d %s is not "/regexp/flags ACTION text"' % (number, _show(line)))
            continue
        action, text = match.group(4), (match.group(5) or '').strip()
        if action.upper() in CHECK_OPT_IN_ACTIONS and action.upper() not in allowed:
            problems.append('line %d %s: action %s sends mail elsewhere, loses it or skips the later checks; '
                            'list it in postfix_allow_check_actions to allow it' % (number, _show(line), action))
        elif action.upper() not in allowed:
            problems.append('line %d %s: unknown action %s (allowed: %s)' % (
                number, _show(line), _show(action, 30), ', '.join(sorted(allowed))))
        elif action.upper() in _CHECK_NEEDS_TEXT and not text:
            problems.append('line %d %s: %s needs its text' % (number, _show(line), action))
    return problems


def dkim_record(item, selector):
    """The DNS TXT record that publishes a DKIM public key.

    ``item``: (domain, base64 DER public key), as the role zips them.
    """
    domain, key = item[0], ''.join(str(item[1]).split())
    name = '%s._domainkey.%s' % (selector, domain)
    value = 'v=DKIM1; k=rsa; p=%s' % key
    # A TXT string holds at most 255 bytes; a 2048-bit key needs two, which
    # resolvers join back into one value.
    chunks = [value[i:i + 250] for i in range(0, len(value), 250)]
    return {'domain': domain, 'selector': selector, 'name': name, 'value': value, 'strings': chunks,
            'zone_line': '%s. 3600 IN TXT %s' % (name, ' '.join('"%s"' % c for c in chunks))}


class FilterModule(object):
    def filters(self):
        return {
            'postfix_restart_regex': postfix_restart_regex,
            'postfix_master_line': postfix_master_line,
            'postfix_merge_commands': postfix_merge_commands,
            'postfix_table_file': postfix_table_file,
            'postfix_table_index': postfix_table_index,
            'postfix_table_problems': postfix_table_problems,
            'postfix_check_problems': postfix_check_problems,
            'dkim_record': dkim_record,
        }
