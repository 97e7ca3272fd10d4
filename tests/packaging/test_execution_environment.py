# -*- coding: utf-8 -*-
"""execution-environment.yml gives ansible-builder a build context with the built collection and its needs.

Building the image needs the base image's registry, which this machine cannot reach
(docs/packaging.md); `ansible-builder create` is everything before that.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import shutil
import subprocess

import pytest
import yaml

from packaging_lib import BIN, ROOT, galaxy


def run(*argv, **kwargs):
    proc = subprocess.run([str(a) for a in argv], capture_output=True, text=True, check=False, **kwargs)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return proc.stdout


@pytest.fixture(scope='module')
def context(tarball, tmp_path_factory):
    """The build context, with execution-environment.yml where it is and the tarball where `make tarball` puts it."""
    top = tmp_path_factory.mktemp('ee')
    shutil.copy(str(ROOT / 'execution-environment.yml'), str(top))
    (top / '.cache' / 'tarball').mkdir(parents=True)
    shutil.copy(str(tarball), str(top / '.cache' / 'tarball'))
    run(BIN / 'ansible-builder', 'create', '-f', top / 'execution-environment.yml', '-c', top / 'context')
    return top / 'context'


def test_builder_context(context, tarball):
    containerfile = (context / 'Containerfile').read_text()
    # The same ansible-core as the dev venv's, the line the whole test suite runs on.
    dev_core = re.search(r'^ansible-core==\S+', (ROOT / 'requirements-dev.txt').read_text(), re.M).group(0)
    assert re.search(r'^ARG ANSIBLE_INSTALL_REFS=".*%s[ "]' % re.escape(dev_core), containerfile, re.M)
    with open(str(context / '_build' / 'requirements.yml')) as stream:
        requirements = yaml.safe_load(stream)
    name = 'collections/securemail-gateway-%s.tar.gz' % galaxy()['version']
    assert requirements['collections'] == [{'name': name, 'type': 'file'}]
    assert (context / '_build' / name).read_bytes() == tarball.read_bytes()


def test_collection_declares_its_needs(context, tarball, tmp_path):
    """ansible-builder's own introspection of the installed tarball finds what meta/execution-environment.yml names."""
    # Only tmp_path searched: the checkout's link (make collection) would count as installed.
    run(BIN / 'ansible-galaxy', 'collection', 'install', '--offline', '-p', tmp_path, tarball,
        env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(tmp_path)))
    found = yaml.safe_load(run(BIN / 'python', context / '_build' / 'scripts' / 'introspect.py', 'introspect', tmp_path))
    assert found['python'] == []
    assert 'openssh-clients [platform:rpm]  # from collection securemail.gateway' in found['system']
