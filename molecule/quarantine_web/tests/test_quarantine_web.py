"""What a LAN user and an outsider see of the quarantine web server."""

import json
import os
import shlex
import subprocess
import sys
import tempfile

from pathlib import Path

import pytest
import yaml
from conftest_lib import EXTERNAL, INTERNAL, address_by_prefix, check_mode_changes, connect_outcome, listeners

SCENARIO = Path(__file__).resolve().parents[1]

SERVER_NAME = "quarantine.example.test"
HTTP_PORT = 28080
HTTPS_PORT = 28443
DISABLED = ["cgi", "cgid", "dav", "dav_fs", "autoindex", "status", "userdir", "info"]

# Runs inside an instance: one HTTP(S) request, the answer as JSON. The
# certificate is self-signed, so it is not verified (the tests are about
# what the server sends, not about the PKI).
_HTTP = r"""
import http.client, json, ssl, sys
scheme, addr, port, method, path = sys.argv[1:6]
if scheme == "https":
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    conn = http.client.HTTPSConnection(addr, int(port), timeout=10, context=ctx)
else:
    conn = http.client.HTTPConnection(addr, int(port), timeout=10)
conn.request(method, path)
resp = conn.getresponse()
body = resp.read().decode("utf-8", "replace")
print(json.dumps({"status": resp.status, "headers": dict(resp.getheaders()), "body": body}))
"""

# Runs inside an instance: handshake with exactly one TLS version. Before
# asking the server, the client proves it can offer that version at all, by
# completing the same handshake with a loopback server that accepts it; an
# OpenSSL 3 client refuses TLS < 1.2 unless the security level is 0, and a
# "refused" from a client that never offered the version would prove nothing.
_TLS = r"""
import socket, ssl, sys, threading
addr, port, version, cert, key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
tls_version = getattr(ssl.TLSVersion, version)

def context(side):
    ctx = ssl.SSLContext(side)
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    ctx.minimum_version = tls_version
    ctx.maximum_version = tls_version
    if side == ssl.PROTOCOL_TLS_CLIENT:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    else:
        ctx.load_cert_chain(cert, key)
    return ctx

def handshake(host, port):
    with socket.create_connection((host, port), timeout=10) as raw:
        with context(ssl.PROTOCOL_TLS_CLIENT).wrap_socket(raw) as tls:
            return tls.version()

try:
    server_ctx = context(ssl.PROTOCOL_TLS_SERVER)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    def serve():
        conn, _ = listener.accept()
        try:
            server_ctx.wrap_socket(conn, server_side=True).close()
        except (ssl.SSLError, OSError):
            conn.close()
    threading.Thread(target=serve, daemon=True).start()
    handshake("127.0.0.1", listener.getsockname()[1])
except (ssl.SSLError, OSError, ValueError) as exc:
    print("untestable", exc)
    sys.exit(0)

try:
    print("accepted", handshake(addr, port))
except ssl.SSLError as exc:
    print("refused", exc)
"""


def run_py(host, script, *args):
    cmd = "python3 - %s <<'PYEOF'\n%s\nPYEOF" % (" ".join(shlex.quote(str(a)) for a in args), script)
    return host.run(cmd)


def request(host, scheme, addr, port, method="GET", path="/"):
    out = run_py(host, _HTTP, scheme, addr, port, method, path)
    assert out.rc == 0, out.stderr
    return json.loads(out.stdout)


@pytest.fixture(scope="module")
def internal(gw):
    addr = address_by_prefix(gw, INTERNAL)
    assert addr
    return addr


@pytest.fixture(scope="module")
def external(gw):
    addr = address_by_prefix(gw, EXTERNAL)
    assert addr
    return addr


def test_check_mode_predicts_no_change_on_the_converged_host():
    # First in the file, before any test changes the hosts: after converge
    # and idempotence, --check --diff must predict exactly nothing.
    assert check_mode_changes(__file__) == []


def test_apache_listens_on_the_internal_address_only(gw, internal):
    apache = {(addr, port) for proto, addr, port, proc in listeners(gw) if proto == "tcp" and proc == "apache2"}
    assert apache == {(internal, HTTP_PORT), (internal, HTTPS_PORT)}
    ports = {port for proto, addr, port, proc in listeners(gw) if proto == "tcp"}
    assert 80 not in ports and 443 not in ports


def test_ports_conf_has_only_the_internal_listen_lines(gw, internal):
    lines = [line.strip() for line in gw.file("/etc/apache2/ports.conf").content_string.splitlines()
             if line.strip() and not line.strip().startswith("#")]
    assert lines == ["Listen %s:%d" % (internal, HTTP_PORT), "Listen %s:%d" % (internal, HTTPS_PORT)]


def test_default_sites_disabled(gw):
    enabled = set(gw.check_output("ls /etc/apache2/sites-enabled").split())
    assert enabled == {"securemail-quarantine-redirect.conf", "securemail-quarantine.conf"}


def test_plain_port_redirects_to_https(gw, internal):
    resp = request(gw, "http", internal, HTTP_PORT)
    assert resp["status"] == 301
    assert resp["headers"]["Location"] == "https://%s:%d/" % (SERVER_NAME, HTTPS_PORT)
    deep = request(gw, "http", internal, HTTP_PORT, path="/release?id=42")
    assert deep["status"] == 301
    assert deep["headers"]["Location"].startswith("https://%s:%d/release" % (SERVER_NAME, HTTPS_PORT))


def test_https_serves_the_placeholder_with_security_headers(gw, internal):
    resp = request(gw, "https", internal, HTTPS_PORT)
    assert resp["status"] == 200
    assert "securemail quarantine placeholder" in resp["body"]
    headers = resp["headers"]
    assert headers["Strict-Transport-Security"].startswith("max-age=")
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert "ETag" not in headers


@pytest.mark.parametrize("scheme,port", [("http", HTTP_PORT), ("https", HTTPS_PORT)])
def test_server_header_names_no_version(gw, internal, scheme, port):
    assert request(gw, scheme, internal, port)["headers"]["Server"] == "Apache"


@pytest.mark.parametrize("scheme,port", [("http", HTTP_PORT), ("https", HTTPS_PORT)])
def test_trace_refused(gw, internal, scheme, port):
    assert request(gw, scheme, internal, port, method="TRACE")["status"] in (403, 405)


def test_no_directory_listing(gw, internal):
    gw.run("mkdir -p /var/www/quarantine/listing-probe && touch /var/www/quarantine/listing-probe/secret.txt")
    try:
        resp = request(gw, "https", internal, HTTPS_PORT, path="/listing-probe/")
    finally:
        gw.run("rm -rf /var/www/quarantine/listing-probe")
    assert resp["status"] in (403, 404)
    assert "secret.txt" not in resp["body"] and "Index of" not in resp["body"]


@pytest.mark.parametrize("version", ["TLSv1_2", "TLSv1_3"])
def test_current_tls_accepted(gw, internal, version):
    out = run_py(gw, _TLS, internal, HTTPS_PORT, version,
                 "/etc/apache2/securemail/quarantine.crt", "/etc/apache2/securemail/quarantine.key").stdout
    assert out.startswith("accepted"), out


@pytest.mark.parametrize("version", ["TLSv1", "TLSv1_1"])
def test_old_tls_refused(gw, internal, version):
    out = run_py(gw, _TLS, internal, HTTPS_PORT, version,
                 "/etc/apache2/securemail/quarantine.crt", "/etc/apache2/securemail/quarantine.key").stdout
    if out.startswith("untestable"):
        pytest.skip("the instance's TLS client cannot offer %s: %s" % (version, out))
    assert out.startswith("refused"), out


@pytest.mark.parametrize("port", [HTTP_PORT, HTTPS_PORT])
def test_outsider_refused_on_the_external_address(outsider, external, port):
    # Refused (not a timeout): the gateway is reachable, the port is closed.
    assert connect_outcome(outsider, external, port) == "refused"


def test_unneeded_modules_not_loaded(gw):
    loaded = gw.check_output("apache2ctl -M 2>/dev/null")
    for name in DISABLED:
        assert " %s_module " % name not in loaded + " "
    for name in ("ssl", "headers", "rewrite"):
        assert " %s_module " % name in loaded


def test_configtest_clean(gw):
    out = gw.run("apache2ctl -t")
    assert out.rc == 0
    assert (out.stdout + out.stderr).strip() == "Syntax OK"


def test_private_key_root_only(gw):
    key = gw.file("/etc/apache2/securemail/quarantine.key")
    assert key.user == "root" and key.mode == 0o600


def _tree_digest(host):
    # The backup directory too: a change that was swapped in and then rolled
    # back leaves /etc/apache2 as it was, but not the backups (converge made
    # the directory: its first swap backed up Debian's files).
    return host.check_output("cd / && find etc/apache2 var/backups/securemail-apache2 -printf '%p %l\\n' | sort | md5sum && "
                             "find etc/apache2 var/backups/securemail-apache2 -type f | sort | xargs md5sum | md5sum")


def test_foreign_listen_address_refused_and_host_unchanged(gw, external):
    """An address the host does not have fails the run naming the variable."""
    before = _tree_digest(gw)
    playbook = ("- hosts: qw-gw\n  gather_facts: true\n  roles:\n"
                "    - role: securemail.gateway.quarantine_web\n"
                "      vars: {quarantine_web_listen_address: 192.0.2.77}\n")
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as handle:
        handle.write(playbook)
    try:
        ansible = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
        proc = subprocess.run([ansible, "-i", "qw-gw,", "-c", "containers.podman.podman", handle.name],
                              capture_output=True, text=True, check=False,
                              env=dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_HOST_KEY_CHECKING="0"))
    finally:
        os.unlink(handle.name)
    assert proc.returncode != 0
    output = proc.stdout + proc.stderr
    assert "quarantine_web_listen_address: 192.0.2.77 is not an address of" in output, output[-3000:]
    assert _tree_digest(gw) == before


# Issue 12: what opens the host up is refused before anything changes (each
# case on its own inventory host, all of them qw-gw, one playbook run), an
# existing document root keeps its mode, and the opt-in lets an outside
# document root through.
CASE_KEY, CASE_CERT, CASE_KEY_0640 = "/root/qw-case.key", "/root/qw-case.crt", "/root/qw-case-0640.key"
ROOT_LINK = "/var/www/qw-root-link"
REFUSED = [
    ("quarantine_web_document_root", {"quarantine_web_document_root": "/root"}),
    ("quarantine_web_document_root", {"quarantine_web_document_root": ROOT_LINK}),
    ("quarantine_web_document_root", {"quarantine_web_document_root": "/var/www-other"}),
    ("quarantine_web_tls_cipher_suite", {"quarantine_web_tls_cipher_suite": "ALL:eNULL"}),
    ("quarantine_web_tls_cipher_suite", {"quarantine_web_tls_cipher_suite": "AES128-SHA"}),
    ("quarantine_web_tls_key_file", {"quarantine_web_tls_cert_file": CASE_CERT,
                                     "quarantine_web_tls_key_file": CASE_KEY}),
    ("quarantine_web_tls_key_file", {"quarantine_web_tls_cert_file": CASE_CERT,
                                     "quarantine_web_tls_key_file": CASE_KEY_0640}),
    ("quarantine_web_hsts_max_age", {"quarantine_web_hsts_max_age": 0}),
]


def run_cases(cases, tmp_path, *options):
    """cases.yml once, one inventory host (qw-gw) per dict of variables.

    Returns, per case: [failure message or None, tasks that changed, WARNING tasks that ran].
    """
    hosts = {"case-%02d" % i: dict(variables, ansible_host="qw-gw", ansible_connection="containers.podman.podman",
                                   ansible_python_interpreter="/usr/bin/python3")
             for i, variables in enumerate(cases)}
    inventory = tmp_path / "cases.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": hosts}}))
    env = dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_HOST_KEY_CHECKING="0",
               ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_LOAD_CALLBACK_PLUGINS="1")
    ansible = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    proc = subprocess.run([ansible, "-i", str(inventory), str(SCENARIO / "cases.yml")] + list(options),
                          capture_output=True, text=True, env=env, check=False)
    report = json.loads(proc.stdout)
    out = {host: [None, [], []] for host in hosts}
    for play in report["plays"]:
        for task in play["tasks"]:
            for host, result in task["hosts"].items():
                if result.get("changed"):
                    out[host][1].append(task["task"]["name"])
                if result.get("failed") and out[host][0] is None:
                    items = [r.get("msg", "") for r in result.get("results", []) if r.get("failed")]
                    out[host][0] = " ".join(items) or result.get("msg", "")
                if "WARNING" in task["task"]["name"] and not result.get("skipped"):
                    out[host][2].append(task["task"]["name"])
    return [out["case-%02d" % i] for i in range(len(cases))]


def test_a_vhost_apache_rejects_never_goes_live(gw, tmp_path):
    # The role's own behaviour, not a copy of its command: without
    # mod_authz_core the vhosts' Require lines do not parse, so the candidate
    # check must refuse the run with Apache's message and leave the live
    # tree and the running Apache alone.
    before, pid = _tree_digest(gw), gw.check_output("cat /var/run/apache2/apache2.pid")
    results = run_cases([{"quarantine_web_disabled_modules": ["authz_core"]}], tmp_path)
    message, changed, _warnings = results[0]
    assert message is not None and "Invalid command 'Require'" in message, results
    assert changed == [], changed
    assert _tree_digest(gw) == before
    assert gw.check_output("cat /var/run/apache2/apache2.pid") == pid


def test_dangerous_input_refused_before_any_change(gw, tmp_path):
    gw.check_output("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=qw-case -keyout %s -out %s 2>/dev/null"
                    " && chmod 0644 %s && install -m 0640 %s %s && ln -sfn /root %s"
                    % (CASE_KEY, CASE_CERT, CASE_KEY, CASE_KEY, CASE_KEY_0640, ROOT_LINK))
    before, root_before = _tree_digest(gw), gw.file("/root").mode
    try:
        results = run_cases([variables for _name, variables in REFUSED], tmp_path, "-f", "4")
    finally:
        gw.run("rm -f %s %s %s %s" % (CASE_KEY, CASE_CERT, CASE_KEY_0640, ROOT_LINK))
    for (name, variables), (message, changed, _warnings) in zip(REFUSED, results):
        assert message is not None and message.startswith(name), (variables, message)
        assert changed == [], (variables, changed)
    assert _tree_digest(gw) == before
    assert gw.file("/root").mode == root_before == 0o700
    assert not gw.file("/root/index.html").exists


def test_existing_document_root_keeps_its_mode_and_opt_in_lets_an_outside_one_through(gw, tmp_path):
    gw.check_output("rm -rf /srv/qw-existing /opt/qw-outside && mkdir -p -m 0750 /srv/qw-existing")
    try:
        # The content part only (validate.yml runs with every tag): Apache's
        # configuration is not touched.
        results = run_cases([{"quarantine_web_document_root": "/srv/qw-existing"},
                             {"quarantine_web_document_root": "/opt/qw-outside",
                              "quarantine_web_allow_any_document_root": True}],
                            tmp_path, "--tags", "securemail_quarantine_web_content", "-f", "1")
        existing, outside = gw.file("/srv/qw-existing"), gw.file("/opt/qw-outside")
        assert results[0][0] is None and results[1][0] is None, results
        assert existing.mode == 0o750 and existing.user == "root"
        assert gw.file("/srv/qw-existing/index.html").exists
        assert not [name for name in results[0][1] if name.endswith("Document root, when missing")]
        assert results[0][2] == [] and len(results[1][2]) == 1
        assert results[1][2][0].endswith("WARNING the document root is outside /var/www and /srv")
        assert outside.is_directory and outside.mode == 0o755
    finally:
        gw.run("rm -rf /srv/qw-existing /opt/qw-outside")
