# -*- coding: utf-8 -*-
"""Which distributions the roles accept (plugins/filter/platform.py)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest
import yaml

from ansible.errors import AnsibleFilterError
from ansible_collections.securemail.gateway.plugins.filter import platform as pf

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..'))


def facts(dist, major, version=None, release=None):
    return {'distribution': dist, 'distribution_major_version': major, 'distribution_version': version or major,
            'distribution_release': release or 'NA'}


@pytest.mark.parametrize('host', [facts('Debian', '12', '12.11', 'bookworm'), facts('Debian', '13', '13.2', 'trixie'),
                                  facts('Debian', 13)])
def test_supported(host):
    assert pf.platform_problem(host, 'postfix') == ''


@pytest.mark.parametrize('host, found', [
    (facts('Debian', '11', '11.9', 'bullseye'), 'this host runs Debian 11.9 (bullseye).'),
    (facts('Debian', '14', 'n/a', 'forky'), 'this host runs Debian n/a (forky).'),
    (facts('Ubuntu', '24', '24.04', 'noble'), 'this host runs Ubuntu 24.04 (noble).'),
    (facts('Ubuntu', '12', '12.04'), 'this host runs Ubuntu 12.04.'),
    ({}, 'this host runs an unknown distribution (no distribution facts).'),
    ({'distribution': 'NA'}, 'this host runs an unknown distribution'),
])
def test_unsupported_names_what_was_found_what_is_supported_and_the_opt_in(host, found):
    message = pf.platform_problem(host, 'postgresql')
    assert message.startswith('securemail.gateway.postgresql supports Debian 12 (bookworm), Debian 13 (trixie); ')
    assert found in message
    assert 'postgresql_allow_unsupported_distribution: true' in message


def test_with_the_opt_in_the_message_says_the_role_tries_anyway():
    message = pf.platform_problem(facts('Debian', '14', 'n/a', 'forky'), 'postfix', allowed=True)
    assert message == ('securemail.gateway.postfix supports Debian 12 (bookworm), Debian 13 (trixie); this host runs '
                       'Debian n/a (forky). postfix_allow_unsupported_distribution is true: trying anyway with the '
                       'choices made for the newest supported release')
    assert pf.platform_problem(facts('Debian', '13'), 'postfix', allowed=True) == ''


def test_not_facts():
    with pytest.raises(AnsibleFilterError):
        pf.platform_problem(['Debian'], 'postfix')


@pytest.mark.parametrize('role', sorted(os.listdir(os.path.join(ROOT, 'roles'))))
def test_galaxy_platforms_and_release_vars_follow_the_supported_list(role):
    with open(os.path.join(ROOT, 'roles', role, 'meta', 'main.yml')) as handle:
        platforms = yaml.safe_load(handle)['galaxy_info']['platforms']
    assert {p['name']: sorted(p['versions']) for p in platforms} == \
        {dist: sorted(releases.values()) for dist, releases in pf.SUPPORTED.items()}
    release_vars = [name for name in os.listdir(os.path.join(ROOT, 'roles', role, 'vars')) if name != 'main.yml']
    if release_vars:
        # A role with per-release choices has them for every supported release.
        assert sorted(release_vars) == sorted('%s-%s.yml' % (dist, major) for dist, releases in pf.SUPPORTED.items()
                                              for major in releases)
