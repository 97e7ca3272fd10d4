# -*- coding: utf-8 -*-
# Copyright: securemail.gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every role asks about its own variables: which of the host's variables carry the role's prefix but
are none of the role's (a typo, which Ansible ignores silently); which optional parts are on without their
packages where the role may not install them. The decisions are in plugin_utils.role_inputs."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.securemail.gateway.plugins.plugin_utils.role_inputs import (
    parts_missing_packages, unknown_variables)


def role_variable_typos(names, known, prefix, other_prefixes=None):
    """The warnings of unknown_variables for a list of variable names."""
    for label, value in (('_input', names), ('known', known)):
        if not isinstance(value, (list, tuple)):
            raise AnsibleFilterError('role_variable_typos: %s must be a list, got %s' % (label, type(value).__name__))
    return unknown_variables([str(n) for n in names], [str(n) for n in known], str(prefix),
                             [str(p) for p in other_prefixes or []])


def missing_part_packages(parts, missing, install_variable):
    """The refusals of parts_missing_packages (a role's optional parts and the packages the host lacks)."""
    if not isinstance(parts, list) or not all(isinstance(p, dict) for p in parts):
        raise AnsibleFilterError('missing_part_packages: the parts must be a list of dicts')
    return parts_missing_packages(parts, list(missing or []), str(install_variable))


class FilterModule(object):
    def filters(self):
        return {'role_variable_typos': role_variable_typos, 'missing_part_packages': missing_part_packages}
