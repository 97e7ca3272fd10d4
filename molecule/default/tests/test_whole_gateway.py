"""The whole single-host gateway: exactly the declared sockets, and mail through the filter."""

import uuid

import pytest
from conftest_lib import (EXTERNAL, GTUBE, INTERNAL, address_by_prefix, check_mode_changes, connect_outcome, fresh_host_runs,
                          instance_name, listeners, mailbox_count, quarantined, run_module, send_mail, wait_for)


@pytest.fixture(scope="module")
def ext(gateway):
    return address_by_prefix(gateway, EXTERNAL)


@pytest.fixture(scope="module")
def internal(gateway):
    return address_by_prefix(gateway, INTERNAL)


def loopback(addr):
    return addr.startswith("127.") or addr in ("::1", "[::1]")


def test_check_mode_predicts_no_change_on_the_converged_host():
    # First in the file, before any test changes the hosts: after converge
    # and idempotence, --check --diff must predict exactly nothing.
    assert check_mode_changes(__file__) == []


def test_check_mode_on_the_fresh_hosts_predicted_what_converge_changed():
    # Molecule's check step ran converge.yml with --check on the hosts as
    # created (nothing installed), then its converge step ran it for real:
    # every task the real run changed must have been predicted, and nothing
    # else.
    predicted, changed = fresh_host_runs()
    assert changed, "the first converge changed nothing: the hosts were not fresh"
    missed = [pair for pair in changed if pair not in predicted]
    extra = [pair for pair in predicted if pair not in changed]
    assert (missed, extra) == ([], []), "changed but not predicted: %s; predicted but not changed: %s" % (missed, extra)


def release_port(gateway):
    return gateway.run("grep -q SECUREMAIL-RELEASE /etc/amavis/conf.d/50-user").rc == 0


def test_socket_table_is_exactly_the_declared_one(gateway, internal):
    tcp = sorted((addr, port, proc) for proto, addr, port, proc in listeners(gateway) if proto == "tcp")
    print("\nTCP listeners on gateway:")
    for row in tcp:
        print("  %-16s %-6s %s" % row)
    pairs = {(addr, port) for addr, port, proc in tcp}
    # Declared: 25 everywhere; filter, re-injection and database on loopback;
    # the quarantine UI on the internal address only.
    allowed = {(a, 25) for a in ("0.0.0.0", "::", "[::]", "*")}
    allowed |= {(a, p) for a in ("127.0.0.1", "::1", "[::1]") for p in (10024, 10025, 5432)}
    # amavisd's release port for the quarantine application, where it has one.
    allowed |= {("127.0.0.1", 9998)} if release_port(gateway) else set()
    allowed |= {(internal, 28080), (internal, 28443)}
    assert pairs <= allowed, "unexpected listeners: %s" % sorted(pairs - allowed)
    for needed in [(internal, 28080), (internal, 28443), ("127.0.0.1", 10024), ("127.0.0.1", 10025),
                   ("127.0.0.1", 5432)] + ([("127.0.0.1", 9998)] if release_port(gateway) else []):
        assert needed in pairs, "missing listener %s:%s" % needed
    assert any(p == 25 and not loopback(a) for a, p in pairs)


def test_exposure_check_module_agrees(gateway, internal):
    policy = [
        {"name": "smtp", "port": 25, "bind": "public", "process": "master"},
        {"name": "content filter", "port": 10024, "bind": "loopback"},
        {"name": "re-injection", "port": 10025, "bind": "loopback", "process": "master"},
        {"name": "quarantine db", "port": 5432, "bind": "loopback", "process": "postgres"},
        {"name": "quarantine http", "port": 28080, "bind": [internal], "process": "apache2"},
        {"name": "quarantine https", "port": 28443, "bind": [internal], "process": "apache2"},
    ] + ([{"name": "amavisd release", "port": 9998, "bind": "loopback"}]
         if release_port(gateway) else [])
    result = run_module(instance_name("gateway"), "securemail.gateway.exposure_check",
                        {"policy": policy, "protocols": ["tcp"], "internal_networks": ["10.89.0.0/16"]})
    assert result["violations"] == [] and result["compliant"] is True, result["violations"]


def test_postgres_refuses_the_outside(outsider, ext, internal, gateway):
    # Refused, not timed out: the address answers, nothing listens on it. The
    # outsider reaches the internal address too (the harness routes it).
    assert connect_outcome(outsider, ext, 5432) == "refused"
    assert connect_outcome(outsider, internal, 5432) == "refused"
    assert connect_outcome(gateway, "127.0.0.1", 5432) == "connected"
    shown = gateway.run("runuser -u postgres -- psql -Atc 'SHOW listen_addresses'")
    assert shown.stdout.strip() == "localhost", shown.stderr
    hba = gateway.check_output("runuser -u postgres -- psql -Atc \"SELECT type, auth_method FROM pg_hba_file_rules\"")
    host_lines = [line.split("|") for line in hba.splitlines() if line.startswith("host")]
    # Not vacuous: the role writes host lines (scram-sha-256 on loopback).
    assert host_lines and all(method != "trust" for _type, method in host_lines), hba


def test_quarantine_web_only_on_the_internal_address(outsider, ext, gateway, internal):
    assert connect_outcome(outsider, ext, 28080) == "refused"
    assert connect_outcome(outsider, ext, 28443) == "refused"
    script = (
        "import http.client, ssl\n"
        "c = http.client.HTTPConnection(%r, 28080, timeout=10); c.request('GET', '/')\n"
        "r = c.getresponse(); print(r.status, r.getheader('Location'), r.getheader('Server'))\n"
        "ctx = ssl._create_unverified_context()\n"
        "c = http.client.HTTPSConnection(%r, 28443, timeout=10, context=ctx); c.request('TRACE', '/')\n"
        "r = c.getresponse(); print(r.status, r.getheader('Server'))\n" % (internal, internal))
    out = gateway.run("python3 - <<'PYEOF'\n%s\nPYEOF" % script).stdout.splitlines()
    status, location, server = out[0].split(" ", 2)
    assert status == "301" and ":28443/" in location and server == "Apache"
    trace_status, trace_server = out[1].split(" ", 1)
    assert trace_status in ("403", "405") and trace_server == "Apache"


def test_mail_passes_the_filter_and_reaches_the_hub(outsider, ext, hub):
    subject = "whole-%s" % uuid.uuid4().hex
    outcome = send_mail(outsider, ext, 25, "sender@example.net", "alice@example.org", subject,
                        helo="outsider.example.net")
    assert outcome.startswith("250"), outcome
    assert wait_for(lambda: mailbox_count(hub, subject) > 0, 90), "not delivered to the hub"
    mailbox = hub.run("cat /var/mail/root").stdout
    message = mailbox[mailbox.rindex("From ", 0, mailbox.index(subject)):]
    # amavisd's hop on loopback, its SpamAssassin verdict, then Postfix's
    # re-injection smtpd on loopback.
    assert "(amavis, port 10024)" in message
    assert "X-Spam-Status: No" in message
    assert "from localhost (localhost [127.0.0.1])" in message


def test_spam_sample_is_held_not_delivered(outsider, ext, gateway, hub):
    subject = "gtube-%s" % uuid.uuid4().hex
    script = (
        "import smtplib\n"
        "s = smtplib.SMTP(%r, 25, local_hostname='outsider.example.net', timeout=20)\n"
        "s.sendmail('sender@example.net', ['alice@example.org'], "
        "'Subject: %s\\r\\n\\r\\n%s\\r\\n')\n"
        "print('accepted')\n" % (ext, subject, GTUBE))
    out = outsider.run("python3 - <<'PYEOF'\n%s\nPYEOF" % script)
    assert out.stdout.strip() == "accepted", out.stderr
    assert wait_for(lambda: quarantined(gateway, subject), 90), "GTUBE message not in the quarantine"
    # amavisd stores the copy before it answers Postfix, which then removes
    # the message from its queue. check_output: a postqueue that fails (and
    # prints nothing) fails the test.
    assert wait_for(lambda: gateway.check_output("postqueue -p").strip() == "Mail queue is empty", 60), \
        gateway.check_output("postqueue -p")
    assert subject not in hub.run("cat /var/mail/root 2>/dev/null").stdout, "spam reached the hub"


def test_every_config_checker_is_clean(gateway):
    assert gateway.run("postfix check").rc == 0
    assert gateway.run("postconf -n").stderr.strip() == ""
    assert gateway.run("apache2ctl -t").rc == 0
