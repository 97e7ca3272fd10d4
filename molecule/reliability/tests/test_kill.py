"""Issue 6.4: a converge killed part way is recovered by the next one.

Each kill point carries a change that needs a restart (a loopback listener
added or removed), so "recovered" is visible on the running daemon: after
the next converge the listener is bound exactly when declared. The kill is a
SIGKILL of ansible-playbook's whole process group (controller, workers, the
podman exec clients) while the safe-change engine is held at one of its steps
(SECUREMAIL_PAUSE_AT; plugins/module_utils/staged.py).
"""

import time

import pytest

from conftest import leftovers, recap, run_playbook, run_until_paused, save_result

LISTENER = {"service": "127.0.0.1:10026", "type": "inet", "private": "n", "chroot": "n", "command": "smtpd",
            "options": {"syslog_name": "postfix/rl-extra", "smtpd_client_restrictions": "permit_mynetworks, reject"}}
POINTS = [
    # (label, listener declared, engine step at which the run is killed)
    ("after backup", True, "backed_up"),
    ("during render", False, "staged"),
    ("after swap", True, "swapped"),
    ("before handlers", False, "checked"),
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


@pytest.mark.parametrize("label,present,step", POINTS, ids=[p[0] for p in POINTS])
def test_killed_converge_is_recovered(gw, label, present, step):
    output, killed = run_until_paused("apply.yml", change(present), "postfix", step)
    assert killed, "the run never reached %r:\n%s" % (step, output[-3000:])
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
