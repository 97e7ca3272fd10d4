"""merge mode keeps the vendor's lines, and gives what template mode gives."""

from conftest_lib import check_mode_changes, listeners

VENDOR = "/opt/vendor/postfix/etc"
TEMPLATE = "/etc/postfix-template"


def test_check_mode_predicts_no_change_on_the_converged_host():
    # First in the file, before any test changes the hosts: after converge
    # and idempotence, --check --diff must predict exactly nothing.
    assert check_mode_changes(__file__) == []


def test_vendor_lines_survive(vendor):
    main = vendor.file(VENDOR + "/main.cf").content_string
    assert main.startswith("# Acme MailGuard 9 -- vendor-managed configuration.\n")
    assert "# vendor: the local scanner hands over client data with XFORWARD\n" in main
    assert "smtpd_authorized_xforward_hosts = 127.0.0.0/8\n" in main
    assert "queue_directory = /opt/vendor/postfix/spool\n" in main
    master = vendor.file(VENDOR + "/master.cf").content_string
    assert "# Acme scanner hand-off\n" in master
    assert "argv=/bin/true ${recipient}" in master


def test_vendor_banner_replaced(vendor):
    banner = vendor.run("postconf -c %s -h smtpd_banner" % VENDOR).stdout.strip()
    assert banner == "$myhostname ESMTP"


def test_same_effective_settings_as_template_mode(vendor):
    managed = vendor.run("postconf -c %s -n" % TEMPLATE).stdout.splitlines()
    assert len(managed) > 40
    differences = []
    for line in managed:
        name = line.split(" = ", 1)[0].strip()
        # Each instance has its own directory and log file (converge.yml).
        templ = vendor.run("postconf -c %s -h %s" % (TEMPLATE, name)).stdout.strip().replace(TEMPLATE, "DIR")
        templ = templ.replace("postfix-template.log", "LOG")
        merged = vendor.run("postconf -c %s -h %s" % (VENDOR, name)).stdout.strip().replace(VENDOR, "DIR")
        merged = merged.replace("postfix-vendor.log", "LOG")
        if " ".join(templ.replace(",", " ").split()) != " ".join(merged.replace(",", " ").split()):
            differences.append((name, templ, merged))
    assert differences == []


def test_vendor_instance_runs_and_listens(vendor):
    assert vendor.run("postfix -c %s status" % VENDOR).rc == 0
    assert any(port == 25 for proto, addr, port, proc in listeners(vendor) if proto == "tcp")


def test_vendor_check_clean(vendor):
    check = vendor.run("postfix -c %s check" % VENDOR)
    assert check.rc == 0 and check.stderr.strip() == "" and check.stdout.strip() == ""


def test_backup_was_taken_and_is_private(vendor):
    backups = vendor.run("ls /var/backups/securemail-postfix-vendor").stdout.split()
    assert backups, "no backup before the first change"
    assert vendor.file("/var/backups/securemail-postfix-vendor").mode == 0o700
    # The engine keeps each changed path under root/ in its backup.
    first = vendor.file("/var/backups/securemail-postfix-vendor/%s/root%s/main.cf"
                        % (sorted(backups)[0], VENDOR)).content_string
    assert "$mail_name (Acme MailGuard)" in first
