# -*- coding: utf-8 -*-
# Copyright: securemail.gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Running Postfix's own tools and reading what they print.

Every module of the collection that touches Postfix configuration goes through
this file, so there is one parser for ``postconf -n``/``-d``/``-M`` output and
one place that knows which changes need a restart rather than a reload.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

DEFAULT_CONFIG_DIR = '/etc/postfix'

# Names postconf accepts for main.cf parameters, and for -o overrides in
# master.cf: "$name" expansion only works on [A-Za-z0-9_] (postconf(5)).
PARAM_NAME_RE = re.compile(r'^[A-Za-z0-9_]+$')

# master.cf service names: a plain name, a unix socket path for unix services
# or [host:]port for inet services (host may be an IPv6 address in brackets).
SERVICE_NAME_RE = re.compile(r'^[A-Za-z0-9_.:/\[\]\-]+$')
SERVICE_TYPES = ('inet', 'unix', 'unix-dgram', 'fifo', 'pass')

# Parameters whose change is not applied by "postfix reload":
# - inet_interfaces, inet_protocols: postconf(5) says "you need to stop and
#   start Postfix when this parameter changes" (inet_protocols: "you MUST").
# - queue_directory, data_directory, mail_owner: master(8) keeps its pid and
#   lock files there and runs with them from start-up; the reload signal is
#   sent through the pid file in the old queue directory (postfix-script), so
#   a reload cannot move the master to the new value.
# - import_environment: master(8) imports it once, from its parent, at start.
RESTART_PARAMETERS = frozenset([
    'inet_interfaces',
    'inet_protocols',
    'queue_directory',
    'data_directory',
    'mail_owner',
    'import_environment',
])

# Free-text values where whitespace and commas are part of the meaning, so a
# list comparison would hide a real change (e.g. a banner "a, b" vs "a b").
FREE_TEXT_RE = re.compile(r'(_banner|_footer|_reply|_expansion_filter|^mail_name|_template|_text)$')

# Postfix tools prefix messages with argv[0], which may be a full path.
WARNING_RE = re.compile(r'^(?:\S*/)?(?:postconf|postmap|postalias): warning: (.*)$')
FATAL_RE = re.compile(r'^(?:\S*/)?(?:postconf|postmap|postalias): fatal: (.*)$')
UNUSED_RE = re.compile(r'unused parameter: ([A-Za-z0-9_]+)=(.*)$')
UNKNOWN_RE = re.compile(r'^([A-Za-z0-9_]+): unknown parameter$')
REFERENCE_RE = re.compile(r'\$(?:\{|\()?([A-Za-z0-9_]+)')


class PostfixError(Exception):
    """A Postfix tool failed; the message is what it printed."""


def bad_text(value):
    """Why a value cannot go into a Postfix config line, or None if it can.

    A newline would start a second logical line (another parameter or
    service) behind the caller's back; postconf truncates at a NUL.
    """
    if '\n' in value or '\r' in value:
        return 'contains a newline'
    if '\0' in value:
        return 'contains a NUL character'
    return None


def render_value(value):
    """Turn a module argument into the text postconf stores."""
    if value is None:
        return ''
    if isinstance(value, bool):
        return 'yes' if value else 'no'
    if isinstance(value, (list, tuple)):
        return ', '.join(render_value(v) for v in value)
    return str(value).strip()


def _split_outside_groups(text, separators):
    """Split text at any of separators, except inside ``{ ... }`` groups."""
    tokens = []
    cur = []
    depth = 0
    for ch in text:
        if ch == '{':
            depth += 1
        elif ch == '}' and depth:
            depth -= 1
        if depth == 0 and (ch.isspace() or ch in separators):
            if cur:
                tokens.append(''.join(cur))
                cur = []
            continue
        cur.append(ch)
    if cur:
        tokens.append(''.join(cur))
    return tokens


def split_list(value):
    """Split a Postfix list value into its elements.

    Postfix separates list elements by whitespace and/or commas, except
    inside ``{ ... }`` groups (e.g. ``{ inline:{a=b} }`` or ``-o {x=a b}``),
    which stay one element. Whitespace inside a group is collapsed so that
    reformatting alone is not a change.
    """
    return [_normalise_group(t) for t in _split_outside_groups(value, ',')]


def _normalise_group(token):
    if token.startswith('{') and token.endswith('}'):
        inner = ' '.join(token[1:-1].split())
        inner = re.sub(r'\s*=\s*', '=', inner, count=1)
        return '{' + inner + '}'
    return token


def values_equal(name, left, right):
    """Compare two main.cf values by meaning, as Postfix would read them."""
    if left is None or right is None:
        return left is right
    if FREE_TEXT_RE.search(name):
        return ' '.join(left.split()) == ' '.join(right.split())
    return split_list(left) == split_list(right)


def references(value):
    """Names of the parameters a value refers to with $name, ${name}, $(name)."""
    return set(REFERENCE_RE.findall(value or ''))


def parse_assignments(text):
    """Parse ``name = value`` lines (postconf -n/-d/-P output) into a dict.

    Lines starting with whitespace continue the previous value, as in main.cf.
    """
    result = {}
    last = None
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith('#'):
            continue
        if line[0].isspace() and last is not None:
            result[last] = (result[last] + ' ' + line.strip()).strip()
            continue
        name, sep, value = line.partition('=')
        if not sep:
            continue
        last = name.strip()
        result[last] = value.strip()
    return result


def split_messages(stderr):
    """Split postconf's stderr into (warnings, fatal_or_None)."""
    warnings = []
    fatal = None
    for line in stderr.splitlines():
        m = WARNING_RE.match(line)
        if m:
            warnings.append(m.group(1))
            continue
        m = FATAL_RE.match(line)
        if m:
            fatal = m.group(1)
        elif line.strip():
            warnings.append(line.strip())
    return warnings, fatal


def unused_parameters(warnings):
    """Explicit main.cf settings postconf reports as unused: name -> value."""
    found = {}
    for w in warnings:
        m = UNUSED_RE.search(w)
        if m:
            found[m.group(1)] = m.group(2).strip()
    return found


def unknown_parameters(warnings):
    found = set()
    for w in warnings:
        m = UNKNOWN_RE.match(w)
        if m:
            found.add(m.group(1))
    return found


# ---------------------------------------------------------------- master.cf

def split_words(text):
    """Split a master.cf command line on whitespace, keeping {...} groups whole."""
    return _split_outside_groups(text, '')


def parse_option(word):
    """``name=value`` or ``{ name = value }`` -> (name, value)."""
    if word.startswith('{') and word.endswith('}'):
        word = word[1:-1].strip()
    name, sep, value = word.partition('=')
    if not sep:
        return None
    return name.strip(), value.strip()


def parse_master_entry(line):
    """One logical ``postconf -M`` line -> dict, or None for a malformed one."""
    words = split_words(line)
    if len(words) < 8:
        return None
    entry = {
        'service': words[0],
        'type': words[1],
        'private': words[2],
        'unpriv': words[3],
        'chroot': words[4],
        'wakeup': words[5],
        'maxproc': words[6],
        'command': words[7],
        'args': [],
        'options': [],
    }
    rest = words[8:]
    i = 0
    while i < len(rest):
        word = rest[i]
        if word.startswith('argv='):
            # pipe(8): everything from argv= on is the command to run.
            entry['args'].extend(rest[i:])
            break
        if word == '-o' and i + 1 < len(rest):
            opt = parse_option(rest[i + 1])
            if opt is not None:
                entry['options'].append(opt)
                i += 2
                continue
        if word.startswith('-o') and len(word) > 2:
            opt = parse_option(word[2:])
            if opt is not None:
                entry['options'].append(opt)
                i += 1
                continue
        entry['args'].append(word)
        i += 1
    return entry


def parse_master(text):
    """``postconf -M`` output -> {(service, type): entry}, in file order."""
    services = {}
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith('#'):
            continue
        entry = parse_master_entry(line)
        if entry is not None:
            services[(entry['service'], entry['type'])] = entry
    return services


def format_option(name, value):
    # Postfix 3.0+ needs the {} form for values with whitespace.
    if re.search(r'\s', value):
        return '-o {%s=%s}' % (name, value)
    return '-o %s=%s' % (name, value)


def format_master_entry(entry):
    """The single-line master.cf form postconf -Me takes and -M prints."""
    words = [entry['service'], entry['type'], entry['private'], entry['unpriv'],
             entry['chroot'], entry['wakeup'], entry['maxproc'], entry['command']]
    words.extend(entry.get('args') or [])
    words.extend(format_option(n, v) for n, v in entry.get('options') or [])
    return ' '.join(words)


# ---------------------------------------------------------------- running tools

class Postfix(object):
    """Runs postconf/postmap/postalias against one config directory."""

    def __init__(self, module, config_dir):
        self.module = module
        self.config_dir = config_dir
        self.postconf_bin = module.get_bin_path('postconf', required=True, opt_dirs=['/usr/sbin', '/usr/local/sbin'])
        self.processes = 0

    def run(self, tool_bin, args, data=None):
        self.processes += 1
        cmd = [tool_bin, '-c', self.config_dir] + list(args)
        rc, out, err = self.module.run_command(cmd, data=data, binary_data=data is not None,
                                               environ_update={'LC_ALL': 'C'})
        warnings, fatal = split_messages(err)
        if rc != 0 or fatal:
            raise PostfixError(fatal or err.strip() or 'exit status %d' % rc)
        return out, warnings

    def postconf(self, args):
        return self.run(self.postconf_bin, args)

    def explicit(self, names):
        """Explicit main.cf values of names, with what postconf says about them.

        One ``postconf -n NAMES`` answers everything a change needs: the
        explicit value of each known name (nothing when it is at its default),
        "NAME: unknown parameter" for names this Postfix does not know and
        nobody refers to, and "unused parameter: NAME=VALUE" for every
        setting in main.cf that nothing uses (so their values are not lost).
        ``-c`` also makes it print config_directory, which main.cf may not hold.
        Returns (values, unused, unknown, warnings).
        """
        out, warnings = self.postconf(['-n'] + sorted(names))
        values = parse_assignments(out)
        values.pop('config_directory', None)
        unused = unused_parameters(warnings)
        for name in names:
            if name in unused:
                values.setdefault(name, unused[name])
        return values, unused, unknown_parameters(warnings), warnings

    def defaults(self, names):
        """Compiled-in defaults for names; names postconf does not know."""
        if not names:
            return {}, set()
        out, warnings = self.postconf(['-d'] + sorted(names))
        return parse_assignments(out), unknown_parameters(warnings)

    def master(self):
        out, warnings = self.postconf(['-M'])
        return parse_master(out), warnings


def check_config_dir(path):
    """Why config_dir cannot be used, or None."""
    if not os.path.isdir(path):
        return 'is not a directory'
    for name in ('main.cf', 'master.cf'):
        if not os.path.isfile(os.path.join(path, name)):
            return 'has no %s' % name
    return None


# ---------------------------------------------------------------- indexed tables

# The file each indexed map type builds from SOURCE (postmap(1), DATABASE_README).
INDEX_SUFFIX = {'hash': '.db', 'btree': '.db', 'cdb': '.cdb', 'lmdb': '.lmdb', 'dbm': '.pag', 'sdbm': '.pag'}


def indexed_file(source, db_type):
    return source + INDEX_SUFFIX[db_type]


def index_is_stale(source, db_type):
    """True when the indexed file is missing or older than its source.

    Postfix itself uses the same rule: it warns that a database "is older
    than source file" and postmap only has to run when the source changed.
    """
    target = indexed_file(source, db_type)
    if not os.path.exists(target):
        return True
    return os.stat(target).st_mtime < os.stat(source).st_mtime
