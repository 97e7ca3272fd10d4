"""What an admin checks by hand on a gateway, its hub and from outside."""

import time
import uuid

import pytest
from conftest_lib import EXTERNAL, INTERNAL, address_by_prefix, check_mode_changes, listeners, probe_smtp, send_mail


@pytest.fixture(scope="module")
def gw_ext(gw):
    return address_by_prefix(gw, EXTERNAL)


@pytest.fixture(scope="module")
def probe(gw_ext):
    return probe_smtp("outsider", gw_ext, 25, helo_name="outsider.example.net",
                      tls_versions=["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"],
                      relay_recipient="someone@foreign.example.net", relay_sender="probe@example.net")


def test_check_mode_predicts_no_change_on_the_converged_host():
    # First in the file, before any test changes the hosts: after converge
    # and idempotence, --check --diff must predict exactly nothing.
    assert check_mode_changes(__file__) == []


def test_gateway_listens_on_25_and_nothing_else_outside_loopback(gw):
    tcp = {(addr, port) for proto, addr, port, proc in listeners(gw) if proto == "tcp"}
    assert ("0.0.0.0", 25) in tcp or ("*", 25) in tcp
    exposed = {(a, p) for a, p in tcp if not a.startswith("127.") and a not in ("::1", "[::1]")}
    assert {p for a, p in exposed} == {25}, exposed


def test_hub_listens_on_25_only(hub):
    tcp = {(addr, port) for proto, addr, port, proc in listeners(hub) if proto == "tcp"}
    assert {p for a, p in tcp if not a.startswith("127.") and a not in ("::1", "[::1]")} == {25}


def test_banner_discloses_nothing(probe):
    assert probe["reachable"] is True, probe
    assert probe["banner"].startswith("gw.example.test ESMTP")
    assert probe["banner_discloses"] == []
    for word in ("Postfix", "Debian", "Ubuntu"):
        assert word not in probe["banner"]


def test_vrfy_refused(probe):
    assert probe["vrfy"]["code"] == 502 and probe["vrfy"]["disclosed"] is False


def test_relay_to_foreign_domain_refused(probe):
    assert probe["relay"]["accepted"] is False
    assert probe["relay"]["code"] == 554 and "Relay access denied" in probe["relay"]["message"]


def test_starttls_offered_and_old_tls_refused(probe):
    assert probe["starttls"]["offered"] is True and probe["starttls"]["negotiated"] is True
    assert probe["tls_versions"]["TLSv1.2"] == "accepted"
    assert probe["tls_versions"]["TLSv1"] == "refused"
    assert probe["tls_versions"]["TLSv1.1"] == "refused"


def test_mail_for_relay_domain_reaches_the_hub(outsider, gw_ext, hub):
    subject = "gw-test-%s" % uuid.uuid4().hex
    outcome = send_mail(outsider, gw_ext, 25, "sender@example.net", "alice@example.org", subject,
                        helo="outsider.example.net")
    assert outcome.startswith("250"), outcome
    deadline = time.time() + 60
    while time.time() < deadline:
        if subject in hub.run("cat /var/mail/root 2>/dev/null").stdout:
            break
        time.sleep(1)
    mailbox = hub.run("cat /var/mail/root 2>/dev/null").stdout
    assert subject in mailbox, "not delivered to the hub"
    assert "gw.example.test" in mailbox  # passed through the gateway


def test_unknown_recipient_of_relay_domain_refused(outsider, gw_ext, hub):
    # The gateway lists no recipients: it asked the hub, which has no such
    # user or alias ("nobody" would do: it is a Unix account on the hub).
    # The refusal is final (550, not Postfix's default 450) and does not
    # pass on the hub's reply, which names an internal host.
    outcome = send_mail(outsider, gw_ext, 25, "sender@example.net", "no-such-user@example.org", "x",
                        helo="outsider.example.net")
    assert outcome.startswith("550") and "Recipient address lookup failed" in outcome, outcome
    assert address_by_prefix(hub, INTERNAL) not in outcome and "hub.example.test" not in outcome, outcome


def test_recipients_are_verified_with_the_hub(gw):
    assert gw.run("postconf -h relay_recipient_maps").stdout.strip() == ""
    restrictions = gw.run("postconf -h smtpd_recipient_restrictions").stdout.replace(",", " ").split()
    assert restrictions.index("reject_unverified_recipient") > restrictions.index("reject_unauth_destination")
    assert gw.run("postconf -h unverified_recipient_reject_code").stdout.strip() == "550"


def test_dane_turns_on_dnssec_lookups(gw):
    assert gw.run("postconf -h smtp_tls_security_level smtp_dns_support_level").stdout.split() == ["dane", "dnssec"]


def test_per_destination_tls_policy_is_a_table_postfix_reads(gw):
    # The role's table, then MTA-STS's resolver (postfix_mta_sts).
    table = gw.run("postconf -h smtp_tls_policy_maps").stdout.replace(",", " ").split()[0]
    assert table.startswith("hash:/etc/postfix/"), table
    assert gw.run("postmap -q dane.example %s" % table).stdout.strip() == "dane-only"
    assert gw.run("postmap -q '[192.0.2.99]:25' %s" % table).stdout.strip() == "none"
    assert gw.run("postmap -q example.net %s" % table).rc == 1


def test_header_checks_apply(outsider, gw_ext):
    import shlex  # noqa: F401  (kept local: only this test builds a raw message)
    script = (
        "import smtplib\n"
        "s = smtplib.SMTP(%r, 25, local_hostname='outsider.example.net', timeout=20)\n"
        "try:\n"
        "    s.sendmail('sender@example.net', ['alice@example.org'], 'X-Test-Reject: 1\\r\\nSubject: x\\r\\n\\r\\nbody\\r\\n')\n"
        "    print('accepted')\n"
        "except smtplib.SMTPDataError as e:\n"
        "    print(e.smtp_code, e.smtp_error.decode())\n" % gw_ext)
    out = outsider.run("python3 - <<'PYEOF'\n%s\nPYEOF" % script).stdout
    assert out.startswith("550") and "header rejected by policy" in out, out


def test_hub_refuses_anyone_but_the_gateway(outsider, hub):
    hub_int = address_by_prefix(hub, INTERNAL)
    # The host routes outsider -> internal network with the bridge address
    # as source (docs/molecule.md), which is not a listed gateway.
    outcome = send_mail(outsider, hub_int, 25, "sender@example.net", "alice@example.org", "x",
                        helo="outsider.example.net")
    assert outcome.startswith("554") or outcome.startswith("550"), outcome


@pytest.mark.parametrize("name", ["gw", "hub"])
def test_postfix_check_and_postconf_clean(name, gw, hub):
    host = {"gw": gw, "hub": hub}[name]
    check = host.run("postfix check")
    assert check.rc == 0 and check.stdout.strip() == "" and check.stderr.strip() == "", check.stderr
    postconf = host.run("postconf -n")
    assert postconf.rc == 0 and postconf.stderr.strip() == "", postconf.stderr


def test_tls_key_is_private(gw):
    chain = gw.file("/etc/postfix/tls/smtpd-chain.pem")
    assert chain.exists and chain.mode == 0o600 and chain.user == "root"


def test_gateway_has_no_local_delivery(gw):
    assert gw.run("postconf -h mydestination").stdout.strip() == ""
    assert gw.run("postconf -h local_transport").stdout.startswith("error:")


def _handshake(host, target, cipher):
    """openssl s_client STARTTLS on port 25 with one TLS 1.2 suite; the suite the server chose, or None."""
    out = host.run("echo QUIT | timeout 30 openssl s_client -starttls smtp -connect %s:25 -servername gw.example.test "
                   "-tls1_2 -cipher %s 2>&1" % (target, cipher)).stdout
    for line in out.splitlines():
        if ", Cipher is " in line:
            chosen = line.split(", Cipher is ")[1].strip()
            return None if chosen == "(NONE)" else chosen
    return None


def test_port_25_offers_only_forward_secret_suites(outsider, gw_ext):
    # Issue 12: AES128-SHA (RSA key exchange, no forward secrecy) used to be
    # accepted; kRSA in smtpd_tls_exclude_ciphers refuses it at every level.
    assert _handshake(outsider, gw_ext, "AES128-SHA") is None
    assert _handshake(outsider, gw_ext, "AES256-GCM-SHA384") is None
    assert _handshake(outsider, gw_ext, "ECDHE-RSA-AES128-GCM-SHA256") == "ECDHE-RSA-AES128-GCM-SHA256"


def test_while_the_hub_cannot_answer_a_new_recipient_is_deferred_not_accepted(outsider, gw_ext, hub):
    # Nothing cached for this address: with the hub down the probe cannot
    # finish, so the sender is told to retry (4xx); accepting it would mean
    # a bounce later if the address does not exist.
    fresh = "new-%s@example.org" % uuid.uuid4().hex[:12]
    assert hub.run("postfix stop").rc == 0
    try:
        outcome = send_mail(outsider, gw_ext, 25, "sender@example.net", fresh, "x", helo="outsider.example.net")
    finally:
        assert hub.run("postfix start").rc == 0
    assert outcome.startswith("450") and "Recipient address lookup failed" in outcome, outcome
    assert address_by_prefix(hub, INTERNAL) not in outcome, outcome


def test_subdomain_of_relay_domain_not_relayed(outsider, gw_ext, gw):
    # Issue 12: relay_domains is out of parent_domain_matches_subdomains, so
    # example.org does not make the gateway relay for anything.example.org.
    assert "relay_domains" not in gw.run("postconf -h parent_domain_matches_subdomains").stdout
    outcome = send_mail(outsider, gw_ext, 25, "sender@example.net", "alice@sub.example.org", "x",
                        helo="outsider.example.net")
    assert outcome.startswith("554") and "Relay access denied" in outcome, outcome


# postscreen on port 25, with the scenario's DNS server (prepare.yml): the
# spammer is on bl.test only, the outsider on bl.test and wl.test, the hub on
# bl.test and in postfix_postscreen_allowlist.

def _mail_log(gw):
    path = gw.run("postconf -h maillog_file").stdout.strip() or "/var/log/mail.log"
    return gw.run("cat %s" % path).stdout


def test_postscreen_owns_port_25_and_hands_over_to_smtpd(gw):
    assert gw.run("postconf -M smtp/inet").stdout.split()[-1] == "postscreen"
    assert gw.run("postconf -M smtpd/pass").stdout.split()[-1] == "smtpd"
    assert gw.run("postconf -h postscreen_dnsbl_action postscreen_greet_action").stdout.split() == ["enforce", "enforce"]


def test_the_gateway_resolves_the_lists(gw, spammer, outsider):
    for host, lists in ((spammer, ["bl"]), (outsider, ["bl", "wl"])):
        reversed_ip = ".".join(reversed(address_by_prefix(host, EXTERNAL).split(".")))
        for name in lists:
            assert gw.run("getent hosts %s.%s.test" % (reversed_ip, name)).stdout.startswith("127.0.0.2")


def test_a_block_listed_client_is_refused_before_it_reaches_smtpd(spammer, gw_ext, gw):
    spammer_ip = address_by_prefix(spammer, EXTERNAL)
    outcome = send_mail(spammer, gw_ext, 25, "sender@example.net", "alice@example.org", "spam",
                        helo="spammer.example.net")
    assert outcome.startswith("550") and "blocked using bl.test" in outcome, outcome
    lines = [line for line in _mail_log(gw).splitlines() if "[%s]" % spammer_ip in line]
    assert any("postfix/postscreen" in line and "DNSBL rank 2" in line for line in lines), lines
    assert not any("postfix/smtpd" in line for line in lines), lines


def test_an_allow_listed_client_passes_despite_the_block_list(outsider, gw_ext, gw):
    # 2 (bl.test) - 2 (wl.test) stays below the threshold of 1.
    outcome = send_mail(outsider, gw_ext, 25, "sender@example.net", "alice@example.org", "listed-and-allowed",
                        helo="outsider.example.net")
    assert outcome.startswith("250"), outcome
    outsider_ip = address_by_prefix(outsider, EXTERNAL)
    assert any("postfix/postscreen" in line and "PASS" in line and "[%s]" % outsider_ip in line
               for line in _mail_log(gw).splitlines())


def test_a_client_in_the_postscreen_allowlist_passes_despite_the_block_list(dns, gw_ext, gw):
    # The DNS instance's external address is on bl.test and in the allowlist;
    # plain.test publishes no SPF, so only postscreen could refuse it.
    dns_ext = address_by_prefix(dns, EXTERNAL)
    outcome = send_mail(dns, gw_ext, 25, "sender@plain.test", "alice@example.org", "allowlisted",
                        helo="dns.example.test")
    assert outcome.startswith("250"), outcome
    assert gw.run("cat /etc/postfix/postscreen_access.cidr").stdout.split()[-2:] == [dns_ext + "/32", "permit"]
    assert any("postfix/postscreen" in line and "ALLOWLISTED" in line and "[%s]" % dns_ext in line
               for line in _mail_log(gw).splitlines())


_PREGREET = r"""
import socket, sys, time
s = socket.create_connection((sys.argv[1], 25), timeout=30)
s.sendall(b"EHLO pregreet.example.net\r\n")  # before the greeting: a bot's shortcut
time.sleep(8)                                   # past postscreen_greet_wait (6 s)
s.settimeout(5)
seen = []
for command in (None, b"EHLO pregreet.example.net", b"MAIL FROM:<sender@example.net>",
                b"RCPT TO:<alice@example.org>", b"QUIT"):
    if command:
        s.sendall(command + b"\r\n")
        time.sleep(1)
    try:
        seen.append(s.recv(65536).decode("ascii", "replace"))
    except (socket.timeout, ConnectionError):
        break
print("".join(seen))
"""


def test_a_client_that_talks_before_the_greeting_is_refused(dns, gw):
    # The DNS instance has never connected to port 25, is on no list and not
    # in mynetworks: only the pregreet test judges it.
    replies = dns.run("python3 - %s <<'PYEOF'\n%s\nPYEOF" % (address_by_prefix(gw, INTERNAL), _PREGREET)).stdout
    assert any(line.startswith("550") for line in replies.splitlines()), replies
    dns_ip = address_by_prefix(dns, INTERNAL)
    assert any("PREGREET" in line and "[%s]" % dns_ip in line for line in _mail_log(gw).splitlines())


def test_dns_based_sender_checks_are_on(outsider, gw_ext):
    outcome = send_mail(outsider, gw_ext, 25, "sender@nowhere.example.net", "alice@example.org", "x",
                        helo="outsider.example.net")
    assert outcome.startswith("450") and "Domain not found" in outcome, outcome


# Sender authentication (prepare.yml's zones): example.net's SPF names the
# outsider and its DMARC policy is reject; example.com passes SPF for nobody
# (?all) and rejects; hold.example.com quarantines; spf-fail.test allows
# 192.0.2.1 only. The outsider signs with selector sel1 for example.net and
# example.com.

_SIGNED_SENDER = r"""
import smtplib, sys, dkim, email.utils
addr, sender, rcpt, subject, how = sys.argv[1:6]
domain = sender.split("@")[1]
msg = ("From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%s@%s>\r\n"
       % (sender, rcpt, subject, email.utils.formatdate(), subject, domain))
if how == "two-from":
    msg = msg.replace("From: <%s>" % sender, "From: <%s>, <someone@example.net>" % sender)
if how == "forged-ar":
    msg += "Authentication-Results: gw.example.test; dkim=pass header.d=%s; dmarc=pass header.from=%s\r\n" % (domain, domain)
msg += "\r\nsecuremail.gateway sender authentication test\r\n"
data = msg.encode()
if how in ("signed", "broken"):
    with open("/root/dkim.key", "rb") as f:
        key = f.read()
    data = dkim.sign(data, b"sel1", domain.encode(), key, include_headers=[b"from", b"to", b"subject", b"date"]) + data
if how == "broken":
    data = data.replace(b"authentication test", b"authentication TEST")
try:
    with smtplib.SMTP(addr, 25, local_hostname="outsider.example.net", timeout=30) as s:
        s.sendmail(sender, [rcpt], data)
    print("250 accepted")
except smtplib.SMTPRecipientsRefused as e:
    code, text = list(e.recipients.values())[0]
    print(code, text.decode())
except smtplib.SMTPResponseException as e:
    print(e.smtp_code, e.smtp_error.decode())
"""


def _send_as(outsider, gw_ext, sender, how):
    subject = "auth-%s-%s" % (how, uuid.uuid4().hex[:12])
    args = " ".join((gw_ext, sender, "alice@example.org", subject, how))
    out = outsider.run("python3 - %s <<'PYEOF'\n%s\nPYEOF" % (args, _SIGNED_SENDER))
    return subject, (out.stdout.strip() or out.stderr.strip())


def _delivered(hub, subject, timeout=60):
    """The message's headers as the hub stored them, on one line, or '' when it never came."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        mailbox = hub.run("cat /var/mail/root 2>/dev/null").stdout
        if subject in mailbox:
            message = mailbox[:mailbox.index(subject)]
            # Unfolded: OpenDKIM folds its Authentication-Results header.
            return " ".join((message[message.rfind("\nFrom "):] + subject).split())
        time.sleep(1)
    return ""


def test_spf_pass_and_a_valid_dkim_signature_are_delivered_with_their_results(outsider, gw_ext, hub):
    subject, outcome = _send_as(outsider, gw_ext, "sender@example.net", "signed")
    assert outcome.startswith("250"), outcome
    headers = _delivered(hub, subject)
    assert "Received-SPF: Pass" in headers, headers
    assert "gw.example.test; dkim=pass" in headers and "header.d=example.net" in headers, headers
    assert "gw.example.test; dmarc=pass" in headers, headers


def test_a_broken_signature_is_delivered_when_spf_aligns(outsider, gw_ext, hub):
    subject, outcome = _send_as(outsider, gw_ext, "sender@example.net", "broken")
    assert outcome.startswith("250"), outcome
    headers = _delivered(hub, subject)
    assert "gw.example.test; dkim=fail" in headers and "dmarc=pass" in headers, headers


def test_a_valid_signature_alone_passes_dmarc(outsider, gw_ext, hub):
    subject, outcome = _send_as(outsider, gw_ext, "sender@example.com", "signed")
    assert outcome.startswith("250"), outcome
    headers = _delivered(hub, subject)
    assert "dkim=pass" in headers and "header.d=example.com" in headers and "dmarc=pass" in headers, headers


@pytest.mark.parametrize("how", ["broken", "unsigned", "forged-ar"])
def test_dmarc_reject_refuses_what_fails(how, outsider, gw_ext, hub, gw):
    # A broken signature, none, or a forged Authentication-Results header
    # that claims the gateway's own name: DMARC fails and p=reject refuses.
    subject, outcome = _send_as(outsider, gw_ext, "sender@example.com", how)
    assert outcome.startswith("550") and "DMARC" in outcome, outcome
    assert subject not in hub.run("cat /var/mail/root 2>/dev/null").stdout


def test_a_from_with_two_domains_is_refused(outsider, gw_ext, hub):
    # Which domain's policy would apply? A known way around DMARC: refused.
    subject, outcome = _send_as(outsider, gw_ext, "sender@example.com", "two-from")
    assert outcome.startswith("550"), outcome


def test_spf_fail_is_refused_at_rcpt(outsider, gw_ext):
    subject, outcome = _send_as(outsider, gw_ext, "sender@spf-fail.test", "unsigned")
    assert outcome.startswith("550") and "SPF" in outcome, outcome


def test_dmarc_quarantine_holds_the_mail(outsider, gw_ext, gw, hub):
    subject, outcome = _send_as(outsider, gw_ext, "sender@hold.example.com", "unsigned")
    assert outcome.startswith("250"), outcome
    held = gw.run("postqueue -j").stdout
    try:
        assert '"queue_name": "hold"' in held and "hold.example.com" in held, held
        time.sleep(3)
        assert subject not in hub.run("cat /var/mail/root 2>/dev/null").stdout
    finally:
        gw.run("postsuper -d ALL hold")


def test_without_the_dkim_milter_mail_is_deferred_not_passed(outsider, gw_ext, gw):
    assert gw.run("service opendkim stop").rc == 0
    try:
        subject, outcome = _send_as(outsider, gw_ext, "sender@example.net", "signed")
    finally:
        assert gw.run("service opendkim start").rc == 0
        deadline = time.time() + 30
        while time.time() < deadline and not gw.socket("unix:///var/spool/postfix/opendkim/opendkim.sock").is_listening:
            time.sleep(0.5)
    assert outcome.startswith("4"), outcome


def test_milters_listen_on_unix_sockets_only(gw):
    procs = {proc for proto, addr, port, proc in listeners(gw)}
    assert not procs & {"opendkim", "opendmarc"}, procs
    for name in ("opendkim", "opendmarc"):
        sock = gw.file("/var/spool/postfix/%s/%s.sock" % (name, name))
        assert sock.is_socket and sock.group == "postfix" and sock.mode & 0o007 == 0, name
    assert gw.run("postconf -h smtpd_milters milter_default_action").stdout.split() == [
        "unix:opendkim/opendkim.sock,", "unix:opendmarc/opendmarc.sock", "tempfail"]


def test_the_dkim_key_was_made_on_the_host_and_is_private(gw):
    key = gw.file("/etc/dkimkeys/example.org.gw.private")
    assert key.exists and key.mode == 0o600 and key.user == "opendkim"
    assert "BEGIN PRIVATE KEY" in gw.run("head -1 /etc/dkimkeys/example.org.gw.private").stdout


def _outsider_got(outsider, subject, timeout=60):
    """The file of the outsider's Maildir that holds the message with this subject, or ''."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        path = outsider.run("grep -l %s /root/Maildir/new/* 2>/dev/null | head -1" % subject).stdout.strip()
        if path:
            return path
        time.sleep(1)
    return ""


def test_outbound_mail_is_signed_and_verified_by_the_receiving_mta(hub, gw, outsider):
    # The hub hands outbound mail to the gateway (it is in mynetworks); the
    # gateway delivers to example.net's MX, the outsider, where dkimpy (not
    # OpenDKIM) checks the signature against the record converge.yml published.
    subject = "outbound-%s" % uuid.uuid4().hex[:12]
    outcome = send_mail(hub, address_by_prefix(gw, INTERNAL), 25, "alice@example.org", "root@example.net", subject,
                        helo="hub.example.test")
    assert outcome.startswith("250"), outcome
    path = _outsider_got(outsider, subject)
    assert path, "not delivered to the outsider"
    message = outsider.run("cat %s" % path).stdout
    assert "d=example.org" in message and "s=gw" in message, message
    verified = outsider.run("dkimverify < %s" % path)
    assert verified.rc == 0 and "signature ok" in verified.stdout, verified.stdout + verified.stderr


# DANE: dane.example is DNSSEC-signed (prepare.yml); the gateway asks with
# DNSSEC and so sees its MX and TLSA records as validated. mx.dane.example's
# TLSA record pins the outsider's key, mx.bad.dane.example's matches nothing.
def _outbound(hub, gw, recipient):
    subject = "dane-%s" % uuid.uuid4().hex[:12]
    outcome = send_mail(hub, address_by_prefix(gw, INTERNAL), 25, "alice@example.org", recipient, subject,
                        helo="hub.example.test")
    assert outcome.startswith("250"), outcome
    return subject


def _log_lines(gw, needle, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        lines = [line for line in _mail_log(gw).splitlines() if needle in line]
        if lines:
            return lines
        time.sleep(1)
    return []


def test_dane_delivery_to_a_matching_tlsa_record_is_verified(hub, gw, outsider):
    subject = _outbound(hub, gw, "root@dane.example")
    path = _outsider_got(outsider, subject)
    assert path, "not delivered to mx.dane.example"
    verified = _log_lines(gw, "Verified TLS connection established to mx.dane.example[")
    assert verified, "no DANE-verified connection in the gateway's log"


def _deferred_unverified(hub, gw, outsider, domain):
    """Outbound mail to ``domain`` is deferred for an unverified certificate, waits in the queue, never arrives."""
    subject = _outbound(hub, gw, "root@%s" % domain)
    deferred = _log_lines(gw, "to=<root@%s>" % domain)
    assert deferred and all("status=deferred" in line for line in deferred), deferred
    assert "Server certificate not verified" in deferred[-1], deferred[-1]
    assert not outsider.run("grep -l %s /root/Maildir/new/* 2>/dev/null" % subject).stdout.strip()
    # It waits in the gateway's queue; nothing was sent in the clear.
    assert "root@%s" % domain in gw.run("postqueue -j").stdout
    gw.run("postqueue -j | python3 -c \"import json, sys; [print(json.loads(l)['queue_id']) for l in sys.stdin "
           "if %r in l]\" | postsuper -d - >/dev/null" % ("@" + domain))


def test_dane_a_mismatching_tlsa_record_defers_the_mail(hub, gw, outsider):
    _deferred_unverified(hub, gw, outsider, "bad.dane.example")


# MTA-STS: sts.example and bad-sts.example publish policies in enforce mode
# (prepare.yml: TXT record, HTTPS by the test CA the gateway trusts); both MX
# hosts are the outsider, whose certificate names mx.sts.example only.
def test_the_mta_sts_resolver_listens_on_loopback_only_as_its_own_user(gw):
    owners = {(addr, port): proc for proto, addr, port, proc in listeners(gw) if proto == "tcp" and port == 8461}
    assert owners == {("127.0.0.1", 8461): "mta-sts-daemon"}, owners
    assert gw.check_output("ps -o user= -C mta-sts-daemon").split() == ["_mta-sts"]
    # The role's own table first, so a destination named there keeps its policy.
    maps = gw.check_output("postconf -h smtp_tls_policy_maps").replace(",", " ").split()
    assert maps[0].startswith("hash:/etc/postfix/") and maps[1:] == ["socketmap:inet:127.0.0.1:8461:postfix"], maps


def test_mta_sts_answers_postfix_with_the_policys_mx_names(gw):
    mta_sts = "socketmap:inet:127.0.0.1:8461:postfix"
    assert gw.check_output("postmap -q sts.example %s" % mta_sts) == "secure match=mx.sts.example servername=hostname"
    assert gw.run("postmap -q example.net %s" % mta_sts).rc == 1  # no policy published


def test_mta_sts_delivery_to_the_policys_mx_is_verified(hub, gw, outsider):
    subject = _outbound(hub, gw, "root@sts.example")
    assert _outsider_got(outsider, subject), "not delivered to mx.sts.example"
    assert _log_lines(gw, "Verified TLS connection established to mx.sts.example["), "no verified connection logged"


def test_mta_sts_a_certificate_that_does_not_name_the_mx_defers_the_mail(hub, gw, outsider):
    _deferred_unverified(hub, gw, outsider, "bad-sts.example")
