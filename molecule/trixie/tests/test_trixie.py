"""What the trixie scenario adds to default's tests (which run here too, on tx-gateway, tx-hub, tx-outsider):
the hosts really are Debian 13 with its Postfix and PostgreSQL, and the audit passes on them."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_the_hosts_run_debian_13_with_its_postfix_and_postgresql(gateway, hub):
    for host in (gateway, hub):
        assert host.check_output(". /etc/os-release && echo $VERSION_CODENAME") == "trixie"
        assert host.check_output("postconf -h mail_version").startswith("3.10.")
    # The role chose Debian 13's PostgreSQL from the facts, and that cluster runs.
    assert gateway.check_output("pg_lsclusters -h").split()[:4] == ["17", "main", "5432", "online"]


def test_the_audit_passes(tmp_path):
    env = dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_HOST_KEY_CHECKING="0")
    proc = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", os.environ["MOLECULE_INVENTORY_FILE"],
         str(ROOT / "playbooks" / "audit.yml"), "-e", "securemail_audit_dir=%s" % tmp_path],
        capture_output=True, text=True, env=env, check=False)
    results = {p.stem: json.loads(p.read_text()) for p in tmp_path.glob("*.json")}
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert sorted(results) == ["tx-gateway", "tx-hub"]
    failed = {host: [c["check"] for c in r["checks"] if not c["ok"]] for host, r in results.items()}
    assert failed == {"tx-gateway": [], "tx-hub": []}, failed
    # The checks that read PostgreSQL's and Apache's files ran on the gateway.
    assert {c["check"] for c in results["tx-gateway"]["checks"]} >= {"pg_hba", "postgresql tls", "document root"}


def test_freshclam_keeps_the_signatures_of_the_pipeline_and_not_clamavs_own(gateway):
    conf = gateway.file("/etc/clamav/freshclam.conf")
    assert (conf.user, conf.group, conf.mode) == ("clamav", "adm", 0o444)
    lines = conf.content_string.splitlines()
    assert "DatabaseCustomURL file:///srv/securemail-signatures/securemail-test.hdb" in lines
    assert {"ExcludeDatabase main", "ExcludeDatabase daily", "ExcludeDatabase bytecode"} <= set(lines)
    # freshclam's copy is the pipeline's file, and it fetched nothing else.
    fetched = gateway.file("/var/lib/clamav/securemail-test.hdb")
    assert fetched.user == "clamav"
    assert fetched.content_string == gateway.file("/srv/securemail-signatures/securemail-test.hdb").content_string
    databases = gateway.check_output("ls /var/lib/clamav").split()
    assert not [d for d in databases if d.split(".")[0] in ("main", "daily", "bytecode")], databases
    # The daemon keeps it current, as clamav; default's tests show clamd finding EICAR with it.
    assert gateway.check_output("ps -o user= -C freshclam").split() == ["clamav"]
