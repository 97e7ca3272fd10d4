"""Helpers for the testinfra verifiers of every Molecule scenario.

A scenario's ``tests/conftest.py`` makes them importable with::

    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared"))
    from conftest_lib import *  # noqa: F401,F403

Addresses: the instance's NIC order follows network *names*, so an address is
found by its prefix, never by interface name:
``EXTERNAL`` (podman's default network, 10.88.0.0/16) and ``INTERNAL`` (the
scenario network ``<scenario>-int``, 10.89.N.0/24).
"""

from __future__ import annotations

import base64
import json
import re
import shlex
import time
from pathlib import Path

import yaml


def instance_name(name: str) -> str:
    """The instance a scenario's tests call ``name``: a scenario that reuses another's tests (trixie runs
    default's) names its own instances with the prefix SECUREMAIL_INSTANCE_PREFIX (e.g. ``tx-``) in its
    provisioner env."""
    import os

    return os.environ.get("SECUREMAIL_INSTANCE_PREFIX", "") + name


def instance_fixture(instance: str, name: str | None = None):
    """A module-scoped testinfra host fixture for the Molecule instance ``instance``.

    A scenario's tests/conftest.py declares its instances with one line each,
    e.g. ``gw = instance_fixture("gw")`` or ``gw1 = instance_fixture("cl-gw1", "gw1")``.
    """
    import pytest
    import testinfra

    @pytest.fixture(scope="module", name=name or instance)
    def host_fixture():
        return testinfra.get_host("podman://" + instance)

    return host_fixture


EXTERNAL = "10.88."
INTERNAL = "10.89."

_USERS_RE = re.compile(r'\("([^"]+)",pid=\d+')

# Runs on the instance: connect, optionally send, read until EOF or timeout,
# print what came back. The exit status says how the connection attempt
# ended (CONNECT_OUTCOMES), so a test can tell "nothing listens there" from
# "the packets never arrived" and from a broken probe.
_CLIENT = r"""
import errno, socket, sys
addr, port, timeout, payload = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
try:
    s = socket.create_connection((addr, port), timeout=timeout)
except ConnectionRefusedError as e:
    print(type(e).__name__, e, file=sys.stderr)
    sys.exit(2)
except socket.timeout as e:
    print(type(e).__name__, e, file=sys.stderr)
    sys.exit(3)
except OSError as e:
    print(type(e).__name__, e, file=sys.stderr)
    sys.exit(4 if e.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH) else 5)
if payload:
    s.sendall(payload.encode())
data = b""
try:
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
except socket.timeout:
    pass
sys.stdout.write(data.decode("utf-8", "replace"))
"""
CONNECT_OUTCOMES = {0: "connected", 2: "refused", 3: "timeout", 4: "unreachable"}


def addresses(host) -> list[tuple[str, str, int]]:
    """All IPv4 addresses of the instance as (interface, address, prefixlen)."""
    out = host.check_output("ip -4 -o addr show")
    result = []
    for line in out.splitlines():
        # "2: eth1    inet 10.88.0.3/16 brd 10.88.255.255 scope global eth1\ ..."
        fields = line.split()
        if len(fields) >= 4 and fields[2] == "inet":
            addr, _sep, plen = fields[3].partition("/")
            result.append((fields[1], addr, int(plen or 32)))
    return result


def address_by_prefix(host, prefix: str) -> str:
    """The instance's IPv4 address starting with ``prefix`` (e.g. EXTERNAL).

    Fails when there is none: a test that went on with None would "prove"
    that nothing answers at an address that does not exist.
    """
    found = addresses(host)
    for _ifname, addr, _plen in found:
        if addr.startswith(prefix):
            return addr
    raise AssertionError("no address starting with %s on %s (it has %s)"
                         % (prefix, getattr(host.backend, "name", host), [a for _i, a, _p in found]))


def _split_addr_port(local: str) -> tuple[str, int]:
    addr, _sep, port = local.rpartition(":")
    # "[::1]" -> "::1", "127.0.0.53%lo" -> "127.0.0.53"
    addr = addr.strip("[]").split("%", 1)[0]
    return addr, int(port)


def listeners(host) -> set[tuple[str, str, int, str | None]]:
    """Listening TCP and bound UDP sockets as {(proto, addr, port, process)}.

    ``addr`` is as ss prints it without brackets or %interface ("0.0.0.0",
    "::", "*", "10.89.0.2"). A socket shared by several processes (Postfix
    master and its smtpd children) yields one tuple per process name; process
    is None when ss cannot tell (needs --cap-add=SYS_PTRACE).
    """
    out = host.check_output("ss -Hltnup")
    result = set()
    for line in out.splitlines():
        fields = line.split()
        if len(fields) < 5:
            continue
        proto = fields[0]
        addr, port = _split_addr_port(fields[4])
        names = sorted(set(_USERS_RE.findall(line))) or [None]
        for name in names:
            result.add((proto, addr, port, name))
    return result


def listening_sockets(host) -> set[tuple[str, str, int]]:
    """``listeners`` without the process: {(proto, addr, port)}."""
    return {(proto, addr, port) for proto, addr, port, _name in listeners(host)}


def tcp_exchange(host, addr: str, port: int, payload: str = "", timeout: float = 3.0):
    """From ``host``, connect to addr:port, send payload, return what came back.

    Returns None when the connection fails (refused, unreachable, timeout).
    Uses the instance's python3 (no nc/curl in the image).
    """
    res = _client(host, addr, port, payload, timeout)
    if res.rc != 0:
        return None
    return res.stdout


def _client(host, addr: str, port: int, payload: str, timeout: float):
    assert isinstance(addr, str) and addr, "no address to connect to: %r" % (addr,)
    cmd = "python3 -c {} {} {} {} {}".format(
        shlex.quote(_CLIENT),
        shlex.quote(addr),
        int(port),
        float(timeout),
        shlex.quote(payload),
    )
    return host.run(cmd)


def connect_outcome(host, addr: str, port: int, timeout: float = 3.0) -> str:
    """How a TCP connection from ``host`` to addr:port ends.

    "connected"; "refused" (an RST: the address is there, nothing listens on
    that port); "timeout" (no answer: filtered or routed nowhere);
    "unreachable" (ICMP or no route). Anything else (the probe itself broke)
    fails the calling test rather than passing as "could not connect".
    """
    res = _client(host, addr, port, "", timeout)
    if res.rc in CONNECT_OUTCOMES:
        return CONNECT_OUTCOMES[res.rc]
    raise AssertionError("connection probe %s:%s failed (rc=%s): %s %s"
                         % (addr, port, res.rc, res.stdout, res.stderr))


def can_connect(host, addr: str, port: int, timeout: float = 3.0) -> bool:
    """True when ``host`` can open a TCP connection to addr:port; a broken probe fails the test."""
    return connect_outcome(host, addr, port, timeout) == "connected"


def run_module(instance: str, module: str, args: dict) -> dict:
    """Run a collection module on ``instance`` through Ansible's podman connection; return its result."""
    import json
    import os
    import subprocess
    import sys

    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="json", ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
               ANSIBLE_HOST_KEY_CHECKING="0", ANSIBLE_PYTHON_INTERPRETER="/usr/bin/python3")
    ansible = os.path.join(os.path.dirname(sys.executable), "ansible")
    proc = subprocess.run([ansible, "-i", instance + ",", "-c", "containers.podman.podman", instance,
                           "-m", module, "-a", json.dumps(args)],
                          capture_output=True, text=True, env=env, check=False)
    try:
        return json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"][instance]
    except (ValueError, KeyError, IndexError) as exc:
        raise AssertionError("%s on %s failed: %s %s" % (module, instance, proc.stdout[-2000:], proc.stderr[-2000:])) from exc


def probe_smtp(instance: str, target: str, port: int = 25, **options) -> dict:
    """Run securemail.gateway.smtp_probe on ``instance`` against target:port.

    The probe runs where a real client would be (a peer instance), so
    verifiers test the module users run.
    """
    return run_module(instance, "securemail.gateway.smtp_probe", dict(options, host=target, port=port))


_SENDER = r"""
import smtplib, sys
addr, port, helo, sender, rcpt, subject = sys.argv[1:7]
msg = "From: %s\r\nTo: %s\r\nSubject: %s\r\n\r\nsecuremail.gateway molecule test\r\n" % (sender, rcpt, subject)
try:
    with smtplib.SMTP(addr, int(port), local_hostname=helo, timeout=20) as s:
        s.sendmail(sender, [rcpt], msg)
    print("250 accepted")
except smtplib.SMTPRecipientsRefused as e:
    code, text = list(e.recipients.values())[0]
    print(code, text.decode())
except smtplib.SMTPResponseException as e:
    print(e.smtp_code, e.smtp_error.decode())
"""


def send_mail(host, addr: str, port: int, sender: str, rcpt: str, subject: str,
              helo: str = "client.example.net") -> str:
    """From ``host``, send one message with smtplib; return "CODE text" of the outcome."""
    args = " ".join(shlex.quote(str(a)) for a in (addr, port, helo, sender, rcpt, subject))
    out = host.run("python3 - %s <<'PYEOF'\n%s\nPYEOF" % (args, _SENDER))
    return out.stdout.strip() or out.stderr.strip()


_PG_STARTUP = r"""
import socket, struct, sys
addr, port, user, db = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
try:
    s = socket.create_connection((addr, port), timeout=5)
except OSError as e:
    print("refused", type(e).__name__)
    sys.exit(0)
params = b"user\0" + user.encode() + b"\0database\0" + db.encode() + b"\0\0"
s.sendall(struct.pack("!ii", 8 + len(params), 196608) + params)
kind = s.recv(1)
body = s.recv(4096)
if kind == b"R":
    print("auth-requested")  # pg_hba matched: the server asks for credentials
elif kind == b"E":
    print("rejected", body.decode("utf-8", "replace").replace("\0", " "))
else:
    print("other", kind)
"""


def pg_startup(host, addr: str, port: int = 5432, user: str = "quarantine", db: str = "quarantine") -> str:
    """From ``host``, open a PostgreSQL session up to authentication.

    "auth-requested" means pg_hba accepted the client and asked for a
    password; "rejected ..." carries the server's reason (e.g. no pg_hba.conf
    entry); "refused ..." means nothing listens there. No psql needed.
    """
    args = " ".join(shlex.quote(str(a)) for a in (addr, port, user, db))
    return host.run("python3 - %s <<'PYEOF'\n%s\nPYEOF" % (args, _PG_STARTUP)).stdout.strip()


def sql_quarantine(host) -> bool:
    """Whether amavisd on ``host`` keeps its quarantine in PostgreSQL (content_filter_sql_host)."""
    return host.run("grep -q '^@storage_sql_dsn' /etc/amavis/conf.d/50-user").rc == 0


def quarantine_sql(host, query: str, database: str = "quarantine") -> str:
    """``query`` as the postgres superuser on ``host``'s quarantine database; unaligned rows."""
    return host.check_output("runuser -u postgres -- psql -X -q -A -t -v ON_ERROR_STOP=1 -d %s -c %s"
                             % (shlex.quote(database), shlex.quote(query)))


def quarantined(host, subject: str, directory: str = "/var/lib/amavis/virusmails") -> list[str]:
    """The quarantine copies of the message with this Subject on ``host``: mail_ids of stored copies in PostgreSQL
    when amavisd keeps its quarantine there, else the files under ``directory``."""
    if sql_quarantine(host):
        # A stored copy, not only the log row every message gets.
        return quarantine_sql(host, "SELECT encode(m.mail_id, 'escape') FROM msgs m WHERE m.subject = '%s'"
                                    " AND m.quar_type = 'Q' AND EXISTS (SELECT 1 FROM quarantine q"
                                    " WHERE q.mail_id = m.mail_id)" % subject.replace("'", "''")).split()
    return host.run("grep -rlF -- %s %s" % (shlex.quote(subject), directory)).stdout.split()


# Sends one message to alice; prints the reply to DATA. A file is attached
# byte for byte (the sandbox's ClamAV signature is the EICAR file's hash).
_SEND_TO_ALICE = r"""
import base64, smtplib, sys
addr, sender, subject, body, attachment = sys.argv[1:6]
headers = ("From: %s\r\nTo: alice@example.org\r\nSubject: %s\r\nDate: Sun, 06 Dec 2026 12:00:00 +0000\r\n"
           "Message-ID: <%s>\r\nMIME-Version: 1.0\r\n" % (sender, subject, sender))
if attachment:
    data = base64.b64decode(attachment)
    text = (headers + "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\n"
            "%s\r\n--b1\r\nContent-Type: text/plain; name=\"eicar.txt\"\r\n"
            "Content-Disposition: attachment; filename=\"eicar.txt\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            "%s\r\n--b1--\r\n" % (body, base64.b64encode(data).decode()))
else:
    text = headers + "Content-Type: text/plain\r\n\r\n" + body + "\r\n"
s = smtplib.SMTP(addr, 25, local_hostname="outsider.example.net", timeout=30)
s.ehlo(); s.mail(sender); s.rcpt("alice@example.org")
print(s.data(text.encode())[0])
s.quit()
"""


def send_to_alice(outsider, addr: str, subject: str, body: str, attachment: bytes = b"") -> None:
    """From the outsider, one message to alice@example.org through the gateway at ``addr``; 250 or the test fails."""
    # The sender is made of the subject's letters and digits, so a subject may be anything.
    sender = "q-%s@example.net" % re.sub(r"[^a-z0-9-]+", "-", subject.lower()).strip("-")[:48]
    args = " ".join(shlex.quote(a) for a in (addr, sender, subject, body,
                                             base64.b64encode(attachment).decode()))
    out = outsider.run("python3 - %s <<'PYEOF'\n%s\nPYEOF" % (args, _SEND_TO_ALICE))
    assert out.stdout.strip() == "250", out.stderr


# The anti-spam and anti-virus test strings. EICAR is split so that no file of
# this checkout is itself the test virus.
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
EICAR = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-" + "ANTIVIRUS-TEST-FILE!$H+H*"

# One HTTPS request from a client host to the quarantine site; prints status,
# cookies, Location, Content-Type and body as JSON. The site's certificate is
# self-signed.
_HTTP = r"""
import http.client, json, ssl, sys
from urllib.parse import urlencode
req = json.loads(sys.argv[1])
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
c = http.client.HTTPSConnection(req["addr"], 28443, context=ctx, timeout=90)
headers = {"Cookie": req["cookie"]}
body = None
if req["form"] is not None:
    body = urlencode(req["form"])
    headers["Content-Type"] = "application/x-www-form-urlencoded"
c.request(req["method"], req["path"], body=body, headers=headers)
r = c.getresponse()
print(json.dumps({"status": r.status, "cookies": r.headers.get_all("Set-Cookie") or [],
                  "location": r.getheader("Location"), "ctype": r.getheader("Content-Type"),
                  "body": r.read().decode("utf-8", "replace")}))
"""


class Browser:
    """A cookie jar and the requests a browser would send to the quarantine site at ``addr``, from ``client``;
    ``passwords`` maps the accounts the scenario declares (quarantine_web_users) to their passwords."""

    def __init__(self, client, addr, passwords=None):
        self.client, self.addr, self.jar = client, addr, {}
        self.passwords = passwords or {}

    def request(self, method, path, form=None, cookie=None):
        req = {"addr": self.addr, "method": method, "path": path, "form": form,
               "cookie": cookie if cookie is not None else "; ".join("%s=%s" % kv for kv in self.jar.items())}
        out = self.client.run("python3 - %s <<'PYEOF'\n%s\nPYEOF" % (shlex.quote(json.dumps(req)), _HTTP))
        assert out.rc == 0, out.stderr
        answer = json.loads(out.stdout)
        for line in answer["cookies"]:
            name, value = line.split(";", 1)[0].split("=", 1)
            if "Max-Age=0" in line:
                self.jar.pop(name, None)
            else:
                self.jar[name] = value
        return answer

    def csrf(self, body):
        found = re.search(r'name="csrf" value="([^"]+)"', body)
        assert found, body
        return found.group(1)

    def login(self, user, password=None):
        form = self.request("GET", "/login")
        return self.request("POST", "/login", {"csrf": self.csrf(form["body"]), "user": user,
                                               "password": password if password is not None else self.passwords[user]})

    def rows(self, page_body, message_id):
        """The list page's rows that name ``message_id``."""
        return [r for r in page_body.split('<tr class="message">')[1:] if message_id in r]


def scenario_host_vars(test_file: str, host: str) -> dict:
    """The host_vars of ``host`` in the molecule.yml of the scenario that ``test_file`` (a tests/*.py) belongs to."""
    molecule = yaml.safe_load((Path(test_file).resolve().parents[1] / "molecule.yml").read_text())
    return molecule["provisioner"]["inventory"]["host_vars"][host]


def quarantine_passwords(test_file: str, host: str) -> dict:
    """email -> password of the quarantine_web_users the scenario's molecule.yml gives ``host``."""
    return {u["email"]: u["password"] for u in scenario_host_vars(test_file, host).get("quarantine_web_users", [])}


def wait_for(condition, timeout: float, step: float = 1.0) -> bool:
    """Whether ``condition()`` became true within ``timeout`` s, asked every ``step`` s and once more at the end."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(step)
    return bool(condition())


def mailbox_count(hub, text: str, mailbox: str = "/var/mail/root") -> int:
    """How many lines of the hub's mailbox contain ``text``."""
    return int(hub.run("grep -cF -- %s %s" % (shlex.quote(text), mailbox)).stdout.strip() or 0)


def delivered_count(hub, text: str, timeout: int = 180, settle: int = 5) -> int:
    """How many lines of the hub's mailbox contain ``text`` once the first has come (at most ``timeout`` s), and
    ``settle`` s more, in which a second copy would come right behind the first. The bound only ends a wait for
    mail that never comes: on a loaded CI host amavisd may take a minute for one message."""
    wait_for(lambda: mailbox_count(hub, text) > 0, timeout, 2)
    time.sleep(settle)
    return mailbox_count(hub, text)


def stored_row(gateway, subject: str, timeout: int = 120) -> list[str]:
    """The message's log row once amavisd has finished with it: content, quarantine type, mail_id, secret_id,
    the recipient's address and release status, and the size of the stored copy."""
    query = ("SELECT m.content, m.quar_type, encode(m.mail_id, 'escape'), encode(m.secret_id, 'escape'),"
             " convert_from(a.email, 'UTF8'), r.rs,"
             " (SELECT coalesce(sum(length(q.mail_text)), 0) FROM quarantine q WHERE q.mail_id = m.mail_id)"
             " FROM msgs m JOIN msgrcpt r ON r.mail_id = m.mail_id JOIN maddr a ON a.id = r.rid"
             " WHERE m.subject = '%s' AND m.content IS NOT NULL" % subject.replace("'", "''"))
    deadline = time.time() + timeout
    while time.time() < deadline:
        out = quarantine_sql(gateway, query)
        if out:
            return out.split("|")
        time.sleep(2)
    raise AssertionError("no finished row for %s in msgs" % subject)


def cron_job(host, path: str) -> tuple[str, str]:
    """The one job of the /etc/cron.d file ``path`` on ``host``: (user, command); the test fails unless there is
    exactly one (comments and VAR=value lines are not jobs)."""
    jobs = [line for line in host.file(path).content_string.splitlines()
            if line and not line.startswith("#") and "=" not in line.split()[0]]
    assert len(jobs) == 1, jobs
    fields = jobs[0].split(None, 6)
    return fields[5], fields[6]


def run_cron_job(host, path: str, user: str) -> str:
    """Runs the one job of ``path`` now, as cron would (as its user, through sh), after checking it runs as
    ``user``; its output, which the job line may send to /dev/null, is returned."""
    owner, command = cron_job(host, path)
    assert owner == user, (path, owner)
    return host.check_output("runuser -u %s -- sh -c %s" % (user, shlex.quote(command.replace(">/dev/null", ""))))


def check_mode_changes(test_file: str, playbook: str = "converge.yml") -> list[tuple[str, str]]:
    """(host, task) of every task a ``--check --diff`` run of the scenario's playbook reports changed.

    ``test_file`` is the calling test's ``__file__`` (the scenario is its
    parent's parent). The run uses Molecule's inventory; a failed host fails
    the calling test. Molecule's own check step only requires that the run
    does not fail; this lets a test require what it predicts.
    """
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    scenario = Path(test_file).resolve().parents[1]
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
               ANSIBLE_FORCE_COLOR="0", ANSIBLE_HOST_KEY_CHECKING="0")
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i",
                           os.environ["MOLECULE_INVENTORY_FILE"], str(scenario / playbook), "--check", "--diff"],
                          capture_output=True, text=True, env=env, check=False)
    try:
        report = json.loads(proc.stdout)
    except ValueError as exc:
        raise AssertionError("the check run printed no report: %s" % (proc.stdout[-2000:] + proc.stderr[-2000:])) from exc
    failed = {host: stats for host, stats in report["stats"].items() if stats["failures"] or stats["unreachable"]}
    assert proc.returncode == 0 and not failed, (failed, proc.stderr[-2000:])
    return [(host, task["task"]["name"]) for play in report["plays"] for task in play["tasks"]
            for host, result in task["hosts"].items() if result.get("changed")]


def fresh_host_runs(playbook: str = "converge.yml") -> tuple[list[list[str]], list[list[str]]]:
    """(predicted, changed): the (host, task) pairs that the first ``--check`` run of the playbook after the
    scenario's last create reported changed, and those its first real run changed.

    Read from what benchmarks/bench_tasks.py (a callback the scenario's
    provisioner env enables, with BENCH_TASKS_LOG in the ephemeral directory)
    wrote for each playbook run. Fails when either run is missing, when the
    real run came first (then check mode did not see fresh hosts), or when
    either run failed a host.
    """
    import json
    import os

    path = os.environ["BENCH_TASKS_LOG"]
    runs = []
    with open(path) as handle:
        for record in map(json.loads, handle):
            if record["kind"] == "playbook":
                runs.append(dict(record, changed=[], failed=[]))
            elif record["kind"] == "task" and runs:
                if record["changed"] and record["status"] == "ok":
                    runs[-1]["changed"].append([record["host"], record["task"]])
                if record["status"] in ("failed", "unreachable"):
                    runs[-1]["failed"].append([record["host"], record["task"]])
    creates = [i for i, run in enumerate(runs) if run["playbook"] == "create.yml"]
    assert creates, "no create run recorded in %s: is the bench_tasks callback enabled?" % path
    since = [run for run in runs[creates[-1]:] if run["playbook"] == playbook]
    checks = [i for i, run in enumerate(since) if run["check"]]
    reals = [i for i, run in enumerate(since) if not run["check"]]
    assert checks and reals, "need a --check run and a real run of %s after create, got %s" % (playbook, since)
    assert checks[0] < reals[0], "the first %s run after create was not the --check one" % playbook
    check, real = since[checks[0]], since[reals[0]]
    assert check["failed"] == [] and real["failed"] == [], (check["failed"], real["failed"])
    return sorted(check["changed"]), sorted(real["changed"])
