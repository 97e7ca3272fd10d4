# -*- coding: utf-8 -*-
"""Role variables, defaults, argument specs and READMEs agree."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess
import sys

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROLES = sorted(d for d in os.listdir(os.path.join(ROOT, 'roles'))
               if os.path.exists(os.path.join(ROOT, 'roles', d, 'meta', 'argument_specs.yml')))


def load(role, *path):
    with open(os.path.join(ROOT, 'roles', role, *path)) as handle:
        return yaml.safe_load(handle) or {}


def test_there_are_roles():
    assert 'postfix' in ROLES


@pytest.mark.parametrize('role', ROLES)
def test_defaults_and_specs_agree(role):
    defaults = load(role, 'defaults', 'main.yml')
    options = load(role, 'meta', 'argument_specs.yml')['argument_specs']['main']['options']
    assert set(defaults) == set(options), set(defaults) ^ set(options)
    for name, opt in options.items():
        assert name.startswith(role + '_'), '%s is not prefixed with the role name' % name
        assert opt.get('description'), '%s has no description' % name
        assert opt.get('default') == defaults[name], '%s: spec default differs from defaults/main.yml' % name


def test_readmes_are_current():
    proc = subprocess.run([sys.executable, os.path.join(ROOT, 'scripts', 'role_docs.py'), '--check'],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
