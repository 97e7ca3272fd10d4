"""Fixtures for the default verifier; helpers live in molecule/shared."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared"))

from conftest_lib import instance_fixture, instance_name  # noqa: E402  (needs the path above)

# The trixie scenario runs these tests on its own instances (tx-gateway, ...).
gateway = instance_fixture(instance_name("gateway"), "gateway")
hub = instance_fixture(instance_name("hub"), "hub")
outsider = instance_fixture(instance_name("outsider"), "outsider")
