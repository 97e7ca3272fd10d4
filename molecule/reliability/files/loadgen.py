"""Steady SMTP load with per-message accounting (runs on the load peer).

Every message carries X-Load-Id: <seq>.<attempt>. A message is retried, with
a new attempt number, until the gateway answers 2xx after DATA, the way a
sending MTA retries. The log says, per attempt, what happened, so the
verifier can check that every accepted attempt reached the sink exactly once
and attribute refused connections to the change that was running.

usage: loadgen.py HOST PORT RATE MIN_MESSAGES STOP_FILE LOG [THREADS] [PER_SESSION]
Runs until at least MIN_MESSAGES were sent and STOP_FILE exists.
"""
import json
import os
import smtplib
import sys
import threading
import time

host, port, rate, minimum, stop_file, log_path = (
    sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6])
threads = int(sys.argv[7]) if len(sys.argv) > 7 else 4
per_session = int(sys.argv[8]) if len(sys.argv) > 8 else 5
MAX_ATTEMPTS = 200

lock = threading.Lock()
log = open(log_path, "w", buffering=1)
state = {"next": 0, "start": time.time()}


def record(kind, **fields):
    fields.update(kind=kind, t=round(time.time(), 3))
    with lock:
        log.write(json.dumps(fields) + "\n")


def next_seq():
    """The next sequence number once its pacing slot has come; None when done."""
    with lock:
        seq = state["next"]
        if seq >= minimum and os.path.exists(stop_file):
            return None
        state["next"] += 1
    delay = state["start"] + seq / rate - time.time()
    if delay > 0:
        time.sleep(delay)
    return seq


def message(load_id):
    return ("From: load@example.net\r\nTo: alice@example.org\r\nSubject: load %s\r\n"
            "Message-ID: <%s@load.example.net>\r\nX-Load-Id: %s\r\n\r\nsteady load, message %s\r\n"
            % (load_id, load_id, load_id, load_id))


def worker():
    pending = []          # [seq, attempt] waiting for (another) try
    session = None
    sent_in_session = 0
    while True:
        if not pending:
            seq = next_seq()
            if seq is None:
                break
            pending.append([seq, 0])
        seq, attempt = pending[0]
        if session is None:
            try:
                session = smtplib.SMTP(host, port, local_hostname="peer.example.net", timeout=30)
                session.ehlo("peer.example.net")
                sent_in_session = 0
            except ConnectionRefusedError:
                record("refused")
                session = None
                time.sleep(0.2)
                continue
            except (OSError, smtplib.SMTPException) as exc:
                record("connect_error", error="%s: %s" % (type(exc).__name__, exc))
                session = None
                time.sleep(0.2)
                continue
        load_id = "%d.%d" % (seq, attempt)
        try:
            session.sendmail("load@example.net", ["alice@example.org"], message(load_id))
            record("accepted", id=load_id)
            pending.pop(0)
        except smtplib.SMTPResponseException as exc:
            record("tempfail" if 400 <= exc.smtp_code < 500 else "permfail", id=load_id, code=exc.smtp_code,
                   error=str(exc.smtp_error)[:200])
            pending[0][1] += 1
            session = close(session)
        except (OSError, smtplib.SMTPException) as exc:
            # No reply to DATA: the gateway may or may not have queued it.
            record("unacknowledged", id=load_id, error="%s: %s" % (type(exc).__name__, exc))
            pending[0][1] += 1
            session = close(session)
        else:
            sent_in_session += 1
            if sent_in_session >= per_session:
                session = close(session)
        if pending and pending[0][1] >= MAX_ATTEMPTS:
            record("gave_up", id="%d" % pending[0][0])
            pending.pop(0)
    close(session)


def close(session):
    if session is not None:
        try:
            session.quit()
        except (OSError, smtplib.SMTPException):
            pass
    return None


workers = [threading.Thread(target=worker) for dummy in range(threads)]
for w in workers:
    w.start()
for w in workers:
    w.join()
record("done", sent=state["next"])
