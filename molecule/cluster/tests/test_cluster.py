"""Two gateways, a shared quarantine database, an internal hub, and the fleet audit."""

import json
import os
import shlex
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from conftest_lib import (EICAR, EXTERNAL, GTUBE, INTERNAL, Browser, address_by_prefix, check_mode_changes,
                          delivered_count, quarantine_passwords, quarantine_sql, send_mail, send_to_alice, stored_row)

ROOT = Path(__file__).resolve().parents[3]
PASSWORDS = quarantine_passwords(__file__, "cl-db")
GATEWAY_NAMES = {"gw1": "gw1.example.test", "gw2": "gw2.example.test"}

# The database takes the gateways over TLS only (hostssl), so the startup
# asks for TLS first (SSLRequest), as psql with sslmode=require does.
_PG_TLS_STARTUP = r"""
import socket, ssl, struct, sys
addr, port, user, db = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
try:
    s = socket.create_connection((addr, port), timeout=5)
except OSError as e:
    print("no-connection", type(e).__name__, e)
    sys.exit(0)
s.sendall(struct.pack("!ii", 8, 80877103))
if s.recv(1) != b"S":
    print("no-tls")
    sys.exit(0)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
s = ctx.wrap_socket(s)
params = b"user\0" + user.encode() + b"\0database\0" + db.encode() + b"\0\0"
s.sendall(struct.pack("!ii", 8 + len(params), 196608) + params)
kind = s.recv(1)
body = s.recv(4096)
if kind == b"R":
    print("auth-requested", s.version())
elif kind == b"E":
    print("rejected", body.decode("utf-8", "replace").replace("\0", " "))
else:
    print("other", kind)
"""


def pg_tls_startup(host, addr, port=5432, user="quarantine", db="quarantine"):
    """From ``host``, a PostgreSQL session over TLS up to authentication: "auth-requested TLSv1.3", "rejected ..."."""
    args = " ".join(shlex.quote(str(a)) for a in (addr, port, user, db))
    return host.run("python3 - %s <<'PYEOF'\n%s\nPYEOF" % (args, _PG_TLS_STARTUP)).stdout.strip()


@pytest.fixture(scope="module")
def db_int(db):
    return address_by_prefix(db, INTERNAL)


def test_check_mode_predicts_no_change_on_the_converged_host():
    # First in the file, before any test changes the hosts: after converge
    # and idempotence, --check --diff must predict exactly nothing.
    assert check_mode_changes(__file__) == []


@pytest.mark.parametrize("client", ["gw1", "gw2"])
def test_database_accepts_the_gateways_over_tls(client, gw1, gw2, db_int):
    host = {"gw1": gw1, "gw2": gw2}[client]
    assert pg_tls_startup(host, db_int) in ("auth-requested TLSv1.2", "auth-requested TLSv1.3")


@pytest.mark.parametrize("client", ["hub", "outsider"])
def test_database_refuses_others(client, hub, outsider, db_int):
    # The server listens on db_int, so both get as far as PostgreSQL, and
    # pg_hba.conf (the gateways' addresses only) turns them away. A connection
    # that fails for any other reason proves nothing about pg_hba.conf.
    answer = pg_tls_startup({"hub": hub, "outsider": outsider}[client], db_int)
    assert answer.startswith("rejected") and "no pg_hba.conf entry" in answer, answer


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


def test_the_trace_playbook_follows_mail_across_the_gateways(outsider, gw1, gw2, hub):
    # One message through each gateway from one sender; the fleet playbook
    # must find each on the gateway that took it, delivered to the hub.
    sender = "trace-%s@example.net" % uuid.uuid4().hex[:10]
    for gateway, host in (("gw1", gw1), ("gw2", gw2)):
        outcome = send_mail(outsider, address_by_prefix(host, EXTERNAL), 25, sender, "alice@example.org",
                            "trace-" + sender, helo="outsider.example.net")
        assert outcome.startswith("250"), outcome
    deadline = time.time() + 60
    while time.time() < deadline and hub.run("grep -c '^Subject: trace-%s' /var/mail/root" % sender).stdout.strip() != "2":
        time.sleep(1)
    env = dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_HOST_KEY_CHECKING="0", ANSIBLE_STDOUT_CALLBACK="json",
               ANSIBLE_LOAD_CALLBACK_PLUGINS="1")
    proc = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", os.environ["MOLECULE_INVENTORY_FILE"],
         str(ROOT / "playbooks" / "trace.yml"), "-e", "trace_sender=%s" % sender],
        capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    read = json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]
    assert sorted(read) == ["cl-gw1", "cl-gw2"]
    for host, result in read.items():
        assert result["summary"]["accepted"] == 1 and result["summary"]["delivered"] == 1, (host, result)
        message = result["messages"][0]
        assert message["sender"] == sender and message["outcome"] == "delivered", message


def test_hub_accepts_smtp_only_from_the_gateways(outsider, hub):
    outcome = send_mail(outsider, address_by_prefix(hub, INTERNAL), 25, "sender@example.net",
                        "alice@example.org", "x", helo="outsider.example.net")
    assert outcome.startswith("554") or outcome.startswith("550"), outcome


# The shared quarantine (issue 14): both gateways store what they hold in the
# database on cl-db; the one application there lists all of it and releases
# each message through the gateway that holds it.

@pytest.fixture(scope="module")
def held(outsider, gw1, gw2, db):
    """Per gateway, a spam (GTUBE) and a virus (EICAR) for alice sent through it: subject, log row, the id the
    application gives it, and the host name amavisd recorded."""
    tag = uuid.uuid4().hex[:8]
    sent = {}
    for gateway, host in (("gw1", gw1), ("gw2", gw2)):
        for kind, body, attachment in (("spam", GTUBE, b""), ("virus", "see the attachment", EICAR.encode())):
            subject = "cluster-%s-%s-%s" % (kind, gateway, tag)
            send_to_alice(outsider, address_by_prefix(host, EXTERNAL), subject, body, attachment)
            sent[(gateway, kind)] = subject
    held = {}
    for key, subject in sent.items():
        row = stored_row(db, subject)
        rseq = quarantine_sql(db, "SELECT rseqnum FROM msgrcpt WHERE mail_id = '%s'" % row[2])
        origin = quarantine_sql(db, "SELECT host FROM msgs WHERE mail_id = '%s'" % row[2])
        held[key] = {"subject": subject, "row": row, "id": "%s.%s" % (row[2], rseq), "host": origin}
    return held


@pytest.fixture(scope="module")
def site(db_int):
    return db_int


def test_both_gateways_store_their_quarantine_in_the_shared_database(held):
    for (gateway, kind), message in held.items():
        # content S (spam) or V (virus), quarantined in SQL (Q), for alice, not released, the message stored,
        # and recorded with the name of the gateway that holds it.
        assert message["row"][:2] == [{"spam": "S", "virus": "V"}[kind], "Q"], message
        assert message["row"][4:6] == ["alice@example.org", " "] and int(message["row"][6]) > 0, message
        assert message["host"] == GATEWAY_NAMES[gateway], message


def test_the_filters_are_connected_over_tls_as_their_own_role(held, db, gw1, gw2):
    sessions = quarantine_sql(db, "SELECT DISTINCT a.usename, host(a.client_addr), s.ssl FROM pg_stat_activity a"
                                  " JOIN pg_stat_ssl s USING (pid) WHERE a.datname = 'quarantine'"
                                  " AND a.client_addr IS NOT NULL AND host(a.client_addr) <> '127.0.0.1'").split()
    gateways = {address_by_prefix(gw1, INTERNAL), address_by_prefix(gw2, INTERNAL)}
    # amavisd keeps its session open between messages: both gateways are connected now.
    assert {s.split("|")[1] for s in sessions} == gateways, sessions
    assert all(s.split("|")[0] == "quarantine_filter" and s.split("|")[2] == "t" for s in sessions), sessions


def test_one_application_lists_both_gateways_messages_for_alice_and_the_admin_only(hub, site, held):
    alice = Browser(hub, site, PASSWORDS)
    assert alice.login("alice@example.org")["status"] == 303
    page = alice.request("GET", "/")["body"]
    for message in held.values():
        assert len(alice.rows(page, message["id"])) == 1, (message, page[-2000:])
    bob = Browser(hub, site, PASSWORDS)
    assert bob.login("bob@example.org")["status"] == 303
    page = bob.request("GET", "/")["body"]
    assert not any(message["id"] in page or message["subject"] in page for message in held.values())
    admin = Browser(hub, site, PASSWORDS)
    assert admin.login("admin@example.org")["status"] == 303
    page = admin.request("GET", "/")["body"]
    assert all(alice.rows(page, message["id"]) for message in held.values())


def test_bob_cannot_release_a_message_of_alice_held_by_either_gateway(hub, site, held, db):
    bob = Browser(hub, site, PASSWORDS)
    assert bob.login("bob@example.org")["status"] == 303
    token = bob.csrf(bob.request("GET", "/")["body"])
    for gateway in ("gw1", "gw2"):
        message = held[(gateway, "virus")]
        assert bob.request("POST", "/release", {"csrf": token, "id": message["id"]})["status"] == 404
        assert quarantine_sql(db, "SELECT rs = ' ' FROM msgrcpt WHERE mail_id = '%s'" % message["row"][2]) == "t"


@pytest.mark.parametrize("gateway", ["gw1", "gw2"])
def test_a_release_goes_through_the_gateway_that_holds_the_message_and_reaches_the_hub_once(gateway, hub, site, held):
    message = held[(gateway, "spam")]
    alice = Browser(hub, site, PASSWORDS)
    assert alice.login("alice@example.org")["status"] == 303
    token = alice.csrf(alice.request("GET", "/")["body"])
    answer = alice.request("POST", "/release", {"csrf": token, "id": message["id"]})
    assert answer["status"] == 200 and "Released to alice@example.org" in answer["body"], answer
    assert alice.request("POST", "/release", {"csrf": token, "id": message["id"]})["status"] == 409
    assert delivered_count(hub, "Subject: " + message["subject"]) == 1
    # Both gateways could read the message from the shared database; the one that holds it re-injected it
    # (its Postfix took it from amavisd on loopback and relayed it to the hub), the other never saw it.
    copies = [m for m in ("\n" + hub.check_output("cat /var/mail/root")).split("\nFrom ")
              if "Subject: " + message["subject"] in m]
    assert len(copies) == 1
    text = copies[0]
    other = GATEWAY_NAMES["gw2" if gateway == "gw1" else "gw1"]
    assert "(localhost [127.0.0.1])\n\tby %s" % GATEWAY_NAMES[gateway] in text and other not in text, text


def audit(tmp_path, *extra):
    env = dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_HOST_KEY_CHECKING="0")
    proc = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", os.environ["MOLECULE_INVENTORY_FILE"],
         str(ROOT / "playbooks" / "audit.yml"), "-e", "securemail_audit_dir=%s" % tmp_path] + list(extra),
        capture_output=True, text=True, env=env, check=False)
    results = {p.stem: json.loads(p.read_text()) for p in Path(tmp_path).glob("*.json")}
    return proc, results


def failed_checks(results):
    return {host: sorted(c["check"] for c in r["checks"] if not c["ok"]) for host, r in results.items()
            if any(not c["ok"] for c in r["checks"])}


def reasons(results, host, check):
    """The finding texts of one check on one host (a check's detail is a text or a list of texts)."""
    detail = [c["detail"] for c in results[host]["checks"] if c["check"] == check][0]
    return detail if isinstance(detail, list) else [detail]


# What the second audit is told gw1's Postfix role declared: the listener the
# test adds by hand, as postfix_extra_services would (the policy then allows it).
DECLARED_2526 = {"cluster_gw1_declared_services": [
    {"service": "0.0.0.0:2526", "type": "inet", "private": "n", "unpriv": "-", "chroot": "n", "wakeup": "-",
     "maxproc": "-", "command": "smtpd"}]}


def test_audit_passes_then_names_exactly_what_was_broken(tmp_path, gw1, gw2, db):
    proc, results = audit(tmp_path / "clean")
    print((tmp_path / "clean" / "report.md").read_text() if (tmp_path / "clean" / "report.md").exists() else "")
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert sorted(results) == ["cl-db", "cl-gw1", "cl-gw2", "cl-hub"]
    assert failed_checks(results) == {}
    html = (tmp_path / "clean" / "report.html").read_text()
    assert html.count('class="pass"') >= 20 and 'class="fail"' not in html
    # The independent checks really ran where they apply, on the files the daemons use.
    wanted = {"baseline", "tls keys", "pg_hba", "postgresql tls", "document root", "quarantine app"}
    assert {c["check"] for c in results["cl-db"]["checks"]} >= wanted
    # The application's mod_wsgi daemon runs as its own user, nothing else of it.
    assert reasons(results, "cl-db", "quarantine app")[0].endswith(" mod_wsgi processes, as securemail-quarantine")
    db_keys = {k["service"]: k for k in results["cl-db"]["keys"] if k["holds_key"]}
    assert db_keys["postgresql"]["mode"] == "0640" and db_keys["postgresql"]["group"] == "ssl-cert"
    assert db_keys["apache"]["mode"] == "0600"
    gw_keys = [k for k in results["cl-gw2"]["keys"] if k["holds_key"] and k["purpose"] == "TLS"]
    assert [k["service"] for k in gw_keys] == ["postfix"] and gw_keys[0]["mode"] == "0600"
    # Each gateway's DKIM key (read from OpenDKIM's key table, not the inventory) is the owner's only, and
    # the record the audit gives for it carries the key's own public half.
    for name, host in (("cl-gw1", gw1), ("cl-gw2", gw2)):
        records = results[name]["dkim_records"]
        assert [(r["domain"], r["readable"]) for r in records] == [("example.org", True)], records
        assert records[0]["name"] == records[0]["selector"] + "._domainkey.example.org"
        public = host.check_output("openssl pkey -in %s -pubout -outform DER | base64 -w0" % records[0]["key"])
        assert records[0]["value"] == "v=DKIM1; k=rsa; p=" + public
        dkim_keys = [k for k in results[name]["keys"] if k["purpose"] == "DKIM"]
        assert [(k["path"], k["holds_key"], k["mode"], k["owner"]) for k in dkim_keys] == [
            (records[0]["key"], True, "0600", "opendkim")]
        assert [c["ok"] for c in results[name]["checks"] if c["check"] == "dkim"] == [True]
        assert records[0]["zone_line"] in (tmp_path / "clean" / "report.md").read_text()
    gw2_dkim_key = results["cl-gw2"]["dkim_records"][0]["key"]
    # Who is connected to the quarantine database: both gateways' filters, over TLS.
    connected = reasons(results, "cl-db", "postgresql")[0]
    for host in (gw1, gw2):
        assert "quarantine_filter@%s/quarantine (tls true)" % address_by_prefix(host, INTERNAL) in connected, connected
    # The mail log check read each gateway's log: the mail sent above is there.
    for gateway in ("cl-gw1", "cl-gw2"):
        mail = results[gateway]["mail"]
        assert mail["summary"]["accepted"] >= 2 and mail["summary"]["delivered"] >= 2, mail
        assert mail["summary"]["discarded"] == 0 and mail["log_files"], mail
    assert len(results["cl-gw1"]["relay_tests"]) >= 9
    assert all(not t["accepted"] for t in results["cl-gw1"]["relay_tests"])

    # Break hosts on purpose, several things in one audit run:
    # gw1: a listener on every address that the role declares (postfix_extra_services): the policy allows it,
    #      the baseline must not.
    assert gw1.run("postconf -M '0.0.0.0:2526/inet=0.0.0.0:2526 inet n - n - - smtpd' && postfix reload").rc == 0
    # gw2: VRFY back on, sender-routed addresses relayed through example.org, its TLS key readable by all,
    #      its DKIM key readable by the opendkim group.
    gw2_key = gw2.check_output("postconf -xh smtpd_tls_chain_files").split(",")[0].strip()
    broke = gw2.run("postconf -e disable_vrfy_command=no relay_recipient_maps= allow_untrusted_routing=yes"
                    " && chmod 0644 %s && chmod 0640 %s && postfix reload" % (gw2_key, gw2_dkim_key))
    assert broke.rc == 0, broke.stderr
    # db: PostgreSQL on every address, a remote network let in without TLS, TLSv1 allowed; the Apache key
    #     readable by all and the quarantine's document root moved to /etc.
    broke = db.run(
        "runuser -u postgres -- psql -Xc \"ALTER SYSTEM SET listen_addresses = '*'\""
        " && echo 'host all all 192.0.2.0/24 scram-sha-256' >> /etc/postgresql/15/main/pg_hba.conf"
        " && echo \"ssl_min_protocol_version = 'TLSv1'\" >> /etc/postgresql/15/main/postgresql.conf"
        " && service postgresql restart"
        " && chmod 0644 /etc/apache2/securemail/quarantine.key"
        " && sed -i 's#^\\( *DocumentRoot \\).*#\\1/etc#' /etc/apache2/sites-available/securemail-quarantine.conf")
    assert broke.rc == 0, broke.stderr
    time.sleep(3)
    proc, results = audit(tmp_path / "broken", "-e", json.dumps(DECLARED_2526))
    report = (tmp_path / "broken" / "report.md").read_text()
    print(report)
    assert proc.returncode != 0
    assert failed_checks(results) == {
        "cl-db": ["baseline", "document root", "exposure", "pg_hba", "postgresql", "postgresql tls", "tls keys"],
        "cl-gw1": ["baseline"],
        "cl-gw2": ["dkim", "smtp", "tls keys"],
    }
    assert reasons(results, "cl-gw2", "dkim") == [
        "opendkim DKIM key %s is readable by group opendkim (0640 opendkim:opendkim)" % gw2_dkim_key]
    assert reasons(results, "cl-gw1", "baseline") == [
        "tcp 0.0.0.0:2526 (master) faces the outside; the audit baseline allows only tcp 25, tcp 465, tcp 587 on "
        "non-internal addresses"]
    smtp = reasons(results, "cl-gw2", "smtp")[0]
    assert "VRFY is enabled" in smtp
    assert "relays percent_hack <relay-test%victim.example@example.org>, bang_path <victim.example!relay-test@example.org>" \
        in smtp, smtp
    assert reasons(results, "cl-gw2", "tls keys") == [
        "postfix TLS key %s is readable by others (0644 root:root)" % gw2_key]
    assert reasons(results, "cl-db", "tls keys") == [
        "apache TLS key /etc/apache2/securemail/quarantine.key is readable by others (0644 root:root)"]
    assert reasons(results, "cl-db", "document root") == ["quarantine web DocumentRoot /etc is outside /var/www and /srv"]
    hba = reasons(results, "cl-db", "pg_hba")
    assert len(hba) == 1 and hba[0].endswith("(host all all 192.0.2.0/24 scram-sha-256) lets remote clients in "
                                             "without TLS (use hostssl)"), hba
    assert reasons(results, "cl-db", "postgresql tls") == ["ssl_min_protocol_version is TLSv1 (below TLSv1.2)"]
    assert any(r.startswith("tcp 0.0.0.0:5432 (postgres) faces the outside") for r in reasons(results, "cl-db", "baseline"))
    assert "VRFY" in report and "0.0.0.0" in report and "percent_hack" in report


# A rolling change as docs/site-playbook.md recommends it: one gateway at a
# time, the first failure ends the play. The roles apply their reload inside
# the engine task (no handlers), so a batch ends with its gateway running the
# new configuration, before the next batch touches the next gateway.
ROLLING = """
- name: Facts of the gateways and the hub (the transport names the hub's address)
  hosts: mail_gateways:mail_hubs
  gather_facts: true
  tasks: []

- name: Gateways, one at a time
  hosts: mail_gateways
  gather_facts: false
  serial: 1
  max_fail_percentage: 0
  roles:
    - role: securemail.gateway.postfix
      postfix_mode: gateway
      postfix_content_filter_enabled: true
  post_tasks:
    - name: What every gateway runs now
      ansible.builtin.command: postconf -h message_size_limit
      delegate_to: "{{ item }}"
      loop: "{{ groups['mail_gateways'] }}"
      changed_when: false
    - name: Every gateway's Postfix runs
      ansible.builtin.command: postfix status
      delegate_to: "{{ item }}"
      loop: "{{ groups['mail_gateways'] }}"
      changed_when: false
"""


def rolling(tmp_path, *extra):
    """(returncode, [(batch host, {gateway: message_size_limit live after the batch})], stdout)."""
    playbook = tmp_path / "rolling.yml"
    playbook.write_text(ROLLING)
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
               ANSIBLE_FORCE_COLOR="0", ANSIBLE_HOST_KEY_CHECKING="0")
    proc = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", os.environ["MOLECULE_INVENTORY_FILE"],
         str(playbook)] + list(extra), capture_output=True, text=True, env=env, check=False)
    report = json.loads(proc.stdout)
    batches = []
    for play in report["plays"]:
        if play["play"]["name"] != "Gateways, one at a time":
            continue
        ran = {task["task"]["name"].split(" : ", 1)[-1]: task["hosts"] for task in play["tasks"]}
        host = sorted({h for hosts in ran.values() for h in hosts})
        live = {}
        for results in ran.get("What every gateway runs now", {}).values():
            live = {r["item"]: r["stdout"].strip() for r in results["results"]}
        for results in ran.get("Every gateway's Postfix runs", {}).values():
            assert all(r["rc"] == 0 for r in results["results"]), results
        batches.append((host, live))
    return proc.returncode, batches, proc.stdout


def test_rolling_change_one_gateway_at_a_time(tmp_path, gw1, gw2):
    # A DKIM key someone made group-readable: the role puts it back (checked after the first run).
    dkim_key = gw2.check_output("sed -n 's/^[^#][^ ]* [^:]*:[^:]*://p' /etc/opendkim/key.table")
    assert dkim_key.startswith("/etc/dkimkeys/"), dkim_key
    assert gw2.run("chmod 0640 %s" % dkim_key).rc == 0
    before = gw1.check_output("postconf -h message_size_limit")
    assert gw2.check_output("postconf -h message_size_limit") == before
    changed = str(int(before) + 1048576)
    try:
        rc, batches, out = rolling(tmp_path, "-e", "postfix_message_size_limit=" + changed)
        assert rc == 0, out[-3000:]
        # While the first gateway already runs the change, the second is untouched.
        assert batches == [(["cl-gw1"], {"cl-gw1": changed, "cl-gw2": before}),
                           (["cl-gw2"], {"cl-gw1": changed, "cl-gw2": changed})], batches
        assert gw2.check_output("stat -c '%%a %%U %%G' %s" % dkim_key) == "600 opendkim opendkim"

        # The first gateway fails its input checks (a banner that does not start with $myhostname): the play
        # stops there, and the second gateway neither runs a task nor changes.
        again = str(int(changed) + 1048576)
        rc, batches, out = rolling(
            tmp_path, "-e", "postfix_message_size_limit=" + again,
            "-e", '{"postfix_smtpd_banner": "{{ \'ESMTP ready\' if inventory_hostname == \'cl-gw1\' '
                  'else \'$myhostname ESMTP\' }}"}')
        assert rc != 0
        assert [host for host, _live in batches] == [["cl-gw1"]], batches
        assert gw1.check_output("postconf -h message_size_limit") == changed
        assert gw2.check_output("postconf -h message_size_limit") == changed
        assert gw1.run("postfix status").rc == 0 and gw2.run("postfix status").rc == 0
    finally:
        rc, batches, out = rolling(tmp_path)
        assert rc == 0, out[-3000:]
        assert batches[-1][1] == {"cl-gw1": before, "cl-gw2": before}, batches
