"""Fixtures for the cluster verifier; helpers live in molecule/shared."""

import sys
from pathlib import Path

import pytest
import testinfra

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared"))


@pytest.fixture(scope="module")
def gw1():
    return testinfra.get_host("podman://cl-gw1")


@pytest.fixture(scope="module")
def gw2():
    return testinfra.get_host("podman://cl-gw2")


@pytest.fixture(scope="module")
def db():
    return testinfra.get_host("podman://cl-db")


@pytest.fixture(scope="module")
def hub():
    return testinfra.get_host("podman://cl-hub")


@pytest.fixture(scope="module")
def outsider():
    return testinfra.get_host("podman://cl-outsider")
