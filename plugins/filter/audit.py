# -*- coding: utf-8 -*-
# Copyright: securemail.gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the audit playbook hands exposure_check about files: the paths it found, each as an entry naming the
service that reads it (and, for private keys, what the key is for)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError


def path_entries(paths, service, purpose=None):
    """One exposure_check entry per path: {service, path} and, when given, purpose."""
    if not isinstance(paths, (list, tuple)) or not all(isinstance(p, str) for p in paths):
        raise AnsibleFilterError('path_entries: the paths must be a list of strings, got %r' % (paths,))
    extra = {'purpose': str(purpose)} if purpose else {}
    return [dict({'service': str(service), 'path': path}, **extra) for path in paths]


class FilterModule(object):
    def filters(self):
        return {'path_entries': path_entries}
