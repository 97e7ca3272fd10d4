# -*- coding: utf-8 -*-
"""Paths and galaxy.yml for the packaging tests (imported by name: tests/unit has a conftest.py too)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def galaxy():
    with open(str(ROOT / 'galaxy.yml')) as stream:
        return yaml.safe_load(stream)
