"""What an admin checks by hand on the quarantine database host and from outside."""

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest_lib import EXTERNAL, INTERNAL, address_by_prefix, check_mode_changes, connect_outcome, listeners

SCENARIO = Path(__file__).resolve().parents[1]
PASSWORD = yaml.safe_load((SCENARIO / "vars" / "pg-db.yml").read_text())["postgresql_db_password"]
CONF_DIR = "/etc/postgresql/15/main"
PORT = 5432


@pytest.fixture(scope="module")
def db_ext(db):
    return address_by_prefix(db, EXTERNAL)


@pytest.fixture(scope="module")
def db_int(db):
    return address_by_prefix(db, INTERNAL)


def sql(host, query, database="postgres"):
    """Run a query as the postgres superuser over the socket; return stdout."""
    return host.check_output("echo %s | runuser -u postgres -- psql -X -At -v ON_ERROR_STOP=1 -d %s"
                             % (shlex.quote(query), database))


def login(host, addr, password, database="quarantine", user="quarantine", query="SELECT current_user", **libpq):
    """psql over TCP as the quarantine role; the password only in the environment.

    libpq: more PG* environment variables, e.g. sslmode="disable" for PGSSLMODE.
    """
    env = "PGPASSWORD=%s " % shlex.quote(password) if password is not None else "PGPASSWORD= "
    env += "".join("PG%s=%s " % (name.upper().replace("_", ""), shlex.quote(value)) for name, value in libpq.items())
    return host.run(env + "psql -X -w -At -h %s -p %d -U %s -d %s -c %s"
                    % (addr, PORT, user, database, shlex.quote(query)))


def localhost_has_ipv6(host):
    kernel = "00000000000000000000000000000001" in host.file("/proc/net/if_inet6").content_string \
        if host.file("/proc/net/if_inet6").exists else False
    return kernel and "::1" in host.run("getent ahosts localhost").stdout


def bound(host):
    return {addr for proto, addr, port, _proc in listeners(host) if proto == "tcp" and port == PORT}


def test_check_mode_predicts_no_change_on_the_converged_host():
    # First in the file, before any test changes the hosts: after converge
    # and idempotence, --check --diff must predict exactly nothing.
    assert check_mode_changes(__file__) == []


def test_port_bound_exactly_on_loopback_and_internal(db, db_int, db_ext):
    expected = {"127.0.0.1", db_int} | ({"::1"} if localhost_has_ipv6(db) else set())
    assert bound(db) == expected
    for wildcard in ("0.0.0.0", "*", "::", db_ext):
        assert wildcard not in bound(db)


def test_outsider_refused_on_external_address(outsider, db_ext):
    # Refused (an RST), not timed out: the address is there, nothing listens on it.
    assert connect_outcome(outsider, db_ext, PORT) == "refused"


def test_internal_address_reachable_from_inside(db, db_int):
    assert connect_outcome(db, db_int, PORT) == "connected"


def test_running_server_uses_the_rendered_listen_addresses(db, db_int):
    assert sql(db, "SHOW listen_addresses") == "localhost,%s" % db_int
    assert sql(db, "SELECT source || '|' || sourcefile FROM pg_settings WHERE name = 'listen_addresses'") \
        == "configuration file|%s/postgresql.conf" % CONF_DIR


def test_no_trust_on_host_lines(db):
    for line in db.file(CONF_DIR + "/pg_hba.conf").content_string.splitlines():
        fields = line.split("#", 1)[0].split()
        if fields and fields[0].startswith("host"):
            assert fields[-1] != "trust", line
    assert sql(db, "SELECT count(*) FROM pg_hba_file_rules WHERE auth_method = 'trust' OR error IS NOT NULL") == "0"


def test_remote_lines_are_the_quarantine_database_only_over_tls(db, db_int):
    net = db_int.rsplit(".", 1)[0] + ".0/24"
    rules = sql(db, "SELECT type, array_to_string(database, ','), array_to_string(user_name, ','), address, netmask,"
                    " auth_method FROM pg_hba_file_rules WHERE type LIKE 'host%' AND address NOT IN ('127.0.0.1', '::1')"
                ).splitlines()
    # The owner, the content filter and the web application: no other role.
    assert rules == ["hostssl|quarantine|quarantine,quarantine_filter,quarantine_web|%s|255.255.255.0|scram-sha-256"
                     % net.split("/")[0]]


def test_no_remote_line_without_tls(db):
    assert sql(db, "SELECT count(*) FROM pg_hba_file_rules WHERE type IN ('host', 'hostnossl') "
                   "AND auth_method <> 'reject' AND address NOT IN ('127.0.0.1', '::1')") == "0"


def test_cleartext_login_refused(db, db_int):
    result = login(db, db_int, PASSWORD, sslmode="disable")
    assert result.rc != 0 and "no pg_hba.conf entry" in result.stderr and "no encryption" in result.stderr, \
        result.stderr


def test_tls_settings_in_effect(db):
    assert sql(db, "SHOW ssl") == "on"
    assert sql(db, "SHOW ssl_min_protocol_version") == "TLSv1.2"
    ciphers = sql(db, "SHOW ssl_ciphers").split(":")
    assert ciphers and all(c.startswith(("ECDHE-", "DHE-")) and ("GCM" in c or "CHACHA20" in c) for c in ciphers)


def test_tls_1_2_login_is_forward_secret(db, db_int):
    result = login(db, db_int, PASSWORD, sslmode="require", ssl_max_protocol_version="TLSv1.2",
                   query="SELECT version || ' ' || cipher FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
    assert result.rc == 0, result.stderr
    version, cipher = result.stdout.split()
    assert version == "TLSv1.2" and cipher.startswith(("ECDHE-", "DHE-")), result.stdout


def test_password_encryption_is_scram(db):
    assert sql(db, "SHOW password_encryption") == "scram-sha-256"
    assert sql(db, "SELECT rolpassword LIKE 'SCRAM-SHA-256$%' FROM pg_authid WHERE rolname = 'quarantine'") == "t"


def test_connections_are_logged(db):
    assert sql(db, "SHOW log_connections") == "on"
    assert sql(db, "SHOW log_disconnections") == "on"


@pytest.mark.parametrize("name", ["postgresql.conf", "pg_hba.conf"])
def test_config_files_owned_by_postgres_0640(db, name):
    f = db.file("%s/%s" % (CONF_DIR, name))
    assert f.user == "postgres" and f.group == "postgres" and f.mode == 0o640


def test_quarantine_role_logs_in_over_tcp_with_its_password(db, db_int):
    result = login(db, db_int, PASSWORD)
    assert result.rc == 0 and result.stdout.strip() == "quarantine", result.stderr


def test_no_password_no_login(db, db_int):
    result = login(db, db_int, None)
    assert result.rc != 0 and "no password supplied" in result.stderr


def test_wrong_password_refused(db, db_int):
    result = login(db, db_int, "not-" + PASSWORD)
    assert result.rc != 0 and "password authentication failed" in result.stderr


def test_other_databases_not_reachable_from_the_network(db, db_int):
    result = login(db, db_int, PASSWORD, database="postgres")
    assert result.rc != 0 and "no pg_hba.conf entry" in result.stderr


def test_database_closed_to_other_roles(db):
    assert sql(db, "SELECT has_database_privilege('public', 'quarantine', 'CONNECT')") == "f"


# Failure cases: the role must stop with a message naming the problem and
# leave the live files as they were.

def run_role(extra_vars):
    env = dict(os.environ, ANSIBLE_FORCE_COLOR="false", ANSIBLE_HOST_KEY_CHECKING="0",
               ANSIBLE_PYTHON_INTERPRETER="/usr/bin/python3")
    playbook = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    proc = subprocess.run([playbook, "-i", "pg-db,", "-c", "containers.podman.podman", str(SCENARIO / "negative.yml"),
                           "-e", json.dumps(extra_vars)], capture_output=True, text=True, env=env, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def checksums(host):
    return host.check_output("sha256sum %s/postgresql.conf %s/pg_hba.conf" % (CONF_DIR, CONF_DIR))


def test_bad_parameter_rejected_before_going_live(db):
    before = checksums(db)
    rc, out = run_role({"postgresql_extra_parameters": {"work_mem": "lots"}})
    assert rc != 0 and "rejected by PostgreSQL" in out and "work_mem" in out, out[-3000:]
    assert checksums(db) == before


def test_trust_over_tcp_refused(db):
    before = checksums(db)
    rc, out = run_role({"postgresql_hba_extra": [
        {"type": "host", "database": "all", "user": "all", "address": "0.0.0.0/0", "method": "trust"}]})
    assert rc != 0 and "postgresql_allow_trust_over_tcp" in out, out[-3000:]
    assert checksums(db) == before


def test_drifted_privileges_and_powers_are_put_back(db):
    # An admin's hand-made grant, a power and a membership, then the role:
    # pg_quarantine takes back exactly them and leaves the owner's own.
    sql(db, "GRANT DELETE ON msgs TO quarantine_web; GRANT SELECT ON quarantine TO PUBLIC;"
            " ALTER ROLE quarantine_filter CREATEDB; GRANT quarantine TO quarantine_filter", "quarantine")
    rc, out = run_role({})
    assert rc == 0, out[-3000:]
    for action in ("revoke DELETE on msgs from quarantine_web", "revoke SELECT on quarantine from PUBLIC",
                   "take NOCREATEDB from quarantine_filter", "revoke membership of quarantine_filter in quarantine"):
        assert action in out, out[-3000:]
    assert sql(db, "SELECT has_table_privilege('quarantine_web', 'msgs', 'DELETE'),"
                   " has_table_privilege('public', 'quarantine', 'SELECT'),"
                   " (SELECT rolcreatedb FROM pg_roles WHERE rolname = 'quarantine_filter'),"
                   " pg_has_role('quarantine_filter', 'quarantine', 'MEMBER'),"
                   " has_table_privilege('quarantine_web', 'msgs', 'SELECT')", "quarantine") == "f|f|f|f|t"


def test_a_failing_migration_changes_nothing(db):
    migrations = [{"version": 1, "name": "amavisd storage", "sql": "SELECT 1"},
                  {"version": 2, "name": "broken", "sql": "CREATE TABLE half_made (x int); SELECT no_such_column FROM msgs"}]
    rc, out = run_role({"postgresql__migrations": migrations})
    assert rc != 0 and "no_such_column" in out, out[-3000:]
    assert sql(db, "SELECT max(version), to_regclass('public.half_made') IS NULL FROM securemail_schema",
               "quarantine") == "1|t"


def test_conf_d_override_is_found(db):
    override = CONF_DIR + "/conf.d/zz-override.conf"
    db.check_output("echo \"listen_addresses = '*'\" > %s && pg_ctlcluster 15 main restart" % override)
    try:
        rc, out = run_role({})
        assert rc != 0 and "zz-override.conf" in out and "NOT taken from" in out, out[-3000:]
    finally:
        db.check_output("rm -f %s && pg_ctlcluster 15 main restart" % override)
    assert "0.0.0.0" not in bound(db)


# Issue 12: what opens the database up is refused before anything changes,
# each case on its own inventory host (all of them pg-db, one playbook run),
# and each opt-in lets its case through (check mode: nothing changes).
KEY_0644 = "/root/pg-case-0644.key"


def hba(type_, address):
    return [{"type": type_, "database": "quarantine", "user": "quarantine", "address": address,
             "method": "scram-sha-256"}]


REFUSED = [
    ("postgresql_allowed_hosts", {"postgresql_allowed_hosts": ["0.0.0.0/0"]}),
    ("postgresql_allowed_hosts", {"postgresql_allowed_hosts": ["203.0.113.0/24"]}),
    ("postgresql_hba_extra", {"postgresql_hba_extra": hba("hostssl", "198.51.100.0/24")}),
    ("postgresql_hba_extra", {"postgresql_hba_extra": hba("host", "10.0.0.0/8")}),
    ("postgresql_ssl", {"postgresql_ssl": False}),
    ("postgresql_extra_parameters", {"postgresql_extra_parameters": {"ssl_ciphers": "ALL:eNULL"}}),
    ("postgresql_extra_parameters", {"postgresql_extra_parameters": {"ssl_min_protocol_version": "TLSv1"}}),
    ("postgresql_ssl_key_file", {"postgresql_ssl_key_file": KEY_0644}),
]
OPT_INS = [
    {"postgresql_allowed_hosts": ["203.0.113.0/24"], "postgresql_allow_public_networks": ["203.0.113.0/24"]},
    {"postgresql_hba_extra": hba("host", "10.0.0.0/8"), "postgresql_allow_remote_without_tls": True},
]


def run_cases(cases, tmp_path, *options):
    """cases.yml once, one inventory host (pg-db) per dict of variables, vars/pg-db.yml below them.

    Returns, per case: [failure message or None, tasks that changed, WARNING tasks that ran].
    """
    hosts = {"case-%02d" % i: dict(variables, ansible_host="pg-db", ansible_connection="containers.podman.podman",
                                   ansible_python_interpreter="/usr/bin/python3")
             for i, variables in enumerate(cases)}
    inventory = tmp_path / "cases.yml"
    base = yaml.safe_load((SCENARIO / "vars" / "pg-db.yml").read_text())
    inventory.write_text(yaml.safe_dump({"all": {"vars": base, "hosts": hosts}}))
    env = dict(os.environ, ANSIBLE_FORCE_COLOR="false", ANSIBLE_HOST_KEY_CHECKING="0",
               ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_LOAD_CALLBACK_PLUGINS="1")
    playbook = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    proc = subprocess.run([playbook, "-i", str(inventory), str(SCENARIO / "cases.yml")] + list(options),
                          capture_output=True, text=True, env=env, check=False)
    report = json.loads(proc.stdout)
    out = {host: [None, [], []] for host in hosts}
    for play in report["plays"]:
        for task in play["tasks"]:
            for host, result in task["hosts"].items():
                if result.get("changed"):
                    out[host][1].append(task["task"]["name"])
                if result.get("failed") and out[host][0] is None:
                    items = [r.get("msg", "") for r in result.get("results", []) if r.get("failed")]
                    out[host][0] = " ".join(items) or result.get("msg", "")
                if "WARNING" in task["task"]["name"] and not result.get("skipped"):
                    out[host][2].append(task["task"]["name"])
    return [out["case-%02d" % i] for i in range(len(cases))]


def test_dangerous_input_refused_before_any_change(db, tmp_path):
    db.check_output("install -m 0644 /etc/ssl/private/ssl-cert-snakeoil.key %s" % KEY_0644)
    before = checksums(db)
    try:
        results = run_cases([variables for _name, variables in REFUSED], tmp_path, "-f", "4")
    finally:
        db.run("rm -f %s" % KEY_0644)
    for (name, variables), (message, changed, _warnings) in zip(REFUSED, results):
        assert message is not None and message.startswith(name), (variables, message)
        assert changed == [], (variables, changed)
    assert checksums(db) == before


def test_opt_ins_let_their_case_through(db, tmp_path):
    before = checksums(db)
    # Check mode: validation passes and the engine predicts the change. One
    # fork, so the engine's per-host lock is never contended.
    results = run_cases(OPT_INS, tmp_path, "--check", "-f", "1")
    for variables, (message, _changed, warnings) in zip(OPT_INS, results):
        assert message is None, (variables, message)
        assert len(warnings) == 1, (variables, warnings)
    assert checksums(db) == before
