"""Fixtures for the cluster verifier; helpers live in molecule/shared."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared"))

from conftest_lib import instance_fixture  # noqa: E402  (needs the path above)

gw1 = instance_fixture("cl-gw1", "gw1")
gw2 = instance_fixture("cl-gw2", "gw2")
db = instance_fixture("cl-db", "db")
hub = instance_fixture("cl-hub", "hub")
outsider = instance_fixture("cl-outsider", "outsider")
