"""A null client listens nowhere and still delivers through its smarthost."""

import time
import uuid

from conftest_lib import check_mode_changes, listeners


def test_check_mode_predicts_no_change_on_the_converged_host():
    # First in the file, before any test changes the hosts: after converge
    # and idempotence, --check --diff must predict exactly nothing.
    assert check_mode_changes(__file__) == []


def test_no_smtp_listener_at_all(nc):
    tcp = {(addr, port, proc) for proto, addr, port, proc in listeners(nc) if proto == "tcp"}
    assert not [t for t in tcp if t[1] in (25, 465, 587)], tcp
    # Nothing Postfix-owned on a non-loopback address either.
    exposed = [t for t in tcp if not t[0].startswith("127.") and t[0] not in ("::1", "[::1]")]
    assert exposed == [], exposed


def test_loopback_only_and_no_local_delivery(nc):
    assert nc.run("postconf -h inet_interfaces").stdout.strip() == "loopback-only"
    assert nc.run("postconf -h mydestination").stdout.strip() == ""
    assert nc.run("postconf -h local_transport").stdout.startswith("error:")
    assert nc.run("postconf -M smtp/inet").stdout.strip() == ""


def test_local_mail_reaches_the_smarthost(nc, smarthost):
    subject = "nc-test-%s" % uuid.uuid4().hex
    sent = nc.run("printf 'Subject: %s\\n\\nnull client test\\n' | /usr/sbin/sendmail -f cron@example.org ops@example.org"
                  % subject)
    assert sent.rc == 0, sent.stderr
    deadline = time.time() + 60
    while time.time() < deadline and subject not in smarthost.run("cat /var/mail/root 2>/dev/null").stdout:
        time.sleep(1)
    mailbox = smarthost.run("cat /var/mail/root 2>/dev/null").stdout
    assert subject in mailbox
    assert "nc.example.test" in mailbox


def test_postfix_check_clean(nc):
    check = nc.run("postfix check")
    assert check.rc == 0 and check.stderr.strip() == "" and check.stdout.strip() == ""
    assert nc.run("postconf -n").stderr.strip() == ""
