"""Two gateways, a shared quarantine database, an internal hub, and the fleet audit."""

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from conftest_lib import EXTERNAL, INTERNAL, address_by_prefix, pg_startup, send_mail

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def db_int(db):
    return address_by_prefix(db, INTERNAL)


@pytest.mark.parametrize("client", ["gw1", "gw2"])
def test_database_accepts_the_gateways(client, gw1, gw2, db_int):
    host = {"gw1": gw1, "gw2": gw2}[client]
    assert pg_startup(host, db_int) == "auth-requested"


@pytest.mark.parametrize("client", ["hub", "outsider"])
def test_database_refuses_others(client, hub, outsider, db_int):
    answer = pg_startup({"hub": hub, "outsider": outsider}[client], db_int)
    assert answer.startswith("rejected") or answer.startswith("refused"), answer
    if answer.startswith("rejected"):
        assert "no pg_hba.conf entry" in answer


@pytest.mark.parametrize("gateway", ["gw1", "gw2"])
def test_mail_through_either_gateway_reaches_the_hub(gateway, gw1, gw2, outsider, hub):
    ext = address_by_prefix({"gw1": gw1, "gw2": gw2}[gateway], EXTERNAL)
    subject = "cluster-%s-%s" % (gateway, uuid.uuid4().hex)
    outcome = send_mail(outsider, ext, 25, "sender@example.net", "alice@example.org", subject,
                        helo="outsider.example.net")
    assert outcome.startswith("250"), outcome
    deadline = time.time() + 60
    while time.time() < deadline and subject not in hub.run("cat /var/mail/root 2>/dev/null").stdout:
        time.sleep(1)
    assert subject in hub.run("cat /var/mail/root").stdout


def test_hub_accepts_smtp_only_from_the_gateways(outsider, hub):
    outcome = send_mail(outsider, address_by_prefix(hub, INTERNAL), 25, "sender@example.net",
                        "alice@example.org", "x", helo="outsider.example.net")
    assert outcome.startswith("554") or outcome.startswith("550"), outcome


def audit(tmp_path):
    env = dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_HOST_KEY_CHECKING="0")
    proc = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", os.environ["MOLECULE_INVENTORY_FILE"],
         str(ROOT / "playbooks" / "audit.yml"), "-e", "securemail_audit_dir=%s" % tmp_path],
        capture_output=True, text=True, env=env, check=False)
    results = {p.stem: json.loads(p.read_text()) for p in Path(tmp_path).glob("*.json")}
    return proc, results


def failed_checks(results):
    return {host: sorted(c["check"] for c in r["checks"] if not c["ok"]) for host, r in results.items()
            if any(not c["ok"] for c in r["checks"])}


def test_audit_passes_then_names_exactly_what_was_broken(tmp_path, gw2, db):
    proc, results = audit(tmp_path / "clean")
    print((tmp_path / "clean" / "report.md").read_text() if (tmp_path / "clean" / "report.md").exists() else "")
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert sorted(results) == ["cl-db", "cl-gw1", "cl-gw2", "cl-hub"]
    assert failed_checks(results) == {}
    html = (tmp_path / "clean" / "report.html").read_text()
    assert html.count('class="pass"') >= 8 and 'class="fail"' not in html

    # Break two hosts on purpose: VRFY back on gw2, PostgreSQL on every address on db.
    assert gw2.run("postconf -e disable_vrfy_command=no && postfix reload").rc == 0
    broke = db.run("runuser -u postgres -- psql -Xc \"ALTER SYSTEM SET listen_addresses = '*'\" && service postgresql restart")
    assert broke.rc == 0, broke.stderr
    time.sleep(3)
    proc, results = audit(tmp_path / "broken")
    report = (tmp_path / "broken" / "report.md").read_text()
    print(report)
    assert proc.returncode != 0
    assert failed_checks(results) == {"cl-db": ["exposure", "postgresql"], "cl-gw2": ["smtp"]}
    assert "VRFY" in report and "0.0.0.0" in report
