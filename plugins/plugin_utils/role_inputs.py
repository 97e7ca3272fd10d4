# -*- coding: utf-8 -*-
# Copyright: securemail.gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers of the filters that check a role's variables (plugins/filter/*_inputs.py).

Each reads a value the way the YAML checks they replace did with Jinja's and
Ansible's filters (| bool, | int, | float), so a variable that passed before
passes now; shortens a value for a message; and finds the misspelled variables
of a role (unknown_variables).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib

TRUE_WORDS = ('yes', 'on', 'true', '1')
# A database client may go without TLS only to these.
LOOPBACK_HOSTS = ('localhost', '127.0.0.1', '::1')


def as_bool(value):
    """``value | bool``: yes, on, true, 1 (any case), True and 1 are true; everything else is false."""
    if isinstance(value, (str, int)):
        return str(value).lower() in TRUE_WORDS
    return value == 1


def as_int(value, default=0):
    """``value | int``: "42", 42.9 and "42.9" are 42; what is no number is ``default``."""
    try:
        return int(value, 10) if isinstance(value, str) else int(value)
    except (TypeError, ValueError, OverflowError):
        try:
            return int(float(value))
        except (TypeError, ValueError, OverflowError):
            return default


def as_float(value, default=0.0):
    """``value | float``: what is no number is ``default``."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def short(value, width=80):
    """``value | string``, cut to ``width`` characters with "..." when longer."""
    text = str(value)
    return text if len(text) <= width else text[:width - 3] + '...'


def as_list(value):
    """A list or tuple as a list; anything else (a string, a dict, None) is not one: None."""
    return list(value) if isinstance(value, (list, tuple)) else None


def unknown_variables(names, known, prefix, other_prefixes=()):
    """One warning per name in ``names`` that carries ``prefix`` but is not in ``known``, with the closest known name.

    ``names`` are the variables defined for a host (``query('ansible.builtin.varnames', '^postfix_')``), ``known``
    the role's argument spec options. Not user variables, so never reported: names with ``prefix`` followed by an
    underscore (the role's internal ``postfix__*``) and names of another role whose prefix is longer and starts
    with this one (``other_prefixes``: with roles ``mail`` and ``mail_web``, ``mail_web_port`` is not a typo of
    the ``mail`` role's variables).
    """
    known = sorted(set(known))
    others = tuple(p for p in other_prefixes if p != prefix and p.startswith(prefix))
    messages = []
    for name in sorted(set(names)):
        if not name.startswith(prefix) or name.startswith(prefix + '_') or name in known:
            continue
        if others and name.startswith(others):
            continue
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
        messages.append('%s is not a variable of this role and is ignored%s' % (
            name, ' (did you mean %s?)' % close[0] if close else ''))
    return messages


def parts_missing_packages(parts, missing, install_variable):
    """A refusal for each optional part that is on while packages it needs are missing and the role may not install.

    ``parts`` are dicts of variable, enabled, packages, why and instead (a role's
    vars); ``missing`` the packages the host lacks. Said before any change:
    half-way through the run the part's daemon, or its user, would be missing.
    """
    problems = []
    for part in parts:
        lacking = [name for name in part['packages'] if name in missing]
        if as_bool(part['enabled']) and lacking:
            problems.append('%s: %s; %s %s not installed and %s is false: install %s, or %s'
                            % (part['variable'], part['why'], ', '.join(lacking),
                               'is' if len(lacking) == 1 else 'are', install_variable,
                               'it' if len(lacking) == 1 else 'them', part['instead']))
    return problems


def cleartext_database(variable, sslmode, host, carries):
    """The problems (none or one) of libpq's sslmode ``disable`` towards a database that is not on this host."""
    if sslmode == 'disable' and host not in LOOPBACK_HOSTS:
        return ['%s: disable sends %s to %s in clear; only a database on this host (127.0.0.1, ::1, localhost) '
                'may go without TLS' % (variable, carries, host)]
    return []
