"""Issue 6.4: a converge killed part way is recovered by the next one.

Each kill point carries a change that needs a restart (a loopback listener
added or removed), so "recovered" is visible on the running daemon: after
the next converge the listener is bound exactly when declared. The kill is a
SIGKILL of ansible-playbook's whole process group (controller, workers, the
podman exec clients) when the named task header is printed.
"""

import time

import pytest

from conftest import leftovers, recap, run_playbook, run_until, save_result

LISTENER = {"service": "127.0.0.1:10026", "type": "inet", "private": "n", "chroot": "n", "command": "smtpd",
            "options": {"syslog_name": "postfix/rl-extra", "smtpd_client_restrictions": "permit_mynetworks, reject"}}
TASK = r"TASK \[securemail\.gateway\.postfix : %s\]"
POINTS = [
    # (label, listener declared, pattern, seconds to wait after the header)
    ("after backup", True, TASK % "Remember that a reload or restart is owed", 0),
    ("during render", False, TASK % "Render the candidate main.cf and master.cf", 0.5),
    ("after swap", True, TASK % "Postfix accepts the live configuration", 0),
    ("before handlers", False, TASK % "Postfix is enabled and running", 0),
]
RESULTS = []


def change(present):
    return {"rl_roles": ["postfix"], "postfix_extra_services": [LISTENER] if present else []}


def bound(gw):
    return "127.0.0.1:10026" in gw.check_output("ss -Hltn")


def smtp_listening(gw):
    return ":25 " in gw.check_output("ss -Hltn")


def test_start_from_the_declared_state(gw):
    proc = run_playbook("apply.yml", change(False))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert not bound(gw)


@pytest.mark.parametrize("label,present,pattern,delay", POINTS, ids=[p[0] for p in POINTS])
def test_killed_converge_is_recovered(gw, label, present, pattern, delay):
    output, killed = run_until("apply.yml", change(present), pattern, delay)
    assert killed, "the run never reached %r:\n%s" % (pattern, output[-3000:])
    time.sleep(1)
    after_kill = {"smtp_listening": smtp_listening(gw), "leftovers": leftovers(gw)}
    proc = run_playbook("apply.yml", change(present))
    outcome = {
        "point": label, "killed": killed, "after_kill": after_kill,
        "recovery_rc": proc.returncode, "listener_as_declared": bound(gw) == present,
        "smtp_listening": smtp_listening(gw), "leftovers": leftovers(gw),
        "postfix_check": gw.run("postfix check").rc == 0,
        # Ansible's own remote temp dirs of the killed run: Ansible's to clean, reported only.
        "ansible_remote_tmp_left": len(gw.run("ls -d /root/.ansible/tmp/ansible-tmp-* 2>/dev/null").stdout.split()),
    }
    outcome["recovered"] = (proc.returncode == 0 and outcome["listener_as_declared"] and outcome["smtp_listening"]
                            and outcome["leftovers"] == [] and outcome["postfix_check"])
    RESULTS.append(outcome)
    save_result("kill", RESULTS)
    print(outcome)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    # The mail service was never left down: listening right after the kill too.
    assert after_kill["smtp_listening"]
    assert outcome["recovered"], outcome


def test_converged_after_the_kills(gw):
    proc = run_playbook("apply.yml", change(False))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert recap(proc.stdout)["changed"] == 0, proc.stdout[-3000:]
