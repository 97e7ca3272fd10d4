"""Every message the gateway accepts is accounted for (issue 17), malware included (issue 13).

One mixed batch from the outsider: each accepted message must end at the hub
or in the quarantine, and securemail.gateway.trace must say which, from the
gateway's own logs (it has no syslog daemon; the hub has rsyslog, see
prepare.yml). Then the logs rotate, and the trace still finds the batch.
"""

import base64
import json
import shlex
import time
import uuid

import pytest
from conftest_lib import EICAR, EXTERNAL, GTUBE, address_by_prefix, instance_name, quarantined, run_module


# Sends one message per kind, each in its own session, and prints per kind
# the reply to DATA (or to RCPT when refused) as JSON. The body of each
# message carries its subject, so the hub's mailbox and the quarantine can be
# searched for it.
_BATCH = r"""
import base64, io, json, smtplib, sys, zipfile
addr, sender, tag = sys.argv[1:4]
gtube = sys.argv[4]
eicar = base64.b64decode(sys.argv[5])
kinds = sys.argv[6].split(",")
def zipped(name, data):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(name, data)
    return buf.getvalue()
def attached(name, ctype, data):
    return ("--b1\r\nContent-Type: text/plain\r\n\r\nsee attachment\r\n--b1\r\n"
            "Content-Type: %s; name=\"%s\"\r\nContent-Disposition: attachment; filename=\"%s\"\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n%s\r\n--b1--" % (ctype, name, name, base64.encodebytes(data).decode().replace("\n", "\r\n")))
MIME = {"MIME-Version": "1.0", "Content-Type": "multipart/mixed; boundary=\"b1\""}
pdf = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj "
       b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
def message(kind, extra, body, drop=(), to="alice@example.org"):
    headers = {"From": sender, "To": to, "Subject": "batch-%s-%s" % (tag, kind),
               "Date": "Fri, 04 Dec 2026 16:00:00 +0000", "Message-ID": "<%s-%s@example.net>" % (kind, tag)}
    headers.update(extra)
    lines = ["%s: %s" % (k, v) for k, v in headers.items() if k not in drop]
    return ("\r\n".join(lines) + "\r\n\r\n" + body + "\r\n").encode("utf-8")
exe = base64.b64encode(b"MZ" + bytes(300)).decode()
attachment = ("--b1\r\nContent-Type: text/plain\r\n\r\ninvoice attached\r\n--b1\r\n"
              "Content-Type: application/octet-stream; name=\"invoice.exe\"\r\n"
              "Content-Disposition: attachment; filename=\"invoice.exe\"\r\n"
              "Content-Transfer-Encoding: base64\r\n\r\n" + exe + "\r\n--b1--")
batch = [
    ("clean", "alice@example.org", message("clean", {}, "hello")),
    ("no-date", "alice@example.org", message("no-date", {}, "no Date header", drop=("Date",))),
    ("no-message-id", "alice@example.org", message("no-message-id", {}, "no Message-ID", drop=("Message-ID",))),
    ("8bit", "alice@example.org", message("8bit", {}, "caf\u00e9 na\u00efve: 8-bit body, no MIME headers")),
    ("long-header", "alice@example.org", message("long-header", {"X-Long": "x" * 1200}, "one header line over 998")),
    ("gtube", "alice@example.org", message("gtube", {}, gtube)),
    ("banned", "alice@example.org", message("banned", {"MIME-Version": "1.0",
                                                       "Content-Type": "multipart/mixed; boundary=\"b1\""}, attachment)),
    ("pdf", "alice@example.org", message("pdf", MIME, attached("report.pdf", "application/pdf", pdf))),
    ("eicar-txt", "alice@example.org", message("eicar-txt", MIME, attached("eicar.txt", "text/plain", eicar))),
    ("eicar-zip", "alice@example.org", message("eicar-zip", MIME, attached("eicar.zip", "application/zip",
                                                                           zipped("eicar.txt", eicar)))),
    ("eicar-nested-zip", "alice@example.org",
     message("eicar-nested-zip", MIME, attached("outer.zip", "application/zip",
                                                zipped("inner.zip", zipped("eicar.txt", eicar))))),
    ("unknown-recipient", "nobody@example.org", message("unknown-recipient", {}, "x", to="nobody@example.org")),
]
out = []
for kind, rcpt, data in batch:
    if kind not in kinds:
        continue
    s = smtplib.SMTP(addr, 25, local_hostname="outsider.example.net", timeout=30)
    s.ehlo()
    s.mail(sender)
    code, text = s.rcpt(rcpt)
    if code == 250:
        code, text = s.data(data)
    s.quit()
    out.append({"kind": kind, "code": code, "reply": text.decode()})
print(json.dumps(out))
"""

# The EICAR test file, split so that no scanner on the way flags this file.
DELIVERED = ["clean", "no-date", "no-message-id", "8bit", "long-header", "pdf"]
QUARANTINED = ["gtube", "banned", "eicar-txt", "eicar-zip", "eicar-nested-zip"]


def send(outsider, gateway, kinds):
    """From the outsider, one message of each kind; {tag, sender, replies: {kind: {code, reply}}}."""
    tag = uuid.uuid4().hex[:10]
    sender = "batch-%s@example.net" % tag
    eicar = base64.b64encode(EICAR.encode()).decode()
    args = " ".join(shlex.quote(a) for a in (address_by_prefix(gateway, EXTERNAL), sender, tag, GTUBE, eicar,
                                             ",".join(kinds)))
    out = outsider.run("python3 - %s <<'PYEOF'\n%s\nPYEOF" % (args, _BATCH))
    assert out.rc == 0, out.stderr
    replies = {row["kind"]: row for row in json.loads(out.stdout)}
    return {"tag": tag, "sender": sender, "replies": replies}


@pytest.fixture(scope="module")
def batch(outsider, gateway):
    return send(outsider, gateway, DELIVERED + QUARANTINED + ["unknown-recipient"])


def subject(batch, kind):
    return "batch-%s-%s" % (batch["tag"], kind)


def queue_id(reply):
    # Postfix's answer to DATA: "2.0.0 Ok: queued as 4ABC123".
    return reply.rsplit(" ", 1)[-1]


def found_at_hub(hub, batch, kind):
    return subject(batch, kind) in hub.run("cat /var/mail/root 2>/dev/null").stdout


def found_in_quarantine(gateway, batch, kind):
    return quarantined(gateway, subject(batch, kind))


def trace(**selection):
    return run_module(instance_name("gateway"), "securemail.gateway.trace", selection)


def test_the_batch_is_answered_as_expected(batch):
    codes = {kind: row["code"] for kind, row in batch["replies"].items()}
    assert codes == dict({k: 250 for k in DELIVERED + QUARANTINED}, **{"unknown-recipient": 550}), batch["replies"]


def test_every_accepted_message_is_at_the_hub_or_in_the_quarantine_and_traced(batch, gateway, hub):
    accepted = [kind for kind in DELIVERED + QUARANTINED if batch["replies"][kind]["code"] == 250]
    deadline = time.time() + 120
    missing = accepted
    while missing and time.time() < deadline:
        time.sleep(2)
        missing = [kind for kind in accepted
                   if not found_at_hub(hub, batch, kind) and not found_in_quarantine(gateway, batch, kind)]
    traced = {kind: trace(queue_id=queue_id(batch["replies"][kind]["reply"])) for kind in accepted}
    # A message found nowhere fails the test, listed with what the trace says.
    assert not missing, "\n".join("%s: %s" % (kind, json.dumps(traced[kind].get("messages"), indent=1))
                                  for kind in missing)
    outcomes = {}
    for kind, result in traced.items():
        assert len(result["messages"]) == 1, (kind, result)
        message = result["messages"][0]
        outcomes[kind] = message["outcome"]
        if message["outcome"] == "delivered":
            assert found_at_hub(hub, batch, kind), (kind, message)
        elif message["outcome"] == "quarantined":
            files = found_in_quarantine(gateway, batch, kind)
            assert message["quarantine_id"] and any(message["quarantine_id"] in f for f in files), (kind, message, files)
    assert outcomes == dict({k: "delivered" for k in DELIVERED}, **{k: "quarantined" for k in QUARANTINED}), traced


def test_the_outcomes_add_up_to_the_accepted_messages(batch):
    result = trace(sender=batch["sender"])
    summary = result["summary"]
    outcomes = ("delivered", "quarantined", "bounced", "deferred", "discarded", "held", "in_queue", "mixed")
    assert summary["accepted"] == len(DELIVERED + QUARANTINED), summary
    assert sum(summary.get(name, 0) for name in outcomes) == summary["accepted"], summary
    assert (summary["delivered"], summary["quarantined"]) == (len(DELIVERED), len(QUARANTINED)), summary
    # The unknown recipient was refused at RCPT: not accepted, but logged.
    assert [r["recipient"] for r in result["refused"]] == ["nobody@example.org"], result["refused"]
    by_id = {m["message_id"]: m for m in result["messages"] if m.get("message_id")}
    clean = by_id["<clean-%s@example.net>" % batch["tag"]]
    # Accepted on 25, through the filter, re-injected, delivered to the hub.
    assert clean["children"] and clean["next_hop"].startswith("10.89."), clean


def test_without_clamd_nothing_passes_unscanned(outsider, gateway, hub):
    # Fail closed: with clamd stopped, amavisd answers 4xx and both a clean
    # message and a virus wait in the gateway's queue; once clamd is back,
    # the clean one is delivered and the virus held.
    # The role runs clamd directly (Debian's init script wants ClamAV's own
    # databases, which the sandbox cannot download).
    gateway.check_output("pkill -x clamd; while pidof clamd; do sleep 0.2; done")
    try:
        sent = send(outsider, gateway, ["clean", "eicar-txt"])
        assert [row["code"] for row in sent["replies"].values()] == [250, 250], sent
        deadline = time.time() + 90
        summary = {}
        while time.time() < deadline and summary.get("deferred") != 2:
            time.sleep(3)
            summary = trace(sender=sent["sender"])["summary"]
        assert summary.get("deferred") == 2, trace(sender=sent["sender"])
        assert not found_at_hub(hub, sent, "clean") and not found_at_hub(hub, sent, "eicar-txt")
    finally:
        gateway.check_output("install -d -o clamav -g clamav -m 0755 /run/clamav && clamd")
    deadline = time.time() + 120
    while time.time() < deadline and gateway.run("test -S /run/clamav/clamd.ctl").rc != 0:
        time.sleep(1)
    gateway.check_output("postqueue -f")
    deadline = time.time() + 120
    while time.time() < deadline and not (found_at_hub(hub, sent, "clean") and found_in_quarantine(gateway, sent, "eicar-txt")):
        time.sleep(2)
    assert found_at_hub(hub, sent, "clean") and not found_at_hub(hub, sent, "eicar-txt")
    assert found_in_quarantine(gateway, sent, "eicar-txt")
    result = trace(sender=sent["sender"])
    outcomes = sorted((m["message_id"], m["outcome"]) for m in result["messages"])
    assert outcomes == sorted([("<clean-%s@example.net>" % sent["tag"], "delivered"),
                               ("<eicar-txt-%s@example.net>" % sent["tag"], "quarantined")]), result


def test_the_gateway_logs_to_its_own_files_without_syslog(gateway):
    assert not gateway.file("/dev/log").exists
    assert gateway.check_output("postconf -h maillog_file") == "/var/log/postfix.log"
    # Mail logs name every sender and recipient: root and adm only, as
    # Debian keeps /var/log/mail.log.
    log = gateway.file("/var/log/postfix.log")
    assert (log.is_file, log.user, log.group, oct(log.mode)) == (True, "root", "adm", "0o640")
    assert "postfix/smtpd" in log.content_string
    amavis = gateway.file("/var/log/amavis/amavisd.log")
    assert amavis.is_file and amavis.user == "amavis" and amavis.mode & 0o007 == 0
    assert gateway.file("/var/log/amavis").mode == 0o750


def test_the_hub_logs_to_syslog_once(hub, batch):
    assert hub.file("/dev/log").is_socket
    assert hub.check_output("postconf -h maillog_file") == ""
    assert not hub.file("/var/log/postfix.log").exists
    lines = hub.check_output("grep -F %s /var/log/mail.log" % shlex.quote("<clean-%s@example.net>" % batch["tag"]))
    assert len(lines.splitlines()) == 1, lines
    hub_qid = lines.split(": message-id=")[0].rsplit(" ", 1)[-1]
    removed = hub.check_output("grep -cF %s /var/log/mail.log" % shlex.quote("%s: removed" % hub_qid))
    assert removed == "1", (hub_qid, removed)


def test_the_logs_rotate_and_the_trace_still_finds_the_batch(gateway, batch):
    for conf, log in (("securemail-postfix", "/var/log/postfix.log"), ("securemail-amavis", "/var/log/amavis/amavisd.log")):
        gateway.check_output("logrotate -f /etc/logrotate.d/%s" % conf)
        assert gateway.file(log + ".1").is_file, log
    # The reload in postrotate restarts postlogd: new lines go to a new file.
    marker = "rotation-check-%s" % uuid.uuid4().hex[:8]
    deadline = time.time() + 30
    while time.time() < deadline and marker not in gateway.run("cat /var/log/postfix.log 2>/dev/null").stdout:
        gateway.check_output("postlog -t securemail-test %s" % marker)
        time.sleep(2)
    assert marker in gateway.file("/var/log/postfix.log").content_string
    assert marker not in gateway.file("/var/log/postfix.log.1").content_string
    fresh = gateway.file("/var/log/postfix.log")
    assert (fresh.user, fresh.group, oct(fresh.mode)) == ("root", "adm", "0o640")
    result = trace(sender=batch["sender"])
    assert result["summary"]["accepted"] == len(DELIVERED + QUARANTINED), result
    assert "/var/log/postfix.log.1" in result["log_files_read"], result["log_files_read"]
