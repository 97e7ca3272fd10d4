"""Fixtures for the postfix_null_client verifier; helpers live in molecule/shared."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared"))

from conftest_lib import instance_fixture  # noqa: E402  (needs the path above)

nc = instance_fixture("nc")
smarthost = instance_fixture("smarthost")
