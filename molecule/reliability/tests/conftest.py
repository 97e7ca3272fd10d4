"""Fixtures and helpers for the reliability verifier (docs/reliability.md).

The tests change the live gateway with ansible-playbook (apply.yml) while
they probe it, and write their figures as JSON to tests/output/reliability/
(or $SECUREMAIL_RESULTS), where benchmarks/reliability_report reads them.
"""

import atexit
import json
import os
import re
import shutil
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared"))

from conftest_lib import instance_fixture  # noqa: E402  (needs the path above)

SCENARIO = Path(__file__).resolve().parents[1]
ROOT = SCENARIO.parents[1]
RESULTS = Path(os.environ.get("SECUREMAIL_RESULTS", ROOT / "tests" / "output" / "reliability"))

gw = instance_fixture("rl-gw", "gw")
sink = instance_fixture("rl-sink", "sink")
peer = instance_fixture("rl-peer", "peer")

# Every tree the roles write on the gateway, whole: tables, SASL
# credentials, TLS material, enable links and amavisd's conf.d included
# (bytes, mode and owner of each file, target of each link), and the backup
# directories (a swap that was rolled back still left a backup). A refused
# change leaves all of it as it was.
MANAGED_TREES = ("/etc/postfix", "/etc/postgresql/15/main", "/etc/apache2", "/etc/amavis/conf.d",
                 "/var/backups/securemail-postfix", "/var/backups/securemail-postgresql",
                 "/var/backups/securemail-apache2", "/var/backups/securemail-amavis")
# Files that must be among them, so an empty listing cannot pass as "unchanged".
MANAGED_FILES = ("/etc/postfix/main.cf", "/etc/postfix/master.cf", "/etc/postfix/transport.db",
                 "/etc/postgresql/15/main/pg_hba.conf", "/etc/apache2/ports.conf")
# The main process of each daemon: "untouched" means the same PID.
PIDFILES = {
    "postfix": "/var/spool/postfix/pid/master.pid",
    "postgresql": "/var/run/postgresql/15-main.pid",
    "apache2": "/var/run/apache2/apache2.pid",
}


def ansible_env(**extra):
    env = dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1", ANSIBLE_HOST_KEY_CHECKING="0")
    env.update(extra)
    return env


# Extra-vars files (some hold test passwords) live here, gone when pytest exits.
VARS_DIR = tempfile.mkdtemp(prefix="rl-vars.")
atexit.register(shutil.rmtree, VARS_DIR, True)


def podman(*args):
    """Run podman on the controller (copy files in, start detached helpers); return stdout."""
    return subprocess.run(["podman"] + list(args), capture_output=True, text=True, check=True).stdout


def playbook_argv(name, extra_vars=None, options=()):
    argv = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
            "-i", os.environ["MOLECULE_INVENTORY_FILE"], str(SCENARIO / name)]
    if extra_vars:
        handle, path = tempfile.mkstemp(prefix="vars.", suffix=".json", dir=VARS_DIR)
        with os.fdopen(handle, "w") as out:
            json.dump(extra_vars, out)
        argv += ["-e", "@" + path]
    return argv + list(options)


def run_playbook(name, extra_vars=None, options=(), **env):
    """Run a scenario playbook to the end; return the CompletedProcess."""
    return subprocess.run(playbook_argv(name, extra_vars, options), capture_output=True, text=True,
                          env=ansible_env(**env), check=False)


def run_until_paused(name, extra_vars, engine, step, timeout=600):
    """Run a playbook with the engine told to pause at step (SECUREMAIL_PAUSE_AT),
    and SIGKILL it (controller, workers, podman exec clients) once the engine
    on rl-gw says it is paused there; return (output, killed)."""
    env = ansible_env(SECUREMAIL_PAUSE_AT="%s:%s:300" % (engine, step))
    proc = subprocess.Popen(playbook_argv(name, extra_vars), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=env, start_new_session=True)
    deadline = time.time() + timeout
    killed = False
    flag = "/tmp/securemail-%s.*/paused" % engine
    probe = ["podman", "exec", "rl-gw", "sh", "-c", "cat %s 2>/dev/null" % flag]
    while time.time() < deadline and proc.poll() is None:
        paused = subprocess.run(probe, capture_output=True, text=True, check=False).stdout.split()
        if len(paused) == 3:
            # The module runs inside the container: killing the podman exec
            # client alone would leave it running, so it is killed there too.
            os.killpg(proc.pid, signal.SIGKILL)
            subprocess.run(["podman", "exec", "rl-gw", "kill", "-KILL", paused[2]], capture_output=True, check=False)
            killed = True
            break
        time.sleep(0.5)
    if not killed and proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    output = proc.communicate()[0]
    return output, killed


# Environment for a run whose stdout is one JSON report (task_results reads it).
JSON_CALLBACK = {"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json", "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1"}


def task_results(report):
    """(task name, host, result) of every task result in an ansible.posix.json report, in run order."""
    return [(task["task"]["name"], host, result) for play in report["plays"] for task in play["tasks"]
            for host, result in task["hosts"].items()]


def recap(output, host="rl-gw"):
    """The PLAY RECAP counters of host, e.g. {'ok': 40, 'changed': 2, 'failed': 0, ...}."""
    match = re.search(r"^%s\s*:\s*(.*)$" % re.escape(host), output, re.M)
    assert match, output[-3000:]
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", match.group(1))}


# Runs on the instance: every file (sha256, mode, owner) and link (target)
# under the trees given, as JSON. A tree that does not exist is left out.
_TREE_STATE = r"""
import hashlib, json, os, stat, sys
state = {}
for top in sys.argv[1:]:
    for dirpath, dirnames, filenames in os.walk(top):
        for name in sorted(dirnames + filenames):
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                state[path] = "-> " + os.readlink(path)
            elif stat.S_ISREG(st.st_mode):
                with open(path, "rb") as f:
                    digest = hashlib.sha256(f.read()).hexdigest()
                state[path] = "%s %o %d:%d" % (digest, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
            elif stat.S_ISDIR(st.st_mode):
                state[path] = "dir %o %d:%d" % (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
print(json.dumps(state))
"""


def checksums(host, trees=MANAGED_TREES):
    """{path: "sha256 mode uid:gid" of a file, "-> target" of a link, "dir mode uid:gid"} under every tree."""
    state = json.loads(host.check_output("python3 -c %s %s" % (shlex.quote(_TREE_STATE), " ".join(trees))))
    missing = [p for p in MANAGED_FILES if p not in state]
    assert not missing, "the checksum listing lacks %s" % missing
    return state


def pids(host):
    return {name: host.check_output("cat %s" % path).strip() for name, path in PIDFILES.items()}


def leftovers(host):
    """Scratch files any of our roles could leave behind."""
    out = host.run("ls -d /tmp/securemail-* /tmp/rl-* 2>/dev/null; ls /var/backups/securemail-*/pending* 2>/dev/null")
    return out.stdout.split()


def save_result(name, data):
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / ("%s.json" % name)).write_text(json.dumps(data, indent=2, sort_keys=True))


@pytest.fixture(scope="session", autouse=True)
def fresh_results():
    """Figures of an earlier run must not pass for this one's."""
    for old in RESULTS.glob("*.json") if RESULTS.exists() else []:
        old.unlink()


@pytest.fixture(scope="session")
def gw_address():
    import testinfra
    from conftest_lib import EXTERNAL, INTERNAL, address_by_prefix
    host = testinfra.get_host("podman://rl-gw")
    return {"external": address_by_prefix(host, EXTERNAL), "internal": address_by_prefix(host, INTERNAL)}
