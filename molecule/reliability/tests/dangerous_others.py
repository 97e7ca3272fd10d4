"""Issue 12: well-formed but dangerous postgresql, quarantine_web and content_filter
input, refused unless opted in.

Each case is (variable named in the error, role, variables), as ROLE_CASES in
test_bad_input.py, which runs them with the other malformed inputs. Every
case is refused in the role's tasks/validate.yml, before anything on the host
changes, and only for the reason it tests (content_filter cases carry a fully
qualified content_filter_hostname, since the container's own name has no dot).

SETUP holds shell commands to run once on the gateway before the table: the
files some cases point at (keys with loose modes, a document root that is a
symlink to /root or a plain file). They are not managed files and stay out of
the checksums.

OPT_INS pairs a refused input with the opt-in that lets it through, as
(role, refused case's variables, opt-in added); test_bad_input.py runs them
in check mode, which must pass without touching the gateway.
"""

SNAKEOIL_CERT = "/etc/ssl/certs/ssl-cert-snakeoil.pem"
SNAKEOIL_KEY = "/etc/ssl/private/ssl-cert-snakeoil.key"   # root:ssl-cert 0640
KEY_0644 = "/root/rl-key-0644.key"
KEY_0640_ROOT = "/root/rl-key-0640-root.key"
KEY_WWW_DATA = "/root/rl-key-www-data.key"
ROOT_LINK = "/var/www/rl-root-link"
NOT_A_DIR = "/var/www/rl-not-a-dir"

SETUP = [
    "install -m 0644 -o root -g root %s %s" % (SNAKEOIL_KEY, KEY_0644),
    "install -m 0640 -o root -g root %s %s" % (SNAKEOIL_KEY, KEY_0640_ROOT),
    "install -m 0600 -o www-data -g www-data %s %s" % (SNAKEOIL_KEY, KEY_WWW_DATA),
    "mkdir -p /var/www && ln -sfn /root %s && touch %s" % (ROOT_LINK, NOT_A_DIR),
]

FQDN = {"content_filter_hostname": "gw.example.test"}


def _hba(type_, address, method="scram-sha-256"):
    return {"postgresql_hba_extra": [
        {"type": type_, "database": "quarantine", "user": "quarantine", "address": address, "method": method}]}


def _pg(name, variables):
    return (name, "postgresql", variables)


def _qw(name, variables):
    return (name, "quarantine_web", variables)


def _cf(name, variables):
    return (name, "content_filter", dict(FQDN, **variables))


CASES = [
    # postgresql 1. public, whole-Internet or very wide clients, however they are let in
    _pg("postgresql_allowed_hosts", {"postgresql_allowed_hosts": ["0.0.0.0/0"]}),
    _pg("postgresql_allowed_hosts", {"postgresql_allowed_hosts": ["::/0"]}),
    _pg("postgresql_allowed_hosts", {"postgresql_allowed_hosts": ["10.1.2.0/24", "203.0.113.0/24"]}),
    _pg("postgresql_allowed_hosts", {"postgresql_allowed_hosts": ["10.0.0.0/7"]}),
    _pg("postgresql_allowed_hosts", {"postgresql_allowed_hosts": ["100.64.0.0/10"]}),
    _pg("postgresql_allowed_hosts", {"postgresql_allowed_hosts": ["::ffff:0.0.0.0/96"]}),
    _pg("postgresql_allow_public_networks", {"postgresql_allow_public_networks": ["0.0.0.0/0"],
                                             "postgresql_allowed_hosts": ["8.8.8.8/32"]}),
    _pg("postgresql_hba_extra", _hba("hostssl", "0.0.0.0/0")),
    _pg("postgresql_hba_extra", _hba("hostssl", "198.51.100.0/24")),
    _pg("postgresql_hba_extra", _hba("hostssl", "fd00::/8")),
    # postgresql 2. remote clients without TLS
    _pg("postgresql_hba_extra", _hba("host", "10.0.0.0/8")),
    _pg("postgresql_hba_extra", _hba("hostnossl", "192.168.10.0/24")),
    _pg("postgresql_ssl", {"postgresql_ssl": False, "postgresql_allowed_hosts": ["10.1.2.0/24"]}),
    # postgresql 3. TLS and password settings through extra parameters, or outside the fixed choices
    _pg("postgresql_extra_parameters", {"postgresql_extra_parameters": {"ssl_min_protocol_version": "TLSv1"}}),
    _pg("postgresql_extra_parameters", {"postgresql_extra_parameters": {"ssl_ciphers": "ALL:eNULL"}}),
    _pg("postgresql_extra_parameters", {"postgresql_extra_parameters": {"ssl_max_protocol_version": "TLSv1.1"}}),
    _pg("postgresql_extra_parameters", {"postgresql_extra_parameters": {"ssl_prefer_server_ciphers": False}}),
    _pg("postgresql_extra_parameters", {"postgresql_extra_parameters": {"password_encryption": "md5"}}),
    _pg("postgresql_extra_parameters", {"postgresql_extra_parameters": {"ssl_dh_params_file": "/etc/ssl/dh512.pem"}}),
    _pg("postgresql_ssl_min_protocol_version", {"postgresql_ssl_min_protocol_version": "TLSv1"}),
    # postgresql 4. a private key others or a group can read (the certificate is the key's own)
    _pg("postgresql_ssl_key_file", {"postgresql_ssl_key_file": KEY_0644}),
    _pg("postgresql_ssl_key_file", {"postgresql_ssl_key_file": KEY_0640_ROOT}),

    # quarantine_web 1. document roots outside /var/www and /srv, also through a symlink
    _qw("quarantine_web_document_root", {"quarantine_web_document_root": "/root"}),
    _qw("quarantine_web_document_root", {"quarantine_web_document_root": "/etc/apache2"}),
    _qw("quarantine_web_document_root", {"quarantine_web_document_root": "/var/www-evil"}),
    _qw("quarantine_web_document_root", {"quarantine_web_document_root": "/srv"}),
    _qw("quarantine_web_document_root", {"quarantine_web_document_root": ROOT_LINK}),
    _qw("quarantine_web_document_root", {"quarantine_web_document_root": NOT_A_DIR}),
    # quarantine_web 2. cipher suites without forward secrecy, keywords, weak security level
    _qw("quarantine_web_tls_cipher_suite", {"quarantine_web_tls_cipher_suite": "ALL:eNULL"}),
    _qw("quarantine_web_tls_cipher_suite", {"quarantine_web_tls_cipher_suite": "HIGH:!aNULL"}),
    _qw("quarantine_web_tls_cipher_suite", {"quarantine_web_tls_cipher_suite": "AES128-SHA"}),
    _qw("quarantine_web_tls_cipher_suite", {"quarantine_web_tls_cipher_suite": "ECDHE-RSA-AES128-GCM-SHA256:DES-CBC3-SHA"}),
    _qw("quarantine_web_tls_cipher_suite", {"quarantine_web_tls_cipher_suite": "ECDHE-RSA-AES128-GCM-SHA256:RC4-MD5"}),
    _qw("quarantine_web_tls_cipher_suite", {"quarantine_web_tls_cipher_suite": "ECDHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0"}),
    # quarantine_web 3. private keys a group, others or another user can read
    _qw("quarantine_web_tls_key_file", {"quarantine_web_tls_cert_file": SNAKEOIL_CERT,
                                        "quarantine_web_tls_key_file": SNAKEOIL_KEY}),
    _qw("quarantine_web_tls_key_file", {"quarantine_web_tls_cert_file": SNAKEOIL_CERT,
                                        "quarantine_web_tls_key_file": KEY_0644}),
    _qw("quarantine_web_tls_key_file", {"quarantine_web_tls_cert_file": SNAKEOIL_CERT,
                                        "quarantine_web_tls_key_file": KEY_WWW_DATA}),
    # quarantine_web 4. numbers out of bounds
    _qw("quarantine_web_hsts_max_age", {"quarantine_web_hsts_max_age": 0}),
    _qw("quarantine_web_hsts_max_age", {"quarantine_web_hsts_max_age": 10 ** 10}),
    _qw("quarantine_web_tls_selfsigned_days", {"quarantine_web_tls_selfsigned_days": 36500}),
    _qw("quarantine_web_backup_retention", {"quarantine_web_backup_retention": 100000}),

    # content_filter: a short host name, spam levels that are no finite number or out of range
    ("content_filter_hostname", "content_filter", {"content_filter_hostname": "gateway"}),
    _cf("content_filter_spam_kill_level", {"content_filter_spam_kill_level": "1e999"}),
    _cf("content_filter_spam_kill_level", {"content_filter_spam_kill_level": "inf"}),
    _cf("content_filter_spam_kill_level", {"content_filter_spam_kill_level": float("nan")}),
    _cf("content_filter_spam_tag2_level", {"content_filter_spam_tag2_level": "-inf"}),
    _cf("content_filter_spam_tag2_level", {"content_filter_spam_tag2_level": "nan"}),
    _cf("content_filter_spam_kill_level", {"content_filter_spam_kill_level": 0}),
    _cf("content_filter_spam_kill_level", {"content_filter_spam_kill_level": 1000}),
    _cf("content_filter_spam_tag2_level", {"content_filter_spam_tag2_level": 8, "content_filter_spam_kill_level": 7}),
    _cf("content_filter_max_servers", {"content_filter_max_servers": 0}),
    _cf("content_filter_max_servers", {"content_filter_max_servers": 1000}),
    # content_filter (issue 17): spam dropped with no quarantine copy, a silent loss
    _cf("content_filter_spam_destiny", {"content_filter_quarantine": ["banned", "virus", "bad_header"]}),
    # content_filter: an unsigned signature file (an allow list) fetched over plain http, which anyone on the
    # path can swap for one that switches detection off
    _cf("content_filter_clamav_custom_urls", {"content_filter_clamav_custom_urls": ["http://sigs.example.test/allow.fp"]}),
]

# (role, refused case's variables, opt-in added) -> must converge
OPT_INS = [
    ("postgresql", {"postgresql_allowed_hosts": ["10.1.2.0/24", "203.0.113.0/24"]},
     {"postgresql_allow_public_networks": ["203.0.113.0/24"]}),
    ("postgresql", _hba("hostssl", "198.51.100.0/24"), {"postgresql_allow_public_networks": ["198.51.100.0/24"]}),
    ("postgresql", _hba("host", "10.0.0.0/8"), {"postgresql_allow_remote_without_tls": True}),
    ("postgresql", {"postgresql_ssl": False, "postgresql_allowed_hosts": ["10.1.2.0/24"]},
     {"postgresql_allow_remote_without_tls": True}),
    ("quarantine_web", {"quarantine_web_document_root": "/opt/rl-quarantine"},
     {"quarantine_web_allow_any_document_root": True}),
    ("quarantine_web", {"quarantine_web_document_root": ROOT_LINK}, {"quarantine_web_allow_any_document_root": True}),
]
