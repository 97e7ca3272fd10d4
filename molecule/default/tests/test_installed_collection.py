"""default converges the collection installed from the built tarball, not the checkout.

`make tarball` builds it with `ansible-galaxy collection build` (galaxy.yml
build_ignore) and installs it into an empty .cache/tarball-collections; the
scenario's provisioner env points ANSIBLE_COLLECTIONS_PATH there, and the
verifier runs with that env too, so ansible here resolves what converge did.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml


def test_collection_is_the_installed_tarball():
    if os.environ.get("MOLECULE_SCENARIO_NAME") != "default":
        pytest.skip("only default runs from the tarball")
    project = Path(os.environ["MOLECULE_PROJECT_DIRECTORY"])
    installed = project / ".cache" / "tarball-collections"
    assert os.environ["ANSIBLE_COLLECTIONS_PATH"] == str(installed)
    collection = installed / "ansible_collections" / "securemail" / "gateway"
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-doc"), "--json", "-t", "module",
                           "securemail.gateway.postconf"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    resolved = Path(json.loads(proc.stdout)["securemail.gateway.postconf"]["doc"]["filename"]).resolve()
    # resolve(): through the checkout's link (make collection) this would land in the checkout.
    assert resolved == collection / "plugins" / "modules" / "postconf.py"
    assert not collection.is_symlink()
    # MANIFEST.json exists only in a built collection; the checkout has galaxy.yml instead.
    manifest = json.loads((collection / "MANIFEST.json").read_text())["collection_info"]
    with open(project / "galaxy.yml") as stream:
        assert manifest["version"] == yaml.safe_load(stream)["version"]
    assert not (collection / "Makefile").exists() and not (collection / "tests").exists()
