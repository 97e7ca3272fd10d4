# -*- coding: utf-8 -*-
"""Shared by the module unit tests: run a module's main() with arguments, as Ansible would."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest


@pytest.fixture
def run_main(capsys):
    """run_main(module, args) -> (exit code, the JSON result the module printed)."""
    testing = pytest.importorskip('ansible.module_utils.testing')

    def run(module, args):
        with testing.patch_module_args(args):
            with pytest.raises(SystemExit) as done:
                module.main()
        return done.value.code, json.loads(capsys.readouterr().out)
    return run
