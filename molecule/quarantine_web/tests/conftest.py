"""Fixtures for the quarantine_web verifier; helpers live in molecule/shared."""

import sys
from pathlib import Path

import pytest
import testinfra

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared"))


@pytest.fixture(scope="module")
def gw():
    return testinfra.get_host("podman://qw-gw")


@pytest.fixture(scope="module")
def outsider():
    return testinfra.get_host("podman://qw-outsider")
