"""Fixtures for test_trixie.py; default's tests (run here too) have their own conftest.py."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared"))

from conftest_lib import instance_fixture  # noqa: E402  (needs the path above)

gateway = instance_fixture("tx-gateway", "gateway")
hub = instance_fixture("tx-hub", "hub")
