"""Fixtures for the default (whole gateway) verifier; helpers live in molecule/shared."""

import sys
from pathlib import Path

import pytest
import testinfra

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared"))


@pytest.fixture(scope="module")
def gateway():
    return testinfra.get_host("podman://gateway")


@pytest.fixture(scope="module")
def hub():
    return testinfra.get_host("podman://hub")


@pytest.fixture(scope="module")
def outsider():
    return testinfra.get_host("podman://outsider")
