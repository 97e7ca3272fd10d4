# -*- coding: utf-8 -*-
# Copyright: securemail.gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one place that says which distributions the roles support.

Each role asks first, before any task that changes the host, so that a host
the roles were never tested on fails with a message naming what it runs and
what is supported, instead of half-way through an install with an apt or a
path error.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

# Distribution -> major release -> code name. The roles' per-release choices
# (roles/*/vars/<Distribution>-<major>.yml) exist for exactly these.
SUPPORTED = {
    'Debian': {'12': 'bookworm', '13': 'trixie'},
}


def supported_platforms():
    """The supported releases as text, e.g. "Debian 12 (bookworm), Debian 13 (trixie)"."""
    return ', '.join('%s %s (%s)' % (dist, major, name)
                     for dist, releases in sorted(SUPPORTED.items())
                     for major, name in sorted(releases.items(), key=lambda item: int(item[0])))


def platform_problem(facts, role, allowed=False):
    """Why ``role`` does not support the host whose ``ansible_facts`` are ``facts``; '' when it does.

    ``allowed``: the role's opt-in is set, and the message says the role tries anyway instead of how to.
    """
    if not isinstance(facts, dict):
        raise AnsibleFilterError('platform_problem expects ansible_facts (a dict), got %s' % type(facts).__name__)
    dist = facts.get('distribution')
    major = str(facts.get('distribution_major_version', ''))
    if not dist or dist == 'NA':
        found = 'an unknown distribution (no distribution facts)'
    elif major in SUPPORTED.get(dist, {}):
        return ''
    else:
        release = facts.get('distribution_release')
        found = '%s %s%s' % (dist, facts.get('distribution_version') or major or '(no version)',
                             ' (%s)' % release if release and release != 'NA' else '')
    newest = 'the choices made for the newest supported release'
    if allowed:
        then = '%s_allow_unsupported_distribution is true: trying anyway with %s' % (role, newest)
    else:
        then = 'Set %s_allow_unsupported_distribution: true to try anyway (the role then uses %s)' % (role, newest)
    return 'securemail.gateway.%s supports %s; this host runs %s. %s' % (role, supported_platforms(), found, then)


class FilterModule(object):
    def filters(self):
        return {
            'platform_problem': platform_problem,
        }
