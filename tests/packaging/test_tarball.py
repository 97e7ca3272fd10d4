# -*- coding: utf-8 -*-
"""The built tarball holds what users need (galaxy.yml build_ignore) and nothing of the checkout's tooling."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import subprocess
import tarfile

import yaml

from packaging_lib import ROOT, galaxy

# Top-level entries a user gets. docs/ and examples/ ship: the README links into docs/, and
# examples/demo/inventory.yml is a whole-gateway inventory to start from.
SHIPPED = {'MANIFEST.json', 'FILES.json', 'README.md', 'LICENSE', 'CHANGELOG.rst', 'changelogs', 'docs', 'examples',
           'meta', 'playbooks', 'plugins', 'roles'}


def files(tarball):
    with tarfile.open(str(tarball)) as archive:
        return {member.name for member in archive.getmembers() if member.isfile()}


def test_only_what_users_need(tarball):
    top = {name.split('/')[0] for name in files(tarball)}
    assert top <= SHIPPED, sorted(top - SHIPPED)
    changelogs = {name for name in files(tarball) if name.startswith('changelogs/')}
    assert changelogs == {'changelogs/changelog.yaml', 'changelogs/config.yaml'}


def test_nothing_users_need_is_left_out(tarball):
    shipped = files(tarball)
    for name in ('LICENSE', 'README.md', 'CHANGELOG.rst', 'meta/runtime.yml', 'meta/execution-environment.yml',
                 'meta/bindep.txt', 'playbooks/site.yml', 'examples/demo/inventory.yml'):
        assert name in shipped
    tracked = subprocess.run(['git', 'ls-files', '--', 'roles', 'plugins', 'playbooks', 'meta', 'docs', 'examples'],
                             cwd=str(ROOT), check=True, capture_output=True, text=True).stdout.split()
    assert tracked
    assert sorted(set(tracked) - shipped) == []


def test_license_and_version(tarball):
    with tarfile.open(str(tarball)) as archive:
        manifest = json.load(archive.extractfile('MANIFEST.json'))['collection_info']
        license_text = archive.extractfile('LICENSE').read().decode()
        changelog = yaml.safe_load(archive.extractfile('changelogs/changelog.yaml'))
    assert manifest['license'] == ['GPL-3.0-or-later']
    assert 'GNU GENERAL PUBLIC LICENSE' in license_text and 'Version 3, 29 June 2007' in license_text
    # Every version built for users has its release in the changelog (`make changelog`).
    assert manifest['version'] == galaxy()['version']
    assert manifest['version'] in changelog['releases']
