# -*- coding: utf-8 -*-
# Copyright: securemail.gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the audit playbook hands exposure_check about files (the paths it found, each as an entry naming the
service that reads it and, for private keys, what the key is for), and how it reports database sessions."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError


def path_entries(paths, service, purpose=None):
    """One exposure_check entry per path: {service, path} and, when given, purpose."""
    if not isinstance(paths, (list, tuple)) or not all(isinstance(p, str) for p in paths):
        raise AnsibleFilterError('path_entries: the paths must be a list of strings, got %r' % (paths,))
    extra = {'purpose': str(purpose)} if purpose else {}
    return [dict({'service': str(service), 'path': path}, **extra) for path in paths]


def pg_sessions(connections):
    """PostgreSQL's TCP sessions (user, database, address, ssl) as "user@address/database (tls true|false)", once each,
    in the order given, and the addresses among them that are remote and in clear."""
    if not isinstance(connections, (list, tuple)) or not all(isinstance(c, dict) for c in connections):
        raise AnsibleFilterError('pg_sessions: the connections must be a list of dicts, got %r' % (connections,))
    seen, plain = [], []
    for c in connections:
        text = '%s@%s/%s (tls %s)' % (c.get('user'), c.get('address'), c.get('database'),
                                      'true' if c.get('ssl') else 'false')
        if text not in seen:
            seen.append(text)
        if not c.get('ssl') and c.get('address') not in ('127.0.0.1', '::1') and c.get('address') not in plain:
            plain.append(c.get('address'))
    return {'sessions': seen, 'remote_in_clear': plain}


class FilterModule(object):
    def filters(self):
        return {'path_entries': path_entries, 'pg_sessions': pg_sessions}
