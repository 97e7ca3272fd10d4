"""The quarantine application (issue 14), as users on the LAN use it: from the
hub (an internal host) over HTTPS to the gateway's internal address.

Alice sees her quarantined spam, whose subject carries HTML and SQL, escaped;
she releases it and the hub gets it exactly once; a replay is refused. Bob
sees none of it and cannot release or read it by its id. Forged CSRF tokens,
expired sessions and too many failed logins are refused. The trixie scenario
runs without the application: these tests are skipped there.
"""

import base64
import hashlib
import hmac
import json
import time
import uuid

import pytest
from conftest_lib import (EXTERNAL, GTUBE, INTERNAL, Browser, address_by_prefix, delivered_count, mailbox_count,
                          quarantine_passwords, quarantine_sql, run_cron_job, send_to_alice, scenario_host_vars, stored_row,
                          wait_for)

GATEWAY_VARS = scenario_host_vars(__file__, "gateway")
PASSWORDS = quarantine_passwords(__file__, "gateway")


@pytest.fixture(scope="module", autouse=True)
def app_only(gateway):
    if not gateway.file("/etc/securemail-quarantine/config.json").exists:
        pytest.skip("no quarantine application on this gateway (quarantine_web_app false)")


@pytest.fixture(scope="module")
def site(gateway):
    return address_by_prefix(gateway, INTERNAL)


@pytest.fixture(scope="module")
def spam(outsider, gateway):
    """A spam for alice whose subject is HTML and SQL; its mail_id/rseqnum as the application names it."""
    subject = "<script>alert('x')</script>'; DROP TABLE msgs; -- %s" % uuid.uuid4().hex[:8]
    send_to_alice(outsider, address_by_prefix(gateway, EXTERNAL), subject, GTUBE)
    row = stored_row(gateway, subject)
    assert row[:2] == ["S", "Q"], row
    rseq = quarantine_sql(gateway, "SELECT rseqnum FROM msgrcpt WHERE mail_id = '%s'" % row[2])
    return {"subject": subject, "id": "%s.%s" % (row[2], rseq), "mail_id": row[2]}


@pytest.fixture(scope="module")
def alice(hub, site):
    browser = Browser(hub, site, PASSWORDS)
    answer = browser.login("alice@example.org")
    assert answer["status"] == 303 and answer["location"] == "/", answer
    return browser


def test_the_application_runs_in_its_own_process_as_its_own_user(gateway):
    # mod_wsgi names its daemon "(wsgi:GROUP)", cut to the length of Apache's own argv[0].
    procs = gateway.check_output("ps -u securemail-quarantine -o args=").splitlines()
    assert procs and all(p.startswith("(wsgi:securemail") for p in procs), procs
    assert gateway.run("ps -u www-data -o args= | grep -q '^(wsgi'").rc != 0
    conf = gateway.file("/etc/securemail-quarantine/config.json")
    assert (conf.user, conf.group, conf.mode) == ("root", "securemail-quarantine", 0o640)
    # Hashes, never the passwords.
    assert not any(password in conf.content_string for password in PASSWORDS.values())


def test_the_session_cookie_is_secure_http_only_and_strict(hub, site):
    answer = Browser(hub, site, PASSWORDS).login("alice@example.org")
    session = [c for c in answer["cookies"] if c.startswith("securemail_quarantine=")]
    assert session and all(flag in session[0] for flag in ("Secure", "HttpOnly", "SameSite=Strict")), session


def test_alice_sees_her_spam_with_its_subject_escaped(alice, spam):
    page = alice.request("GET", "/")
    assert page["status"] == 200
    row = [r for r in page["body"].split('<tr class="message">') if spam["id"] in r]
    assert len(row) == 1, page["body"][-3000:]
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;&#x27;; DROP TABLE msgs; --" in row[0], row[0]
    assert "<script>" not in page["body"]
    assert "spam (score" in row[0] and "q-" in row[0]


def test_the_message_is_shown_as_plain_text(alice, spam):
    answer = alice.request("GET", "/message/" + spam["id"])
    assert answer["status"] == 200 and answer["ctype"] == "text/plain; charset=utf-8", answer["status"]
    assert GTUBE in answer["body"]


def test_bob_can_neither_see_nor_read_nor_release_alices_message(hub, site, spam, gateway):
    bob = Browser(hub, site, PASSWORDS)
    assert bob.login("bob@example.org")["status"] == 303
    page = bob.request("GET", "/")
    assert spam["id"] not in page["body"] and "DROP TABLE" not in page["body"]
    assert bob.request("GET", "/message/" + spam["id"])["status"] == 404
    token = bob.csrf(page["body"])
    for verb in ("release", "delete"):
        answer = bob.request("POST", "/" + verb, {"csrf": token, "id": spam["id"]})
        assert answer["status"] == 404, answer
    assert quarantine_sql(gateway, "SELECT rs = ' ' FROM msgrcpt WHERE mail_id = '%s'" % spam["mail_id"]) == "t"


def test_a_forged_csrf_token_is_refused(alice, spam, gateway):
    answer = alice.request("POST", "/delete", {"csrf": "forged", "id": spam["id"]})
    assert answer["status"] == 403, answer
    assert quarantine_sql(gateway, "SELECT rs = ' ' FROM msgrcpt WHERE mail_id = '%s'" % spam["mail_id"]) == "t"


def signed(data):
    """A session cookie as the application signs it (the test knows the site's key)."""
    body = base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode()
    mac = hmac.new(GATEWAY_VARS["quarantine_web_secret_key"].encode(), body.encode(), hashlib.sha256).hexdigest()
    return "securemail_quarantine=%s.%s" % (body, mac)


def test_an_expired_session_is_refused(hub, site, spam):
    browser = Browser(hub, site, PASSWORDS)
    old = time.time() - 901
    cookie = signed({"user": "alice@example.org", "admin": False, "csrf": "c" * 32, "seen": old, "since": old})
    answer = browser.request("GET", "/", cookie=cookie)
    assert answer["status"] == 303 and answer["location"] == "/login", answer
    answer = browser.request("POST", "/release", {"csrf": "c" * 32, "id": spam["id"]}, cookie=cookie)
    assert answer["status"] == 403, answer
    # The same cookie, fresh, is accepted: the refusal was the expiry.
    fresh = signed({"user": "alice@example.org", "admin": False, "csrf": "c" * 32, "seen": time.time(),
                    "since": time.time()})
    assert browser.request("GET", "/", cookie=fresh)["status"] == 200


def test_a_forged_session_is_refused(hub, site):
    browser = Browser(hub, site, PASSWORDS)
    cookie = signed({"user": "admin@example.org", "admin": True, "csrf": "c", "seen": time.time(),
                     "since": time.time()})
    tampered = cookie[:-4] + ("0000" if not cookie.endswith("0000") else "1111")
    assert browser.request("GET", "/", cookie=tampered)["status"] == 303


def test_the_admin_sees_alices_message_and_its_recipient(hub, site, spam):
    admin = Browser(hub, site, PASSWORDS)
    assert admin.login("admin@example.org")["status"] == 303
    page = admin.request("GET", "/")
    row = [r for r in page["body"].split('<tr class="message">') if spam["id"] in r]
    assert len(row) == 1 and "alice@example.org" in row[0], page["body"][-2000:]


def test_a_release_delivers_the_message_to_the_hub_once_and_a_replay_is_refused(alice, spam, hub):
    token = alice.csrf(alice.request("GET", "/")["body"])
    answer = alice.request("POST", "/release", {"csrf": token, "id": spam["id"]})
    assert answer["status"] == 200 and "Released to alice@example.org" in answer["body"], answer
    replay = alice.request("POST", "/release", {"csrf": token, "id": spam["id"]})
    assert replay["status"] == 409, replay
    assert delivered_count(hub, "Subject: " + spam["subject"]) == 1


def test_failed_logins_are_rate_limited(gateway, site):
    # From another client address than the other tests' (the gateway itself),
    # for bob: five failures, then even the right password is refused.
    browser = Browser(gateway, site, PASSWORDS)
    for attempt in range(5):
        assert browser.login("bob@example.org", "wrong-password-x")["status"] == 401, attempt
    answer = browser.login("bob@example.org")
    assert answer["status"] == 429, answer


def test_the_daily_digest_lists_alices_held_messages_in_a_mail_to_her(gateway, hub):
    # The job's command, as cron runs it, now.
    out = run_cron_job(gateway, "/etc/cron.d/securemail-quarantine-digest", "securemail-quarantine")
    assert "digest(s) sent" in out and not out.startswith("0 "), out
    assert wait_for(lambda: mailbox_count(hub, "Subject: Quarantine digest") > 0, 180, 2), \
        "no digest at the hub after 180 s"
    mailbox = hub.run("cat /var/mail/root").stdout
    digest = mailbox[mailbox.index("Subject: Quarantine digest"):]
    assert "To: alice@example.org" in mailbox and "https://quarantine.example.test:28443/" in digest
    assert "[spam (score" in digest
