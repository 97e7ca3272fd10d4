"""Fixtures for the postfix_null_client verifier; helpers live in molecule/shared."""

import sys
from pathlib import Path

import pytest
import testinfra

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared"))


@pytest.fixture(scope="module")
def nc():
    return testinfra.get_host("podman://nc")


@pytest.fixture(scope="module")
def smarthost():
    return testinfra.get_host("podman://smarthost")
