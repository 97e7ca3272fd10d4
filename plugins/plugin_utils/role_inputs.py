# -*- coding: utf-8 -*-
# Copyright: securemail.gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers of the filters that check a role's variables (plugins/filter/*_inputs.py).

Each reads a value the way the YAML checks they replace did with Jinja's and
Ansible's filters (| bool, | int, | float), so a variable that passed before
passes now; and shortens a value for a message.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

TRUE_WORDS = ('yes', 'on', 'true', '1')


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
