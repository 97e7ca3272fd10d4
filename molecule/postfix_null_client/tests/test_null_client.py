"""A null client listens nowhere and still delivers through its smarthost."""

import time
import uuid

from conftest_lib import check_mode_changes, listeners


def test_check_mode_predicts_no_change_on_the_converged_host():
    # First in the file, before any test changes the hosts: after converge
    # and idempotence, --check --diff must predict exactly nothing.
    assert check_mode_changes(__file__) == []


def test_no_smtp_listener_at_all(nc):
    tcp = {(addr, port, proc) for proto, addr, port, proc in listeners(nc) if proto == "tcp"}
    assert not [t for t in tcp if t[1] in (25, 465, 587)], tcp
    # Nothing Postfix-owned on a non-loopback address either.
    exposed = [t for t in tcp if not t[0].startswith("127.") and t[0] not in ("::1", "[::1]")]
    assert exposed == [], exposed


def test_loopback_only_and_no_local_delivery(nc):
    assert nc.run("postconf -h inet_interfaces").stdout.strip() == "loopback-only"
    assert nc.run("postconf -h mydestination").stdout.strip() == ""
    assert nc.run("postconf -h local_transport").stdout.startswith("error:")
    assert nc.run("postconf -M smtp/inet").stdout.strip() == ""


def test_local_mail_reaches_the_smarthost(nc, smarthost):
    subject = "nc-test-%s" % uuid.uuid4().hex
    sent = nc.run("printf 'Subject: %s\\n\\nnull client test\\n' | /usr/sbin/sendmail -f cron@example.org ops@example.org"
                  % subject)
    assert sent.rc == 0, sent.stderr
    deadline = time.time() + 60
    while time.time() < deadline and subject not in smarthost.run("cat /var/mail/root 2>/dev/null").stdout:
        time.sleep(1)
    mailbox = smarthost.run("cat /var/mail/root 2>/dev/null").stdout
    assert subject in mailbox
    assert "nc.example.test" in mailbox


def test_postfix_check_clean(nc):
    check = nc.run("postfix check")
    assert check.rc == 0 and check.stderr.strip() == "" and check.stdout.strip() == ""
    assert nc.run("postconf -n").stderr.strip() == ""


def test_tables_the_role_does_not_need_are_not_written(nc, smarthost):
    # The null client sets no table and no alias: main.cf names none, and the
    # system's /etc/aliases is kept and indexed (hash, the default type).
    assert nc.run("postconf -h alias_maps alias_database").stdout.split() == ["hash:/etc/aliases"] * 2
    assert nc.file("/etc/aliases.db").exists and nc.file("/etc/aliases").contains("^postmaster:")
    for name in ("aliases", "transport", "relay_recipients", "client_access", "sender_access", "virtual"):
        assert not nc.file("/etc/postfix/%s" % name).exists, name
    assert nc.run("postconf -h transport_maps virtual_alias_maps").stdout.split() == []
    # The smarthost asked for its own aliases and for lmdb: both, and only the tables it uses.
    assert smarthost.run("postconf -h alias_maps").stdout.strip() == "lmdb:/etc/postfix/aliases"
    assert smarthost.file("/etc/postfix/aliases.lmdb").exists and not smarthost.file("/etc/postfix/aliases.db").exists
    assert smarthost.package("postfix-lmdb").is_installed and not nc.package("postfix-lmdb").is_installed
    assert not smarthost.file("/etc/postfix/client_access").exists


# The role as a user's own playbook includes it: include_role with apply, the
# roles: keyword, and the role's tags (roles/postfix/README.md, "Tags").
INCLUDED = """
- hosts: nc
  gather_facts: false
  tasks:
    - name: The postfix role, included
      ansible.builtin.include_role:
        name: securemail.gateway.postfix
        apply:
          tags: [securemail_postfix]
      tags: [securemail_postfix]
      vars: %(vars)s
"""
# Included without apply and tagged always: the include always runs, and the
# role's own tags pick the part.
INCLUDED_ANY_PART = """
- hosts: nc
  gather_facts: false
  tasks:
    - name: The postfix role, included
      ansible.builtin.include_role:
        name: securemail.gateway.postfix
      tags: [always]
      vars: %(vars)s
"""
LISTED = """
- hosts: nc
  gather_facts: false
  roles:
    - role: securemail.gateway.postfix
      vars: %(vars)s
"""
ENGINE = "Postfix configuration, mode template"
CHECKS = "The role's variables are safe"
POLICY = "Publish the Postfix exposure policy"


def run_playbook(tmp_path, template, smarthost, *args):
    """(returncode, {task name: result} of nc's tasks that ran (not skipped), stdout) of a playbook run on nc."""
    import json
    import os
    import subprocess
    import sys

    from conftest_lib import INTERNAL, address_by_prefix

    variables = {"postfix_mode": "null_client", "postfix_myhostname": "nc.example.test", "postfix_myorigin": "example.org",
                 "postfix_relayhost": "[%s]:25" % address_by_prefix(smarthost, INTERNAL)}
    playbook = tmp_path / "play.yml"
    playbook.write_text(template % {"vars": json.dumps(variables)})
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
               ANSIBLE_FORCE_COLOR="0", ANSIBLE_HOST_KEY_CHECKING="0")
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i",
                           os.environ["MOLECULE_INVENTORY_FILE"], str(playbook)] + list(args),
                          capture_output=True, text=True, env=env, check=False)
    report = json.loads(proc.stdout)
    # Task names without the "securemail.gateway.postfix : " the callback puts before a role's tasks.
    ran = {task["task"]["name"].split(" : ", 1)[-1]: task["hosts"]["nc"] for play in report["plays"] for task in play["tasks"]
           if "nc" in task["hosts"] and not task["hosts"]["nc"].get("skipped")}
    return proc.returncode, ran, proc.stdout


def ran_any(ran, start):
    return any(name.startswith(start) for name in ran)


def test_include_role_with_apply_runs_the_whole_role_under_its_tag(tmp_path, smarthost):
    rc, ran, out = run_playbook(tmp_path, INCLUDED, smarthost, "--tags", "securemail_postfix")
    assert rc == 0, out[-3000:]
    assert CHECKS in ran and ENGINE in ran and ran_any(ran, POLICY), sorted(ran)
    assert not ran[ENGINE]["changed"]


def test_one_part_runs_with_the_input_checks_and_nothing_else(tmp_path, smarthost):
    # include_role, one part: the policy, after the checks (tagged always).
    rc, ran, out = run_playbook(tmp_path, INCLUDED_ANY_PART, smarthost, "--tags", "securemail_postfix_policy")
    assert rc == 0, out[-3000:]
    assert CHECKS in ran and ran_any(ran, POLICY) and ENGINE not in ran, sorted(ran)
    # roles:, the tables: the engine call (every file Postfix reads), not the policy.
    rc, ran, out = run_playbook(tmp_path, LISTED, smarthost, "--tags", "securemail_postfix_tables")
    assert rc == 0, out[-3000:]
    assert CHECKS in ran and ENGINE in ran and not ran_any(ran, POLICY), sorted(ran)
    # Skipping the role skips its checks too.
    rc, ran, out = run_playbook(tmp_path, LISTED, smarthost, "--skip-tags", "securemail_postfix")
    assert rc == 0, out[-3000:]
    assert CHECKS not in ran and ENGINE not in ran, sorted(ran)


def test_a_misspelled_variable_is_named_with_the_one_meant(tmp_path, smarthost):
    rc, ran, out = run_playbook(tmp_path, LISTED, smarthost, "--tags", "securemail_postfix_policy",
                                "-e", '{"postfix_relayhosts": "[192.0.2.1]:25", "postfix__internal": 1}')
    assert rc == 0, out[-3000:]
    warning = [result for name, result in ran.items() if name.startswith("WARNING variables that carry")]
    assert warning and warning[0]["msg"] == [
        "postfix_relayhosts is not a variable of this role and is ignored (did you mean postfix_relayhost?)"], warning
