# -*- coding: utf-8 -*-
"""The collection tarball as `ansible-galaxy collection build` makes it from this checkout."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import subprocess

import pytest

from packaging_lib import BIN, ROOT, galaxy


@pytest.fixture(scope='session')
def tarball(tmp_path_factory):
    out = tmp_path_factory.mktemp('build')
    subprocess.run([str(BIN / 'ansible-galaxy'), 'collection', 'build', '--output-path', str(out), str(ROOT)],
                   check=True, capture_output=True, text=True)
    built = list(out.glob('*.tar.gz'))
    assert [p.name for p in built] == ['securemail-gateway-%s.tar.gz' % galaxy()['version']]
    return built[0]
