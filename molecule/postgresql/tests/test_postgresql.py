"""What an admin checks by hand on the quarantine database host and from outside."""

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest_lib import EXTERNAL, INTERNAL, address_by_prefix, can_connect, listeners

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


def sql(host, query):
    """Run a query as the postgres superuser over the socket; return stdout."""
    return host.check_output("echo %s | runuser -u postgres -- psql -X -At -d postgres" % shlex.quote(query))


def login(host, addr, password, database="quarantine", user="quarantine"):
    """psql over TCP as the quarantine role; the password only in the environment."""
    env = "PGPASSWORD=%s " % shlex.quote(password) if password is not None else "PGPASSWORD= "
    return host.run(env + "psql -X -w -At -h %s -p %d -U %s -d %s -c 'SELECT current_user'"
                    % (addr, PORT, user, database))


def localhost_has_ipv6(host):
    kernel = "00000000000000000000000000000001" in host.file("/proc/net/if_inet6").content_string \
        if host.file("/proc/net/if_inet6").exists else False
    return kernel and "::1" in host.run("getent ahosts localhost").stdout


def bound(host):
    return {addr for proto, addr, port, _proc in listeners(host) if proto == "tcp" and port == PORT}


def test_port_bound_exactly_on_loopback_and_internal(db, db_int, db_ext):
    expected = {"127.0.0.1", db_int} | ({"::1"} if localhost_has_ipv6(db) else set())
    assert bound(db) == expected
    for wildcard in ("0.0.0.0", "*", "::", db_ext):
        assert wildcard not in bound(db)


def test_outsider_refused_on_external_address(outsider, db_ext):
    assert not can_connect(outsider, db_ext, PORT)


def test_internal_address_reachable_from_inside(db, db_int):
    assert can_connect(db, db_int, PORT)


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


def test_remote_lines_are_the_quarantine_database_only(db, db_int):
    net = db_int.rsplit(".", 1)[0] + ".0/24"
    rules = sql(db, "SELECT type, database[1], user_name[1], address, netmask, auth_method FROM pg_hba_file_rules "
                    "WHERE type = 'host' AND address NOT IN ('127.0.0.1', '::1')").splitlines()
    assert rules == ["host|quarantine|quarantine|%s|255.255.255.0|scram-sha-256" % net.split("/")[0]]


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


def test_conf_d_override_is_found(db):
    override = CONF_DIR + "/conf.d/zz-override.conf"
    db.check_output("echo \"listen_addresses = '*'\" > %s && pg_ctlcluster 15 main restart" % override)
    try:
        rc, out = run_role({})
        assert rc != 0 and "zz-override.conf" in out and "NOT taken from" in out, out[-3000:]
    finally:
        db.check_output("rm -f %s && pg_ctlcluster 15 main restart" % override)
    assert "0.0.0.0" not in bound(db)
