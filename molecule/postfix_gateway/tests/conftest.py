"""Fixtures for the postfix_gateway verifier; helpers live in molecule/shared."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared"))

from conftest_lib import instance_fixture  # noqa: E402  (needs the path above)

gw = instance_fixture("gw")
hub = instance_fixture("hub")
outsider = instance_fixture("outsider")
spammer = instance_fixture("spammer")
dns = instance_fixture("dns")
