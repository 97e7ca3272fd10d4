"""Issue 6.5: secrets never leak.

A change that writes the smarthost SASL credentials and sets a new database
password runs with -vvv and --diff; neither secret may appear in Ansible's
output, in a group- or world-readable file the roles or their backups left,
or in the audit report.
"""

import json
import os
import subprocess
import sys

from conftest import ROOT, ansible_env, playbook_argv, save_result

SASL_SECRET = "Sasl-Pw-9d2e71"
DB_SECRET = "Db-Pw-51c0aa"
SECRETS = (SASL_SECRET, DB_SECRET)
# Where the roles write and back up (plus /tmp for scratch files).
PLACES = "/etc/postfix /etc/postgresql /etc/apache2 /var/backups /var/lib/postgresql/15/main/postgresql.auto.conf /tmp /root"


def test_no_secret_in_output_files_or_audit(gw, tmp_path):
    change = {"rl_roles": ["postgresql", "postfix"], "postgresql_db_password": DB_SECRET,
              "postfix_smtp_sasl_passwords": {"[smtp.example.org]:587": "relay-user:" + SASL_SECRET}}
    proc = subprocess.run(playbook_argv("apply.yml", change, ["-vvv", "--diff"]), capture_output=True, text=True,
                          env=ansible_env(), check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]

    # The change really happened: the table exists, the password works.
    assert gw.file("/etc/postfix/sasl_passwd").mode == 0o600
    assert gw.file("/etc/postfix/sasl_passwd.db").mode == 0o600
    assert "smtp_sasl_password_maps = hash:/etc/postfix/sasl_passwd" in gw.check_output("postconf -n")
    login = gw.run("PGPASSWORD=%s psql -h 127.0.0.1 -U quarantine -d quarantine -Atc 'select 1'" % DB_SECRET)
    assert login.rc == 0 and login.stdout.strip() == "1", login.stderr

    holders = {}
    for secret in SECRETS:
        found = gw.run("grep -rlF -- %s %s 2>/dev/null" % (secret, PLACES)).stdout.split()
        holders[secret] = {path: oct(gw.file(path).mode) for path in found}
    # The scan finds the one file that must hold the smarthost password, so a
    # broken grep cannot pass as "no leak"; the database password is handed
    # to PostgreSQL as a SCRAM verifier and is in no file at all.
    assert "/etc/postfix/sasl_passwd" in holders[SASL_SECRET], holders
    # Readable by a group or by others: both are a leak (0600 root is right).
    world_readable = [path for found in holders.values() for path, mode in found.items() if int(mode, 8) & 0o044]

    audit_dir = tmp_path / "audit"
    audit = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", os.environ["MOLECULE_INVENTORY_FILE"],
         str(ROOT / "playbooks" / "audit.yml"), "-e", "securemail_audit_dir=%s" % audit_dir, "-vvv"],
        capture_output=True, text=True, env=ansible_env(), check=False)
    audit_text = audit.stdout + audit.stderr + "".join(p.read_text() for p in audit_dir.glob("*") if p.is_file())

    result = {
        "verbose_output_bytes": len(output),
        "secret_in_ansible_output": [s for s in SECRETS if s in output],
        "files_holding_a_secret": holders,
        "group_or_world_readable_files_with_a_secret": world_readable,
        "audit_rc": audit.returncode,
        "secret_in_audit": [s for s in SECRETS if s in audit_text],
    }
    save_result("secrets", result)
    print(json.dumps(result, indent=2))
    assert result["secret_in_ansible_output"] == []
    assert world_readable == []
    assert audit.returncode == 0, audit.stdout[-3000:]
    assert result["secret_in_audit"] == []
