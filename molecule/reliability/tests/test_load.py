"""Issue 6.1: no mail is lost while the gateway is changed under load."""

import collections
import json
import time

from conftest import SCENARIO, podman, recap, run_playbook, save_result
from conftest_lib import wait_for

RATE = 12            # messages per second, paced
MINIMUM = 2000       # the load runs until this many were sent and the changes are done
EXTRA_LISTENER = {"service": "127.0.0.1:10026", "type": "inet", "private": "n", "chroot": "n", "command": "smtpd",
                  "options": {"syslog_name": "postfix/rl-extra", "smtpd_client_restrictions": "permit_mynetworks, reject"}}
# Each change is applied on top of the previous ones, as an admin would.
CHANGES = [
    ("postfix reload (message_size_limit)", ["postfix"], {"postfix_message_size_limit": 20971520}),
    # master(8) starts a new listener on SIGHUP: a reload, not a restart.
    ("postfix reload (new master.cf listener)", ["postfix"], {"postfix_extra_services": [EXTRA_LISTENER]}),
    # inet_protocols is read only at start (postconf(5)): the one restart.
    ("postfix restart (inet_protocols)", ["postfix"], {"postfix_inet_protocols": "ipv4"}),
    ("postgresql pg_hba change (reload)", ["postgresql"], {"postgresql_hba_extra": [
        {"type": "hostssl", "database": "quarantine", "user": "quarantine", "address": "127.0.0.2/32",
         "method": "scram-sha-256"}]}),
    ("apache vhost change (graceful reload)", ["quarantine_web"], {"quarantine_web_hsts_max_age": 31536000}),
]
# Connection problems a client sees while a daemon restarts.
FAILURES = ("refused", "connect_error", "tempfail", "unacknowledged")
# The one restart (inet_protocols) may cost the clients at most this many
# failed attempts: about 5 s of refused connections at RATE. Measured: 14
# (9 refused, 1 connect error, 4 unacknowledged). Reloads must cost none.
RESTART_FAILURE_BOUND = 5 * RATE


def jsonl(host, path):
    return [json.loads(line) for line in host.file(path).content_string.splitlines() if line.strip()]


def test_no_mail_lost_while_changing_under_load(gw, sink, peer, gw_address):
    podman("cp", str(SCENARIO / "files" / "loadgen.py"), "rl-peer:/root/loadgen.py")
    podman("cp", str(SCENARIO / "files" / "prober.py"), "rl-gw:/root/prober.py")
    sink.run_expect([0], "find /var/tmp/sink -type f -delete")
    # A load generator or prober of an earlier, failed run would still be sending.
    peer.run_expect([0], "pkill -f '/root/[l]oadgen.py'; rm -f /root/rl-stop /root/load.log")
    gw.run_expect([0], "pkill -f '/root/[p]rober.py'; rm -f /root/rl-stop /root/probe.log")
    internal = gw_address["internal"]
    probed = ["127.0.0.1:5432", "%s:28443" % internal, "%s:28080" % internal]
    podman("exec", "-d", "rl-gw", "python3", "/root/prober.py", "/root/rl-stop", "/root/probe.log", *probed)
    podman("exec", "-d", "rl-peer", "python3", "/root/loadgen.py", gw_address["external"], "25", str(RATE),
           str(MINIMUM), "/root/rl-stop", "/root/load.log", "4", "5")
    time.sleep(5)

    windows = []
    extra = {}
    for label, roles, change in CHANGES:
        extra.update(change)
        start = time.time()
        proc = run_playbook("apply.yml", dict(extra, rl_roles=roles))
        end = time.time()
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
        counts = recap(proc.stdout)
        assert counts["changed"] > 0, label
        windows.append({"change": label, "start": start, "end": end, "changed": counts["changed"]})
        time.sleep(3)
    # The listener change is live (by a reload): the new listener is bound.
    assert "127.0.0.1:10026" in gw.check_output("ss -Hltn")

    peer.run_expect([0], "touch /root/rl-stop")
    assert wait_for(lambda: '"done"' in peer.file("/root/load.log").content_string, 600), "the load did not finish"
    gw.run_expect([0], "touch /root/rl-stop")
    # check_output: a postqueue that fails (prints nothing) must not pass as "empty".
    drained = wait_for(lambda: gw.check_output("postqueue -j").strip() == "", 300, 2)
    time.sleep(2)   # smtp-sink writes the dump file as it answers 250

    events = jsonl(peer, "/root/load.log")
    probes = [p for p in jsonl(gw, "/root/probe.log") if "error" in p]
    delivered = collections.Counter(
        line.split(":", 1)[1].strip()
        for line in sink.check_output("cat /var/tmp/sink/* | grep '^X-Load-Id:'").splitlines())
    accepted = [e["id"] for e in events if e["kind"] == "accepted"]
    sent = next(e["sent"] for e in events if e["kind"] == "done")
    accepted_seqs = collections.Counter(i.split(".")[0] for i in accepted)
    # Deliveries per message (every attempt id of one sequence number).
    delivered_seqs = collections.Counter()
    for load_id, n in delivered.items():
        delivered_seqs[load_id.split(".")[0]] += n

    def in_window(t, w):
        return w["start"] <= t <= w["end"] + 2

    for w in windows:
        w["client_failures"] = dict(collections.Counter(
            e["kind"] for e in events if e["kind"] in FAILURES and in_window(e["t"], w)))
        w["refused_connections"] = sum(1 for e in events if e["kind"] == "refused" and in_window(e["t"], w))
        w["probe_failures"] = dict(collections.Counter(p["target"] for p in probes if in_window(p["t"], w)))
    outside = [e for e in events if e["kind"] in FAILURES and not any(in_window(e["t"], w) for w in windows)]
    result = {
        "messages_sent": sent,
        "attempts_accepted": len(accepted),
        "messages_accepted": len(accepted_seqs),
        "delivered": sum(delivered.values()),
        "lost": sorted(set(accepted) - set(delivered)),
        "delivered_more_than_once": sorted(i for i, n in delivered.items() if n > 1),
        "delivered_unacknowledged": sorted(set(delivered) - set(accepted)),
        # SMTP is at-least-once: an attempt queued but never acknowledged
        # (the connection died after DATA) is retried and delivered twice.
        "messages_delivered_twice": sum(n - 1 for n in delivered_seqs.values()),
        "gave_up": [e["id"] for e in events if e["kind"] == "gave_up"],
        "client_failures": dict(collections.Counter(e["kind"] for e in events if e["kind"] in FAILURES)),
        "failures_outside_changes": len(outside),
        "queue_drained": drained,
        "changes": windows,
        "rate_per_second": RATE,
        "duration_s": round(max(e["t"] for e in events) - min(e["t"] for e in events), 1),
    }
    save_result("load", result)
    print(json.dumps(result, indent=2))

    assert sent >= MINIMUM
    assert result["queue_drained"], gw.check_output("postqueue -p | tail -20")
    assert result["lost"] == [], "accepted but never delivered"
    assert result["delivered_more_than_once"] == []
    assert result["gave_up"] == []
    # Every message was eventually accepted (loadgen stops retrying a message
    # once it is accepted, so "accepted once" would test loadgen, not us).
    assert sorted(int(s) for s in accepted_seqs) == list(range(sent))
    # What the gateway guarantees: every message reached the sink, and a
    # message reached it twice only for an attempt the client never saw
    # acknowledged (that is SMTP), which must be one the client retried.
    assert sorted(int(s) for s in delivered_seqs) == list(range(sent))
    assert result["messages_delivered_twice"] == len(result["delivered_unacknowledged"])
    assert all(i.split(".")[0] in accepted_seqs for i in result["delivered_unacknowledged"])
    # Refusals: none outside the change windows, none during a reload (Postfix,
    # PostgreSQL, Apache), none on the probed ports during a Postfix change,
    # and a bounded few during the one restart.
    assert result["failures_outside_changes"] == 0, outside[:5]
    for w in windows:
        if "restart" in w["change"]:
            assert sum(w["client_failures"].values()) <= RESTART_FAILURE_BOUND, w
            assert w["probe_failures"] == {}, w
        else:
            assert w["client_failures"] == {} and w["refused_connections"] == 0, w
            assert w["probe_failures"] == {}, w
