"""Issue 6.2: a change the validator rejects never goes live.

Each role gets a change its own validator refuses. The run must fail with
the validator's message and report no change, every file under the trees the
roles write (backup directories included, so a swap that was rolled back
shows) must keep its bytes, every daemon its PID, and each port must answer
throughout (probed every 100 ms from inside the gateway while the run goes
on).
"""

import json

import pytest

from conftest import SCENARIO, checksums, leftovers, pids, podman, recap, run_playbook, save_result

CASES = [
    # (id, role, extra vars, what the validator says)
    ("postfix main.cf that postfix check rejects", "postfix",
     {"postfix_extra_parameters": {"mail_owner": "nosuchuser"}},
     "parameter mail_owner: unknown user name value: nosuchuser"),
    ("postfix master.cf service with a bad command", "postfix",
     {"postfix_extra_services": [{"service": "127.0.0.1:10027", "type": "inet", "command": "smtpdd"}]},
     "command 'smtpdd' is not a program in daemon_directory"),
    ("apache vhost that fails apache2 -t", "quarantine_web",
     {"quarantine_web_disabled_modules": ["authz_core"]},
     "Invalid command 'Require'"),
    ("postgresql.conf the server refuses", "postgresql",
     {"postgresql_extra_parameters": {"work_mem": "lots"}},
     'invalid value for parameter "work_mem": "lots"'),
]
RESULTS = []


@pytest.mark.parametrize("label,role,extra,message", CASES, ids=[c[0] for c in CASES])
def test_rejected_change_never_goes_live(gw, gw_address, label, role, extra, message):
    internal = gw_address["internal"]
    ports = ["127.0.0.1:25", "%s:25" % gw_address["external"], "127.0.0.1:5432",
             "%s:28443" % internal, "%s:28080" % internal]
    before, pids_before = checksums(gw), pids(gw)
    podman("cp", str(SCENARIO / "files" / "prober.py"), "rl-gw:/root/prober.py")
    gw.run_expect([0], "rm -f /root/rl-stop /root/probe.log; pkill -f '/root/[p]rober.py'; true")
    podman("exec", "-d", "rl-gw", "python3", "/root/prober.py", "/root/rl-stop", "/root/probe.log", *ports)
    try:
        proc = run_playbook("apply.yml", dict(extra, rl_roles=[role]))
    finally:
        gw.run_expect([0], "touch /root/rl-stop")
    output = proc.stdout + proc.stderr
    gw.run_expect([0], "for i in $(seq 50); do grep -q done /root/probe.log && exit 0; sleep 0.1; done; exit 1")
    probe_log = [json.loads(line) for line in gw.file("/root/probe.log").content_string.splitlines()]
    failures = [p for p in probe_log if "error" in p]
    probes = next(p["done"] for p in probe_log if "done" in p)
    outcome = {
        "case": label, "failed_as_expected": proc.returncode != 0, "validator_message": message in output,
        "files_unchanged": checksums(gw) == before, "daemons_untouched": pids(gw) == pids_before,
        "probes": probes, "probe_failures": len(failures), "leftovers": leftovers(gw),
        "tasks_changed": recap(proc.stdout)["changed"],
    }
    RESULTS.append(outcome)
    save_result("validation", RESULTS)
    assert proc.returncode != 0, output[-3000:]
    assert message in output, output[-3000:]
    assert outcome["tasks_changed"] == 0, output[-3000:]
    assert outcome["files_unchanged"], [p for p in set(before) | set(checksums(gw))
                                        if before.get(p) != checksums(gw).get(p)]
    assert outcome["daemons_untouched"], (pids_before, pids(gw))
    assert probes > 0 and failures == [], failures[:10]
    assert outcome["leftovers"] == []
