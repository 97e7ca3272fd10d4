"""The quarantine in PostgreSQL (issue 14): amavisd stores what it blocks in
the database the postgresql role made, as a role that may only write; the web
application's role may only read and mark; release goes through amavisd;
old messages expire.

The trixie scenario runs these tests too, on a gateway that keeps its
quarantine as files: there they are skipped, and the accounting tests check
the files instead.
"""

import base64
import re
import shlex
import time
import uuid

import pytest
from conftest_lib import (EICAR, EXTERNAL, GTUBE, address_by_prefix, delivered_count, quarantine_sql, run_cron_job,
                          scenario_host_vars, send_to_alice, sql_quarantine, stored_row)

GATEWAY_VARS = scenario_host_vars(__file__, "gateway")


@pytest.fixture(scope="module", autouse=True)
def sql_only(gateway):
    if not sql_quarantine(gateway):
        pytest.skip("this gateway keeps its quarantine as files (content_filter_sql_host empty)")


@pytest.fixture(scope="module")
def held(outsider, gateway):
    """A spam (GTUBE) and a virus (EICAR), each to alice, and their rows."""
    tag = uuid.uuid4().hex[:8]
    subjects = {"spam": "sql-gtube-%s" % tag, "virus": "sql-eicar-%s" % tag}
    send_to_alice(outsider, address_by_prefix(gateway, EXTERNAL), subjects["spam"], GTUBE)
    send_to_alice(outsider, address_by_prefix(gateway, EXTERNAL), subjects["virus"], "see the attachment",
                  EICAR.encode())
    return {kind: dict(subject=s, row=stored_row(gateway, s)) for kind, s in subjects.items()}


def test_the_schema_is_amavisds_at_the_newest_version(gateway):
    assert quarantine_sql(gateway, "SELECT max(version) FROM securemail_schema") == "1"
    tables = quarantine_sql(gateway, "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables"
                                     " WHERE schemaname = 'public'")
    assert tables == "maddr,msgrcpt,msgs,quarantine,securemail_schema"
    # Everything belongs to the owner, not to the roles that use it.
    owners = quarantine_sql(gateway, "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'")
    assert owners == "quarantine"


def test_spam_and_virus_are_stored_for_their_recipient(held):
    spam, virus = held["spam"]["row"], held["virus"]["row"]
    # content S (spam at kill level) and V (virus), quarantined in SQL (Q),
    # for alice, not yet released, with the whole message stored.
    assert spam[:2] == ["S", "Q"] and spam[4:6] == ["alice@example.org", " "], spam
    assert virus[:2] == ["V", "Q"] and virus[4:6] == ["alice@example.org", " "], virus
    assert int(spam[6]) > len(GTUBE) and int(virus[6]) > len(EICAR) * 4 // 3, (spam, virus)
    assert re.fullmatch(r"[A-Za-z0-9+_-]{12}", spam[2]) and spam[3], spam


def test_the_stored_copy_is_the_message(gateway, held):
    mail_id = held["virus"]["row"][2]
    text = quarantine_sql(gateway, "SELECT convert_from(string_agg(mail_text, '' ORDER BY chunk_ind), 'UTF8')"
                                   " FROM quarantine WHERE mail_id = '%s'" % mail_id)
    assert "Subject: %s" % held["virus"]["subject"] in text and base64.b64encode(EICAR.encode()).decode() in text


def test_nothing_blocked_reaches_the_hub(hub, held):
    mailbox = hub.run("cat /var/mail/root 2>/dev/null").stdout
    assert held["spam"]["subject"] not in mailbox and held["virus"]["subject"] not in mailbox


def test_a_release_through_amavisd_delivers_the_message_to_the_hub_once(gateway, hub, held):
    subject, mail_id, secret_id = held["spam"]["subject"], held["spam"]["row"][2], held["spam"]["row"][3]
    out = gateway.run("runuser -u amavis -- amavisd-release %s %s" % (shlex.quote(mail_id), shlex.quote(secret_id)))
    assert out.rc == 0 and "250 2.0.0" in out.stdout + out.stderr, (out.stdout, out.stderr)
    assert delivered_count(hub, "Subject: " + subject) == 1


def test_a_release_with_a_forged_secret_is_refused(gateway, hub, held):
    mail_id = held["virus"]["row"][2]
    out = gateway.run("runuser -u amavis -- amavisd-release %s %s" % (shlex.quote(mail_id), "AAAAAAAAAAAA"))
    assert out.rc != 0 or "250 2.0.0" not in out.stdout + out.stderr, (out.stdout, out.stderr)
    time.sleep(3)
    assert held["virus"]["subject"] not in hub.run("cat /var/mail/root").stdout


def as_role(gateway, user, password, sql):
    """``sql`` as ``user`` over TCP on loopback with TLS, as the filter and the web application log in."""
    conninfo = "host=127.0.0.1 port=5432 dbname=quarantine user=%s sslmode=require" % user
    return gateway.run("PGPASSWORD=%s psql -X -q -A -t -v ON_ERROR_STOP=1 %s -c %s"
                       % (shlex.quote(password), shlex.quote(conninfo), shlex.quote(sql)))


def test_the_filters_role_writes_but_cannot_delete(gateway, held):
    password = GATEWAY_VARS["postgresql_filter_password"]
    assert as_role(gateway, "quarantine_filter", password, "SELECT count(*) > 0 FROM msgs").stdout.strip() == "t"
    out = as_role(gateway, "quarantine_filter", password, "DELETE FROM msgs")
    assert out.rc != 0 and "permission denied for table msgs" in out.stderr, out.stderr
    out = as_role(gateway, "quarantine_filter", password, "CREATE TABLE loot (x int)")
    assert out.rc != 0 and "permission denied for schema public" in out.stderr, out.stderr


def test_the_web_applications_role_reads_and_marks_but_changes_nothing_else(gateway, held):
    password = GATEWAY_VARS["postgresql_web_password"]
    mail_id = held["virus"]["row"][2]
    mark = ("BEGIN; UPDATE msgrcpt SET rs = 'V' WHERE mail_id = '%s'; SELECT rs FROM msgrcpt WHERE mail_id = '%s';"
            " ROLLBACK;" % (mail_id, mail_id))
    out = as_role(gateway, "quarantine_web", password, mark)
    assert out.rc == 0 and out.stdout.strip() == "V", (out.stdout, out.stderr)
    out = as_role(gateway, "quarantine_web", password, "UPDATE msgs SET subject = 'x'")
    assert out.rc != 0 and "permission denied for table msgs" in out.stderr, out.stderr
    out = as_role(gateway, "quarantine_web", password, "UPDATE msgrcpt SET ds = 'P'")
    assert out.rc != 0 and "permission denied for table msgrcpt" in out.stderr, out.stderr
    out = as_role(gateway, "quarantine_web", password, "INSERT INTO quarantine VALUES (0, 'x', 1, 'x')")
    assert out.rc != 0 and "permission denied for table quarantine" in out.stderr, out.stderr


def test_nobody_else_connects_and_the_roles_have_no_powers(gateway):
    # CONNECT is the owner's, the filter's and the web application's only.
    acl = quarantine_sql(gateway, "SELECT datacl FROM pg_database WHERE datname = 'quarantine'")
    assert "=c" not in acl.replace("quarantine_filter=c", "").replace("quarantine_web=c", "") \
        .replace("quarantine=", ""), acl
    powers = quarantine_sql(gateway, "SELECT count(*) FROM pg_roles WHERE rolname LIKE 'quarantine%'"
                                     " AND (rolsuper OR rolcreatedb OR rolcreaterole OR rolbypassrls)")
    assert powers == "0"


def test_the_filters_password_is_readable_by_amavis_only(gateway):
    conf = gateway.file("/etc/amavis/conf.d/50-user")
    assert (conf.user, conf.group, conf.mode) == ("root", "amavis", 0o640)
    assert "sslmode=require" in conf.content_string


def test_old_messages_expire_with_their_copies(gateway, held):
    mail_id = held["virus"]["row"][2]
    quarantine_sql(gateway, "UPDATE msgs SET time_iso = now() - interval '31 days' WHERE mail_id = '%s'" % mail_id)
    # The daily job's command, as cron runs it.
    run_cron_job(gateway, "/etc/cron.d/securemail-quarantine", "postgres")
    left = quarantine_sql(gateway, "SELECT (SELECT count(*) FROM msgs WHERE mail_id = '%s'),"
                                   " (SELECT count(*) FROM msgrcpt WHERE mail_id = '%s'),"
                                   " (SELECT count(*) FROM quarantine WHERE mail_id = '%s'),"
                                   " (SELECT count(*) FROM msgs WHERE content IS NOT NULL)"
                          % (mail_id, mail_id, mail_id))
    gone, rcpts, chunks, others = left.split("|")
    assert (gone, rcpts, chunks) == ("0", "0", "0") and int(others) > 0, left
