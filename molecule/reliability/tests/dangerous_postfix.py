"""Issue 12: well-formed but dangerous postfix role input, refused unless opted in.

Each case is (variable named in the error, role, variables), as ROLE_CASES in
test_bad_input.py, which runs them with the other malformed inputs. Every
case carries valid postfix_relay_recipients (required in gateway mode), so it
is refused only for the reason it tests. OPT_INS pairs a refused input with the
opt-in that lets it through; test_bad_input runs those in check mode, where
they must pass and change nothing.
"""

RECIPIENTS = {"postfix_relay_recipients": ["alice@example.org", "postmaster@example.org"]}
SPY = "spy@evil.example"


def _case(name, variables):
    return (name, "postfix", dict(RECIPIENTS, **variables))


CASES = [
    # 1. public or very wide networks trusted to relay, however they are set
    _case("postfix_mynetworks", {"postfix_mynetworks": ["0.0.0.0/0"]}),
    _case("postfix_mynetworks", {"postfix_mynetworks": ["::/0"]}),
    _case("postfix_mynetworks", {"postfix_mynetworks": ["127.0.0.0/8", "203.0.113.0/24"]}),
    _case("postfix_mynetworks", {"postfix_mynetworks": ["100.64.0.0/10"]}),
    _case("postfix_mynetworks", {"postfix_mynetworks": ["fd00::/8"]}),
    _case("postfix_mynetworks", {"postfix_mynetworks": ["[::ffff:0.0.0.0]/96"]}),
    _case("postfix_hub_allowed_clients", {"postfix_mode": "hub", "postfix_hub_allowed_clients": ["198.51.100.0/24"]}),
    _case("postfix_hub_allowed_clients", {"postfix_hub_allowed_clients": ["0.0.0.0/0"]}),
    _case("postfix_allow_public_networks", {"postfix_allow_public_networks": ["0.0.0.0/0"],
                                            "postfix_mynetworks": ["8.8.8.8/32"]}),
    _case("postfix_extra_parameters", {"postfix_extra_parameters": {"mynetworks": "0.0.0.0/0"}}),
    _case("postfix_extra_parameters", {"postfix_extra_parameters": {"mynetworks": "127.0.0.0/8, ::/0"},
                                       "postfix_allow_extra_parameters": ["mynetworks"]}),
    _case("postfix_extra_services", {"postfix_extra_services": [
        {"service": "127.0.0.1:10027", "type": "inet", "command": "smtpd", "options": {"mynetworks": "0.0.0.0/0"}}]}),
    _case("postfix_extra_services", {"postfix_extra_services": [
        {"service": "127.0.0.1:10027", "type": "inet", "command": "smtpd -o mynetworks=0.0.0.0/0"}]}),
    # 2. protected parameters through postfix_extra_parameters
    _case("postfix_extra_parameters", {"postfix_extra_parameters": {"smtpd_relay_restrictions": "permit"}}),
    _case("postfix_extra_parameters", {"postfix_extra_parameters": {"smtpd_recipient_restrictions": "permit"}}),
    _case("postfix_extra_parameters", {"postfix_extra_parameters": {"smtpd_client_restrictions": ""}}),
    _case("postfix_extra_parameters", {"postfix_extra_parameters": {"relay_domains": "example.org, net"}}),
    _case("postfix_extra_parameters", {"postfix_extra_parameters": {"parent_domain_matches_subdomains": "relay_domains"}}),
    _case("postfix_extra_parameters", {"postfix_extra_parameters": {"permit_mx_backup_networks": "0.0.0.0/0"}}),
    _case("postfix_extra_parameters", {"postfix_extra_parameters": {"smtpd_authorized_xclient_hosts": "0.0.0.0/0"}}),
    _case("postfix_extra_parameters", {"postfix_extra_parameters": {"smtpd_tls_protocols": ">=TLSv1"}}),
    _case("postfix_extra_parameters", {"postfix_extra_parameters": {"tls_high_cipherlist": "ALL:eNULL"}}),
    _case("postfix_extra_parameters", {"postfix_extra_parameters": {"smtpd_forbid_bare_newline": "no"}}),
    _case("postfix_extra_parameters", {"postfix_extra_parameters": {"content_filter": "smtp:[192.0.2.1]:25"}}),
    _case("postfix_extra_parameters", {"postfix_extra_parameters": {"disable_vrfy_command": "no"}}),
    _case("postfix_extra_parameters", {"postfix_extra_parameters": {"allow_mail_to_commands": "alias,forward,include"}}),
    _case("postfix_extra_parameters", {"postfix_extra_parameters": {"message_size_limit": "0"}}),
    # 3. top-level domains and public suffixes as relay domains
    _case("postfix_relay_domains", {"postfix_relay_domains": ["example.org", "net"]}),
    _case("postfix_relay_domains", {"postfix_relay_domains": ["example.org", ".com"]}),
    _case("postfix_relay_domains", {"postfix_relay_domains": ["example.org", "co.uk"]}),
    _case("postfix_relay_domains", {"postfix_relay_domains": ["example.org", "com.au"],
                                    "postfix_allow_public_suffix_domains": ["corp"]}),
    _case("postfix_extra_parameters", {"postfix_extra_parameters": {"relay_domains": "example.org net"},
                                       "postfix_allow_extra_parameters": ["relay_domains"]}),
    # 4. newline / CR in table keys and values
    _case("postfix_virtual_alias_map", {"postfix_virtual_alias_map": {"root": "root\n@example.org attacker@evil.example"}}),
    _case("postfix_aliases", {"postfix_aliases": {"postmaster": "root\nevil: |/bin/sh -c id"}}),
    _case("postfix_aliases", {"postfix_aliases": {"postmaster": "root", "evil\nroot": "|/bin/sh -c id"}}),
    _case("postfix_client_access", {"postfix_client_access": {"192.0.2.1": "OK\n0.0.0.0/0 OK"}}),
    _case("postfix_sender_access", {"postfix_sender_access": {"spam@example.net": "REJECT\r\nexample.net OK"}}),
    _case("postfix_relay_recipients", {"postfix_relay_recipients": ["alice@example.org\n@example.org"]}),
    _case("postfix_transport_map", {"postfix_transport_map": {"example.org\nevil.example": "smtp:[192.0.2.1]:25"}}),
    # 5. header/body checks: risky actions, malformed lines, regexps Postfix cannot compile
    _case("postfix_header_checks", {"postfix_header_checks": ["/^Subject:/ REDIRECT " + SPY]}),
    _case("postfix_header_checks", {"postfix_header_checks": ["/^Subject:/ BCC " + SPY]}),
    _case("postfix_header_checks", {"postfix_header_checks": ["/^Subject:/ DISCARD"]}),
    _case("postfix_header_checks", {"postfix_header_checks": ["/^X-Trusted:/ PASS"]}),
    _case("postfix_body_checks", {"postfix_body_checks": ["/viagra/ FILTER smtp:[192.0.2.1]:25"]}),
    _case("postfix_header_checks", {"postfix_header_checks": ["/^Subject:/ PIPE /bin/sh"]}),
    _case("postfix_header_checks", {"postfix_header_checks": ["/^Subject:/ REJECT x\n/^/ REDIRECT " + SPY]}),
    _case("postfix_header_checks", {"postfix_header_checks": ["^Subject: viagra REJECT"]}),
    _case("postfix_header_checks", {"postfix_header_checks": ["/^Subject:(.*viagra/ REJECT"]}),
    _case("postfix_body_checks", {"postfix_body_checks": ["/[z-a]/ REJECT"]}),
    # 6. TLS protocols and ciphers outside the fixed choices
    _case("postfix_tls_protocols", {"postfix_tls_protocols": ">=TLSv1"}),
    _case("postfix_tls_protocols", {"postfix_tls_protocols": "bogus"}),
    _case("postfix_tls_ciphers", {"postfix_tls_ciphers": "low"}),
    # 7. absurd sizes and limits
    _case("postfix_message_size_limit", {"postfix_message_size_limit": 0}),
    _case("postfix_message_size_limit", {"postfix_message_size_limit": 100}),
    _case("postfix_client_connection_rate_limit", {"postfix_client_connection_rate_limit": 0}),
    _case("postfix_smtpd_banner", {"postfix_smtpd_banner": "$myhostname ESMTP " + "x" * 100000}),
    _case("postfix_smtpd_banner", {"postfix_smtpd_banner": "mail server ready"}),
    _case("postfix_extra_parameters", {"postfix_extra_parameters": {"smtpd_banner": "$myhostname ESMTP $mail_name"}}),
    _case("postfix_smtpd_error_limits", {"postfix_smtpd_error_limits": {"soft": 0, "hard": 10}}),
    _case("postfix_smtpd_error_limits", {"postfix_smtpd_error_limits": {"soft": 20, "hard": 10}}),
    _case("postfix_smtpd_error_limits", {"postfix_smtpd_error_limits": {"soft": 3, "hard": 100000}}),
    _case("postfix_body_checks_size_limit", {"postfix_body_checks_size_limit": 0}),
    # 8. a gateway that accepts every address of its relay domains (backscatter)
    ("postfix_relay_recipients", "postfix", {"postfix_relay_recipients": []}),
    # 9. postscreen that lets everyone through or refuses everyone
    _case("postfix_postscreen_allowlist", {"postfix_postscreen_allowlist": ["0.0.0.0/1"]}),
    _case("postfix_postscreen_dnsbl_threshold", {"postfix_postscreen_dnsbl_threshold": 0}),
    # 10. outbound TLS lowered for one destination: cleartext, weaker protocols, a level that is no level
    _case("postfix_tls_policy", {"postfix_tls_policy": {"partner.example": "none"}}),
    _case("postfix_tls_policy", {"postfix_tls_policy": {"partner.example": "encrypt protocols=>=TLSv1"}}),
    _case("postfix_tls_policy", {"postfix_tls_policy": {"partner.example": "secure\n[192.0.2.1] none"}}),
    _case("postfix_tls_policy", {"postfix_tls_policy": {"partner.example": "optional"}}),
    _case("postfix_extra_parameters", {"postfix_extra_parameters": {"smtp_tls_policy_maps": "hash:/etc/postfix/mine"}}),
]

# (refused case's variables, opt-in added) -> must converge
OPT_INS = [
    ({"postfix_mynetworks": ["127.0.0.0/8", "203.0.113.0/24"]}, {"postfix_allow_public_networks": ["203.0.113.0/24"]}),
    ({"postfix_extra_parameters": {"smtpd_client_restrictions": "permit_mynetworks, permit"}},
     {"postfix_allow_extra_parameters": ["smtpd_client_restrictions"]}),
    ({"postfix_relay_domains": ["example.org", "corp"]}, {"postfix_allow_public_suffix_domains": ["corp"]}),
    ({"postfix_relay_domains": ["example.org"]}, {"postfix_allow_relay_subdomains": True}),
    ({"postfix_header_checks": ["/^X-Archive:/ BCC archive@example.org", "/^X-Junk:/ DISCARD"]},
     {"postfix_allow_check_actions": ["BCC", "DISCARD"]}),
    ({"postfix_relay_recipients": []}, {"postfix_allow_unknown_recipients": True}),
    ({"postfix_tls_policy": {"legacy.example": "none"}}, {"postfix_allow_tls_policy_downgrades": ["legacy.example"]}),
]
