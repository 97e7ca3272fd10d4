"""Issue 6.3: malformed input is refused before anything changes.

Each case is one inventory host that is really the gateway container, so a
batch of cases runs in one ansible-playbook process (bad_input.yml), one fork
each. Per case: the run fails, the message names the variable, and no task
reported a change before the refusal. Around each batch (BATCH cases): every
file under the trees the roles write keeps its bytes, mode and owner, and
every daemon its PID, so a case that changed something is found within its
batch.
"""

import json
import os
import subprocess
import sys

import yaml

import dangerous_others
import dangerous_postfix
from conftest import JSON_CALLBACK, SCENARIO, ansible_env, checksums, leftovers, pids, save_result, task_results

SECRET = "sasl-Secret-7f3e"
BATCH = 10           # cases per ansible-playbook run, all in parallel (-f BATCH)
MISSING_CERT, MISSING_KEY = "/etc/ssl/nosuch.pem", "/etc/ssl/nosuch.key"
SNAKEOIL = "/etc/ssl/certs/ssl-cert-snakeoil.pem"
OTHER_KEY = "/root/rl-other.key"       # a key of its own, made by the test
# (variable or module option named in the error, role or module, arguments)
ROLE_CASES = [
    # wrong types
    ("postfix_message_size_limit", "postfix", {"postfix_message_size_limit": "big"}),
    ("postfix_helo_required", "postfix", {"postfix_helo_required": "maybe"}),
    ("postgresql_max_connections", "postgresql", {"postgresql_max_connections": "many"}),
    ("quarantine_web_hsts_max_age", "quarantine_web", {"quarantine_web_hsts_max_age": "forever"}),
    # unknown choices
    ("postfix_mode", "postfix", {"postfix_mode": "relay"}),
    ("postfix_config_mode", "postfix", {"postfix_config_mode": "overwrite"}),
    ("content_filter_spam_destiny", "content_filter", {"content_filter_spam_destiny": "delete"}),
    # CIDRs that do not parse
    ("postfix_mynetworks", "postfix", {"postfix_mynetworks": ["10.0.0.0/33"]}),
    ("postfix_mynetworks", "postfix", {"postfix_mynetworks": ["10.0.0.256/24"]}),
    ("postgresql_allowed_hosts", "postgresql", {"postgresql_allowed_hosts": ["10.1.2.0/40"]}),
    ("postgresql_hba_extra", "postgresql", {"postgresql_hba_extra": [
        {"type": "hostssl", "database": "quarantine", "user": "quarantine", "address": "10.0.0.0/", "method": "scram-sha-256"}]}),
    # relay domains with spaces or shell metacharacters
    ("postfix_relay_domains", "postfix", {"postfix_relay_domains": ["example .org"]}),
    ("postfix_relay_domains", "postfix", {"postfix_relay_domains": ["example.org;reboot"]}),
    ("postfix_relay_domains", "postfix", {"postfix_relay_domains": ["$(id).example.org"]}),
    ("content_filter_local_domains", "content_filter", {"content_filter_local_domains": ["example.org|sh"]}),
    # newlines meant to inject a second parameter
    ("postfix_smtpd_banner", "postfix", {"postfix_smtpd_banner": "$myhostname ESMTP\nmynetworks = 0.0.0.0/0"}),
    ("postfix_extra_parameters", "postfix", {"postfix_extra_parameters": {"smtpd_banner": "x\nrelayhost = [evil]"}}),
    ("postfix_smtp_sasl_passwords", "postfix", {"postfix_smtp_sasl_passwords": {"[smtp.example.org]:587": "u:%s\nrelayhost = [evil]" % SECRET}}),
    ("postgresql_extra_parameters", "postgresql", {"postgresql_extra_parameters": {"work_mem": "4MB\nlisten_addresses = '*'"}}),
    ("postfix_transport_map", "postfix", {"postfix_transport_map": {"example.org": "smtp:[a]\nexample.net smtp:[evil]"}}),
    # ports out of range
    ("postgresql_port", "postgresql", {"postgresql_port": 70000}),
    ("quarantine_web_https_port", "quarantine_web", {"quarantine_web_https_port": 70000}),
    ("quarantine_web_http_port", "quarantine_web", {"quarantine_web_http_port": 0}),
    ("content_filter_listen_port", "content_filter", {"content_filter_listen_port": 70000}),
    ("content_filter_quarantine_dir", "content_filter", {"content_filter_quarantine_dir": "/var/lib/amavis/q'; system('id'); '"}),
    # listen addresses that are not on the host
    ("postfix_inet_interfaces", "postfix", {"postfix_inet_interfaces": ["192.0.2.10"]}),
    ("postgresql_listen_addresses", "postgresql", {"postgresql_listen_addresses": ["192.0.2.10"]}),
    ("quarantine_web_listen_address", "quarantine_web", {"quarantine_web_listen_address": "192.0.2.10"}),
    # missing TLS files, and a key that is not the certificate's
    ("postfix_tls_cert_file", "postfix", {"postfix_tls_cert_file": MISSING_CERT, "postfix_tls_key_file": MISSING_KEY}),
    ("postfix_tls_key_file", "postfix", {"postfix_tls_cert_file": SNAKEOIL, "postfix_tls_key_file": OTHER_KEY}),
    # packages left to the admin (postfix_install: false) that are not there
    ("postfix_sender_authentication", "postfix", {"postfix_install": False, "postfix_sender_authentication": True}),
    ("content_filter_packages", "content_filter",
     {"content_filter_install": False, "content_filter_hostname": "gw.example.test"}),
    ("quarantine_web_tls_cert_file", "quarantine_web",
     {"quarantine_web_tls_cert_file": MISSING_CERT, "quarantine_web_tls_key_file": MISSING_KEY}),
    ("quarantine_web_tls_key_file", "quarantine_web",
     {"quarantine_web_tls_cert_file": SNAKEOIL, "quarantine_web_tls_key_file": OTHER_KEY}),
    ("postgresql_ssl_cert_file", "postgresql", {"postgresql_ssl_cert_file": MISSING_CERT}),
    ("postgresql_ssl_key_file", "postgresql", {"postgresql_ssl_key_file": OTHER_KEY}),
    # trust over TCP without the explicit opt-in
    ("postgresql_hba_extra", "postgresql", {"postgresql_hba_extra": [
        {"type": "host", "database": "all", "user": "all", "address": "10.0.0.0/8", "method": "trust"}]}),
    # other malformed values
    ("postgresql_db_name", "postgresql", {"postgresql_db_name": "q; DROP DATABASE postgres"}),
    ("quarantine_web_server_name", "quarantine_web", {"quarantine_web_server_name": "q.example.org;reboot"}),
    ("quarantine_web_document_root", "quarantine_web", {"quarantine_web_document_root": "/var/www/../../etc"}),
    ("postfix_smtpd_banner", "postfix", {"postfix_smtpd_banner": "$myhostname ESMTP Postfix (Debian/GNU)"}),
    ("postfix_relayhost", "postfix", {"postfix_relayhost": "[smtp.example.org]:587 -o x"}),
]
# Well-formed but dangerous input (issue 12): refused the same way.
ROLE_CASES += dangerous_postfix.CASES + dangerous_others.CASES
MODULE_CASES = [
    ("smtpd_banner", "postconf", {"parameters": {"smtpd_banner": "x\nrelayhost = [evil]"}}),
    ("smtpd_bannner", "postconf", {"parameters": {"smtpd_bannner": "typo"}}),
    ("services[0] (127.0.0.1:10027/inet).command", "postconf_master",
     {"services": [{"service": "127.0.0.1:10027", "type": "inet", "command": "smtpd\nevil inet n - n - - smtpd"}]}),
    ("127.0.0.1:10027/inet: command 'smtpdd'", "postconf_master",
     {"services": [{"service": "127.0.0.1:10027", "type": "inet", "command": "smtpdd"}]}),
    ("type", "postconf_master", {"services": [{"service": "smtp", "type": "tcp", "command": "smtpd"}]}),
    ("path", "postmap", {"path": "/etc/postfix/nosuch_table"}),
]


def role_defaults(gw, sink_address):
    """What the inventory gives rl-gw, written out (the cases are other inventory hosts)."""
    return {
        "postfix_relay_domains": ["example.org"],
        "postfix_relay_recipients": ["alice@example.org", "postmaster@example.org"], "postfix_smtpd_sender_restrictions": ["reject_non_fqdn_sender"],
        "postfix_smtpd_recipient_restrictions": ["reject_non_fqdn_recipient"],
        "postfix_mode": "gateway", "postfix_content_filter_enabled": False, "postfix_myhostname": "gw.example.test",
        "postfix_transport_map": {"example.org": "smtp:[%s]:25" % sink_address},
        "postgresql_db_password": "rl-db-secret-4c1f9a", "quarantine_web_server_name": "quarantine.example.test",
        # The content filter is off on rl-gw, so the inventory leaves its host
        # name to the default (the container's dotless one), which the role
        # refuses: a content_filter case must fail only for its own reason.
        "content_filter_hostname": "gw.example.test",
    }


def test_malformed_input_refused_before_any_change(gw, sink, gw_address, tmp_path):
    from conftest_lib import INTERNAL, address_by_prefix
    gw.run_expect([0], "test -f /root/rl-other.key || openssl genrsa -out /root/rl-other.key 2048 2>/dev/null")
    for command in dangerous_others.SETUP:
        gw.run_expect([0], command)
    base = role_defaults(gw, address_by_prefix(sink, INTERNAL))
    connection = {"ansible_connection": "containers.podman.podman", "ansible_host": "rl-gw",
                  "ansible_python_interpreter": "/usr/bin/python3"}
    role_hosts, module_hosts, expected = {}, {}, {}
    for i, (name, role, args) in enumerate(ROLE_CASES):
        host = "role-case-%02d" % i
        case_vars = dict(base, quarantine_web_listen_address=gw_address["internal"], **connection)
        case_vars.update(args, rl_role=role)
        role_hosts[host] = case_vars
        expected[host] = (name, role, args)
    for i, (name, module, args) in enumerate(MODULE_CASES):
        host = "module-case-%02d" % i
        module_hosts[host] = dict(connection, rl_module=module, rl_args=args)
        expected[host] = (name, module, args)
    inventory = tmp_path / "cases.yml"
    inventory.write_text(yaml.safe_dump({"all": {"children": {
        "role_cases": {"hosts": role_hosts}, "module_cases": {"hosts": module_hosts}}}}))

    hosts = sorted(expected)
    files_before, pids_before = checksums(gw), pids(gw)
    batches, output = [], ""
    all_results = []
    for start in range(0, len(hosts), BATCH):
        batch = hosts[start:start + BATCH]
        proc = subprocess.run(
            [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", str(inventory),
             "-f", str(BATCH), "--limit", ",".join(batch), str(SCENARIO / "bad_input.yml")],
            capture_output=True, text=True, check=False,
            env=ansible_env(**JSON_CALLBACK))
        output += proc.stdout + proc.stderr
        all_results += task_results(json.loads(proc.stdout))
        files_after, pids_after = checksums(gw), pids(gw)
        batches.append({"cases": batch,
                        "files_changed": sorted(p for p in set(files_before) | set(files_after)
                                                if files_before.get(p) != files_after.get(p)),
                        "daemons_restarted": sorted(n for n in pids_before if pids_before[n] != pids_after.get(n))})
        files_before, pids_before = files_after, pids_after

    failures, changes = {}, {}
    for task, host, result in all_results:
        if result.get("changed"):
            changes.setdefault(host, []).append(task)
        if result.get("failed") and host not in failures:
            # A loop's own msg is generic; the failed item says why.
            items = [r.get("msg", "") for r in result.get("results", []) if r.get("failed")]
            failures[host] = " ".join(items) or result.get("msg", "")
    cases = []
    for host, (name, target, args) in sorted(expected.items()):
        message = failures.get(host)
        cases.append({"case": host, "target": target, "names": name, "refused": message is not None,
                      "names_the_variable": bool(message) and name in message,
                      "changed_before_refusal": changes.get(host, []),
                      "message": (message or "")[:300]})
    result = {
        "tried": len(cases),
        "refused_cleanly": sum(1 for c in cases if c["refused"] and c["names_the_variable"]
                               and not c["changed_before_refusal"]),
        "files_unchanged": all(not b["files_changed"] for b in batches),
        "daemons_untouched": all(not b["daemons_restarted"] for b in batches),
        "batches": batches,
        "secret_in_output": SECRET in output,
        "leftovers": leftovers(gw),
        "cases": cases,
    }
    save_result("bad_input", result)
    for c in cases:
        print("%-16s %-15s %-5s %s" % (c["case"], c["target"], c["refused"], c["message"][:150].replace("\n", " ")))

    assert len(cases) >= 30
    assert [c for c in cases if not c["refused"]] == []
    assert [c["case"] + ": " + c["message"] for c in cases if not c["names_the_variable"]] == []
    assert [c for c in cases if c["changed_before_refusal"]] == []
    assert [b for b in batches if b["files_changed"] or b["daemons_restarted"]] == []
    assert not result["secret_in_output"]
    assert result["leftovers"] == []


def test_opt_in_lets_a_refused_input_through_in_check_mode(gw, sink, gw_address, tmp_path):
    """Each documented opt-in turns its refusal into a run that passes validation.

    The same playbook in check mode, one host per (refused input + opt-in):
    no host may fail, and the gateway keeps every byte and PID (check mode
    only predicts).
    """
    from conftest_lib import INTERNAL, address_by_prefix
    base = role_defaults(gw, address_by_prefix(sink, INTERNAL))
    connection = {"ansible_connection": "containers.podman.podman", "ansible_host": "rl-gw",
                  "ansible_python_interpreter": "/usr/bin/python3"}
    cases = [("postfix", refused, opt_in) for refused, opt_in in dangerous_postfix.OPT_INS]
    cases += dangerous_others.OPT_INS
    hosts = {}
    for i, (role, refused, opt_in) in enumerate(cases):
        hosts["opt-in-%02d" % i] = dict(base, quarantine_web_listen_address=gw_address["internal"],
                                        rl_role=role, **connection, **refused, **opt_in)
    inventory = tmp_path / "opt_ins.yml"
    inventory.write_text(yaml.safe_dump({"all": {"children": {"role_cases": {"hosts": hosts}}}}))
    files_before, pids_before = checksums(gw), pids(gw)
    # One fork: these hosts pass validation and reach the engine, and all of
    # them are the same container, whose per-role lock refuses a second run
    # at the same time (as it should for two real converges).
    proc = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", str(inventory),
         "-f", "1", "--check", str(SCENARIO / "bad_input.yml")],
        capture_output=True, text=True, check=False,
        env=ansible_env(**JSON_CALLBACK))
    report = json.loads(proc.stdout)
    failed = {}
    for _task, host, result in task_results(report):
        if result.get("failed") or result.get("unreachable"):
            failed.setdefault(host, result.get("msg", ""))
    assert sorted(report["stats"]) == sorted(hosts)
    assert failed == {}
    assert checksums(gw) == files_before
    assert pids(gw) == pids_before
