# -*- coding: utf-8 -*-
"""The postfix role's refusals (plugins/filter/postfix_inputs.py), on the reliability scenario's own case tables.

Every postfix case of molecule/reliability/tests/test_bad_input.py (ROLE_CASES,
read from the file without importing it: it needs the Molecule harness) and of
dangerous_postfix.py must be refused naming its variable: by the argument spec
(Ansible checks types and choices before tasks/validate.yml runs), by the
filter, or (listed below, each with the reason) by the host.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ast
import os
import re
import sys

import pytest
import yaml
from jinja2 import Environment
from jinja2.filters import do_int, do_truncate

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible_collections.securemail.gateway.plugins.filter import postfix_inputs as pi
from ansible_collections.securemail.gateway.plugins.filter.postfix_inputs import postfix_input_problems

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..'))
RELIABILITY = os.path.join(ROOT, 'molecule', 'reliability', 'tests')
sys.path.insert(0, RELIABILITY)
import dangerous_postfix  # noqa: E402  pylint: disable=wrong-import-position


def _bad_input_table():
    """ROLE_CASES (before the issue-12 lists are added), role_defaults and SECRET from test_bad_input.py."""
    with open(os.path.join(RELIABILITY, 'test_bad_input.py')) as handle:
        tree = ast.parse(handle.read())
    wanted = ('SECRET', 'MISSING_CERT', 'SNAKEOIL', 'OTHER_KEY', 'ROLE_CASES', 'role_defaults')
    names = {}
    for node in tree.body:
        targets = [t for n in getattr(node, 'targets', []) for t in (getattr(n, 'elts', None) or [n])]
        if any(getattr(t, 'id', None) in wanted for t in targets) or getattr(node, 'name', None) in wanted:
            exec(compile(ast.Module(body=[node], type_ignores=[]), 'test_bad_input.py', 'exec'), names)  # pylint: disable=exec-used
    return names


BAD_INPUT = _bad_input_table()
HOST = 'gw.example.test'
ADDRESSES = ['127.0.0.1', '10.89.0.7', '::1']
# Files that exist on the reliability gateway (the test makes OTHER_KEY).
EXISTING_FILES = (BAD_INPUT['SNAKEOIL'], BAD_INPUT['OTHER_KEY'])
# What postmap says about regexps it cannot compile (tasks/validate.yml asks
# it on the host; here its answers stand in).
POSTMAP_SAYS = {'/^Subject:(.*viagra/ REJECT': 'Unmatched ( or \\(', '/[z-a]/ REJECT': 'Invalid range end'}
# Cases validate.yml refuses from what the role's probe (path_facts) found on
# the host, not through the filter: a key that belongs to another certificate,
# and sender authentication whose packages are missing and left to the admin.
HOST_CASES = [('postfix_tls_key_file', {'postfix_tls_cert_file': BAD_INPUT['SNAKEOIL'],
                                        'postfix_tls_key_file': BAD_INPUT['OTHER_KEY']}),
              ('postfix_sender_authentication', {'postfix_install': False, 'postfix_sender_authentication': True})]

with open(os.path.join(ROOT, 'roles', 'postfix', 'meta', 'argument_specs.yml')) as _handle:
    SPEC = yaml.safe_load(_handle)['argument_specs']['main']['options']


def defaults(**changes):
    """defaults/main.yml, with what the reliability inventory gives rl-gw (role_defaults), and changes."""
    with open(os.path.join(ROOT, 'roles', 'postfix', 'defaults', 'main.yml')) as handle:
        values = yaml.safe_load(handle)
    values['postfix_myhostname'] = HOST
    values.update((k, v) for k, v in BAD_INPUT['role_defaults'](None, '10.89.0.9').items() if k.startswith('postfix_'))
    values.update(changes)
    # Defaults that are templates, as Ansible would render them.
    if isinstance(values['postfix_dkim_signing_domains'], str):
        values['postfix_dkim_signing_domains'] = sorted(set(d.lstrip('.') for d in values['postfix_relay_domains']))
    if '{{' in str(values['postfix_dkim_selector']):
        values['postfix_dkim_selector'] = values['postfix_myhostname'].split('.', maxsplit=1)[0].lower()
    return values


def host_answers(inputs):
    """What validate.yml's two probes register for these inputs on the reliability gateway."""
    stats = []
    if inputs['postfix_tls_cert_file']:
        stats += [['postfix_tls_cert_file', inputs['postfix_tls_cert_file']],
                  ['postfix_tls_key_file', inputs['postfix_tls_key_file']]]
    stats += [['postfix_tls_chain_files', path] for path in inputs['postfix_tls_chain_files']]
    stats = [{'item': item, 'stat': {'exists': item[1] in EXISTING_FILES, 'isreg': item[1] in EXISTING_FILES}}
             for item in stats]
    probe = []
    for name in pi.CHECK_TABLES:
        if inputs[name]:
            said = ['postmap: warning: regexp map /dev/stdin, entry %d: %s' % (number, POSTMAP_SAYS[line])
                    for number, line in enumerate(inputs[name], 1) if line in POSTMAP_SAYS]
            probe.append({'item': {'key': name, 'value': inputs[name]}, 'stdout': '\n'.join(said), 'stdout_lines': said})
    return stats, probe


def problems(**changes):
    inputs = defaults(**changes)
    stats, probe = host_answers(inputs)
    return postfix_input_problems(inputs, HOST, ADDRESSES, stats, probe)


def spec_errors(variables):
    """What Ansible's role argument validation says about these variables (before validate.yml)."""
    options = dict((name, dict((k, v) for k, v in opt.items() if k != 'description')) for name, opt in SPEC.items())
    result = ArgumentSpecValidator(options).validate(dict(variables))
    return [str(error) for error in result.errors]


CASES = [case for case in BAD_INPUT['ROLE_CASES'] if case[1] == 'postfix'] + dangerous_postfix.CASES


def names(problem_list):
    return [p.split(': ', 1)[0] for p in problem_list]


def test_the_tables_have_cases():
    assert len([c for c in BAD_INPUT['ROLE_CASES'] if c[1] == 'postfix']) >= 15
    assert len(dangerous_postfix.CASES) >= 50
    assert len(dangerous_postfix.OPT_INS) >= 6


def test_the_defaults_pass():
    assert problems() == []
    assert spec_errors(defaults()) == []


@pytest.mark.parametrize('name,role,variables', CASES, ids=['%s-%d' % (c[0], i) for i, c in enumerate(CASES)])
def test_each_case_is_refused_naming_its_variable(name, role, variables):
    assert role == 'postfix'
    if (name, variables) in HOST_CASES:
        # The filter passes it; only the host's answer refuses it.
        assert problems(**variables) == []
        return
    errors = spec_errors(defaults(**variables))
    if errors:
        assert [e for e in errors if name in e], errors
        return
    found = problems(**variables)
    assert found, variables
    assert name in names(found), found


@pytest.mark.parametrize('refused,opt_in', dangerous_postfix.OPT_INS,
                         ids=[sorted(o)[0] for o in (pair[1] for pair in dangerous_postfix.OPT_INS)])
def test_each_opt_in_lets_its_input_through(refused, opt_in):
    assert problems(**dict(refused, **opt_in)) == []
    assert spec_errors(defaults(**dict(refused, **opt_in))) == []
    if opt_in != {'postfix_allow_relay_subdomains': True}:  # the one opt-in of something not refused
        assert problems(**refused), refused


def test_every_message_starts_with_a_variable_and_a_reason():
    for variables in (case[2] for case in CASES):
        for problem in problems(**variables):
            assert re.match(r'^postfix_[a-z_]+( / postfix_[a-z_]+)?: \S', problem), problem


def test_secrets_never_reach_a_message():
    secret = BAD_INPUT['SECRET']
    found = problems(postfix_smtp_sasl_passwords={'[smtp.example.org]:587': 'u:%s\nrelayhost = [evil]' % secret,
                                                  'other\n': 'u:' + secret})
    assert names(found) == ['postfix_smtp_sasl_passwords'] and secret not in ' '.join(found)


@pytest.mark.parametrize('parameter', sorted(pi.PROTECTED_PARAMETERS))
def test_each_protected_parameter_is_refused_with_its_reason_unless_allowed(parameter):
    reason = pi.PROTECTED_PARAMETERS[parameter]
    # A value every other check accepts, so only the protection speaks.
    value = '127.0.0.0/8' if parameter == 'mynetworks' else 'example.org' if parameter == 'relay_domains' else 'x'
    found = problems(postfix_extra_parameters={parameter: value})
    assert found == ['postfix_extra_parameters: %s is protected (%s); list it in postfix_allow_extra_parameters to '
                     'set it anyway' % (parameter, reason)]
    assert problems(postfix_extra_parameters={parameter: value}, postfix_allow_extra_parameters=[parameter]) == []


def test_protected_relay_domains_and_mynetworks_are_still_checked_when_allowed():
    allowed = ['relay_domains', 'mynetworks']
    assert names(problems(postfix_extra_parameters={'relay_domains': 'example.org, co.uk, $mydestination'},
                          postfix_allow_extra_parameters=allowed)) == ['postfix_extra_parameters']
    assert problems(postfix_extra_parameters={'relay_domains': ['example.org', 'hash:/etc/postfix/relay']},
                    postfix_allow_extra_parameters=allowed) == []
    assert problems(postfix_extra_parameters={'relay_domains': 'co.uk'}, postfix_allow_extra_parameters=allowed,
                    postfix_allow_public_suffix_domains=['co.uk']) == []
    assert names(problems(postfix_extra_parameters={'mynetworks': '10.0.0.0/8 8.8.8.0/24'},
                          postfix_allow_extra_parameters=allowed)) == ['postfix_extra_parameters']


@pytest.mark.parametrize('changes', [
    # a hub, a null client, and the other documented shapes (README, molecule scenarios)
    {'postfix_mode': 'hub', 'postfix_hub_allowed_clients': ['10.89.0.7'], 'postfix_relay_recipients': [],
     'postfix_aliases': {'postmaster': 'root', 'abuse': 'root', 'alice': 'root'}},
    {'postfix_mode': 'null_client', 'postfix_relayhost': '[smtp.example.org]:587', 'postfix_relay_domains': [],
     'postfix_relay_recipients': [], 'postfix_transport_map': {},
     'postfix_smtp_sasl_passwords': {'[smtp.example.org]:587': 'relay-user:pw with spaces'}},
    {'postfix_mode': 'gateway', 'postfix_relay_recipients': ['@example.org'], 'postfix_relay_domains': ['.example.org'],
     'postfix_dnsbl_sites': ['zen.spamhaus.org'], 'postfix_policy_service': 'inet:127.0.0.1:10040'},
    {'postfix_inet_interfaces': ['10.89.0.7', 'loopback-only', '::1']},
    {'postfix_mynetworks': ['127.0.0.0/8', '[fd12:3456:789a::]/48', '192.168.0.0/16'],
     'postfix_allow_public_networks': ['203.0.113.0/24'], 'postfix_hub_allowed_clients': ['203.0.113.5']},
    {'postfix_tls_cert_file': BAD_INPUT['SNAKEOIL'], 'postfix_tls_key_file': BAD_INPUT['OTHER_KEY']},
    {'postfix_tls_enabled': False, 'postfix_tls_cert_file': '/nosuch.pem', 'postfix_tls_key_file': ''},
    {'postfix_submission_enabled': True, 'postfix_smtps_enabled': True, 'postfix_content_filter_enabled': True},
    {'postfix_extra_parameters': {'smtpd_tls_received_header': True, 'smtpd_delay_reject': 'yes',
                                  'smtpd_banner': '$myhostname ESMTP ready'}},
    {'postfix_extra_services': [{'service': '127.0.0.1:10027', 'type': 'inet', 'command': 'smtpd',
                                 'options': {'mynetworks': '127.0.0.0/8'}}, {'service': 'x', 'type': 'unix',
                                                                             'command': 'pipe', 'options': None}]},
    {'postfix_header_checks': ['# comment', '/^Subject:.*viagra/ REJECT', '/^X-Mailer:/ STRIP'],
     'postfix_body_checks': ['/x/ WARN'], 'postfix_transport_map': {'alice@example.org': 'smtp:[10.0.0.5]'}},
    {'postfix_smtpd_banner': HOST + ' ESMTP', 'postfix_message_size_limit': '1048576',
     'postfix_smtpd_error_limits': {'soft': 100, 'hard': 100}, 'postfix_body_checks_size_limit': 10485760},
])
def test_valid_configurations_pass(changes):
    assert problems(**changes) == []


@pytest.mark.parametrize('changes,expected', [
    ({'postfix_myhostname': 'gw'}, 'postfix_myhostname: gw is not a fully qualified host name'),
    ({'postfix_myhostname': ''}, 'postfix_myhostname:  is not a fully qualified host name'),
    ({'postfix_myhostname': '.example.test'}, 'postfix_myhostname: .example.test is not'),
    ({'postfix_myhostname': 'gw.'}, 'postfix_myhostname: gw. is not'),
    ({'postfix_myhostname': 'gw.example.test\n'}, 'postfix_myhostname: myhostname has an invalid name or a value '
                                                  'with a newline'),
    ({'postfix_relay_domains': []}, 'postfix_relay_domains: a gateway must relay at least one domain'),
    ({'postfix_mode': 'null_client', 'postfix_relay_domains': []}, 'postfix_relayhost: a null client sends'),
    ({'postfix_mode': 'hub'}, 'postfix_hub_allowed_clients: a hub accepts SMTP only from listed gateways'),
    ({'postfix_tls_cert_file': BAD_INPUT['SNAKEOIL']}, 'postfix_tls_cert_file / postfix_tls_key_file: set both or'),
    ({'postfix_tls_chain_files': ['/nosuch/chain.pem']}, 'postfix_tls_chain_files: /nosuch/chain.pem does not exist '
                                                         'on gw.example.test'),
    ({'postfix_smtpd_error_limits': {'soft': 3}}, 'postfix_smtpd_error_limits: None is outside 1..100 (hard)'),
    ({'postfix_policy_service': 'inet:127.0.0.1:10040\n'}, 'postfix_policy_service: smtpd_recipient_restrictions has'),
    ({'postfix_smtpd_helo_restrictions': ['permit_mynetworks\nmynetworks = 0.0.0.0/0']},
     'postfix_smtpd_helo_restrictions: smtpd_helo_restrictions has an invalid name or a value with a newline'),
    ({'postfix_extra_parameters': {'bad name': 'x'}}, 'postfix_extra_parameters: bad name has an invalid name'),
    ({'postfix_extra_parameters': {'smtpd_delay_reject\n': 'x'}}, 'postfix_extra_parameters: smtpd_delay_reject\n'),
    ({'postfix_extra_parameters': {'mydestination_x': ['a', 'b\nc']}}, 'postfix_extra_parameters: mydestination_x'),
    ({'postfix_transport_map': {'example.org': 'smtp: [a]'}}, 'postfix_transport_map: example.org -> smtp: [a] is'),
    ({'postfix_transport_map': {'example.org': 25}}, 'postfix_transport_map: example.org -> 25 is not a domain'),
    ({'postfix_extra_services': [{'command': 'smtpd', 'options': {'mynetworks': ['8.8.8.8']}}]},
     'postfix_extra_services: ?: mynetworks must trust only private, narrow networks: 8.8.8.8 (a public network'),
    ({'postfix_smtp_sasl_passwords': {'# x': 'u:p'}}, 'postfix_smtp_sasl_passwords: every key must be a next hop'),
    ({'postfix_smtp_sasl_passwords': {'[a]': 'no-colon'}}, 'check the entries for [a]'),
    ({'postfix_smtp_sasl_passwords': {'[a]': 5}}, 'check the entries for [a]'),
    ({'postfix_maillog_file': '/etc/passwd'}, 'postfix_maillog_file: /etc/passwd must be a file of its own under /var/log'),
    ({'postfix_maillog_file': '/var/log/../lib/x.log'}, 'postfix_maillog_file: /var/log/../lib/x.log must be'),
    ({'postfix_maillog_file': '/var/log/'}, 'postfix_maillog_file: /var/log/ must be'),
    ({'postfix_maillog_file': '/var/log/*.log'}, 'postfix_maillog_file: /var/log/*.log must be'),
    ({'postfix_maillog_file': 'postfix.log'}, 'postfix_maillog_file: postfix.log must be'),
    ({'postfix_maillog_file': '/var/log/mail log'}, 'postfix_maillog_file: /var/log/mail log must be'),
    ({'postfix_maillog_keep': 0}, 'postfix_maillog_keep: 0 is outside 1..3660'),
])
def test_single_refusals(changes, expected):
    found = problems(**changes)
    assert [p for p in found if expected in p], found
    assert len(set(names(found))) == 1, found


def test_the_null_client_and_hub_do_not_need_relay_domains_or_recipients():
    assert problems(postfix_mode='null_client', postfix_relayhost='[smtp.example.org]', postfix_relay_domains=[],
                    postfix_relay_recipients=[]) == []
    assert problems(postfix_mode='hub', postfix_hub_allowed_clients=['10.0.0.0/8'], postfix_relay_recipients=[]) == []


def test_a_bad_network_is_named_once_and_the_rest_still_judged():
    found = problems(postfix_mynetworks=['10.0.0.0/33', '8.8.8.0/24'])
    assert found[0] == 'postfix_mynetworks: not an address or CIDR network: 10.0.0.0/33'
    assert found[1].startswith('postfix_mynetworks: refused, a host trusted to relay must be on a private, narrow '
                               'network: 8.8.8.0/24 (a public network')
    assert found[1].endswith('(opt-in for your own public networks: postfix_allow_public_networks)')
    assert len(found) == 2


def test_listen_addresses_must_be_the_hosts():
    assert problems(postfix_inet_interfaces=['192.0.2.10', '10.89.0.7', 'all']) == [
        'postfix_inet_interfaces: 192.0.2.10 is not an address of gw.example.test']
    inputs = defaults(postfix_inet_interfaces=['10.89.0.7'])
    assert postfix_input_problems(inputs, 'h') == ['postfix_inet_interfaces: 10.89.0.7 is not an address of h']


def test_postmap_counts_only_for_lines_that_pass_the_syntax_check():
    lines = ['/^Subject:(.*viagra/ REJECT', '/x/ BCC spy@evil.example']
    found = problems(postfix_header_checks=lines)
    assert names(found) == ['postfix_header_checks'] and 'BCC' in found[0] and 'Postfix cannot' not in found[0]
    found = problems(postfix_header_checks=lines, postfix_allow_check_actions=['BCC'])
    assert found == ['postfix_header_checks: Postfix cannot use these lines: entry 1: Unmatched ( or \\(']
    # Without the host's answer (postmap absent, fresh host) the engine's validator is left to catch it.
    assert postfix_input_problems(defaults(postfix_header_checks=lines[:1]), HOST, ADDRESSES) == []


def test_tls_files_are_looked_at_only_with_tls():
    stats = [{'item': ['postfix_tls_cert_file', '/nosuch.pem'], 'stat': {'exists': False}},
             {'item': ['postfix_tls_key_file', '/etc/ssl/private'], 'stat': {'exists': True, 'isreg': False}},
             {'item': ['postfix_tls_chain_files', '/x.pem'], 'skipped': True}]
    inputs = defaults(postfix_tls_cert_file='/nosuch.pem', postfix_tls_key_file='/etc/ssl/private')
    assert postfix_input_problems(inputs, 'h', [], stats) == [
        'postfix_tls_cert_file: /nosuch.pem does not exist on h',
        'postfix_tls_key_file: /etc/ssl/private does not exist on h']
    inputs['postfix_tls_enabled'] = 'no'
    assert postfix_input_problems(inputs, 'h', [], stats) == []


def test_bounds_are_inclusive_and_read_like_jinja_int():
    for name, low, high, dummy in pi.BOUNDS:
        assert problems(**{name: low}) == [] and problems(**{name: str(high)}) == []
        assert names(problems(**{name: low - 1})) == [name] and names(problems(**{name: high + 1})) == [name]
    assert names(problems(postfix_message_size_limit='lots')) == ['postfix_message_size_limit']
    assert problems(postfix_message_size_limit='2097152.5') == []


@pytest.mark.parametrize('text', ['', 'short', 'x' * 85, 'x' * 86, 'word ' * 30, '$myhostname ESMTP ' + 'y' * 200])
@pytest.mark.parametrize('length', [60, 80])
def test_messages_cut_values_like_jinja_truncate(text, length):
    assert pi._truncate(text, length) == do_truncate(Environment(), text, length)  # pylint: disable=protected-access


@pytest.mark.parametrize('value', [0, '12', '12.7', 'x', None, 3.9, '', True, '0x10', '1e3'])
def test_numbers_are_read_like_jinja_int(value):
    assert pi._int(value) == do_int(value)  # pylint: disable=protected-access


def test_inputs_must_be_a_dict():
    assert postfix_input_problems(['postfix_mode']) == [
        'postfix_*: expected the role variables as a dict, got list']


def test_the_filter_is_registered():
    assert pi.FilterModule().filters() == {'postfix_input_problems': postfix_input_problems}


def test_a_gateway_may_verify_recipients_instead_of_listing_them():
    assert problems(postfix_relay_recipients=[], postfix_recipient_verification=True) == []
    assert problems(postfix_relay_recipients=['@example.org'], postfix_recipient_verification=True) == []
    neither = problems(postfix_relay_recipients=[], postfix_recipient_verification=False)
    assert len(neither) == 1 and neither[0].startswith('postfix_relay_recipients: ')
    assert 'postfix_recipient_verification' in neither[0]


@pytest.mark.parametrize('mode,extra', [('hub', {'postfix_hub_allowed_clients': ['10.0.0.0/8']}),
                                        ('null_client', {'postfix_relayhost': '[smtp.example.org]'})])
def test_recipient_verification_is_refused_where_there_is_no_hub_to_ask(mode, extra):
    found = problems(postfix_mode=mode, postfix_recipient_verification=True, **extra)
    assert found == ['postfix_recipient_verification: recipient verification asks the next hop of a gateway; it '
                     'does nothing useful in postfix_mode: %s' % mode]


def test_postscreen_settings_that_parse_and_are_narrow_pass():
    assert problems(postfix_postscreen_dnsbl_sites=['zen.spamhaus.org*3', 'list.dnswl.org=127.0.[0..255].[1..3]*-2',
                                                    'bl.example.net', 'b.barracudacentral.org=127.0.0.2*2'],
                    postfix_postscreen_dnsbl_threshold=3, postfix_postscreen_dnsbl_allowlist_threshold=-1,
                    postfix_postscreen_allowlist=['192.0.2.10', '198.51.100.0/24', '[2001:db8::]/48', '10.0.0.0/8']) == []


def test_postscreen_settings_that_would_let_clients_through_or_refuse_everyone():
    found = problems(postfix_postscreen_dnsbl_sites=['zen.spamhaus.org*x', 'bad domain', 'com*3', 'ok.example.org*2'],
                     postfix_postscreen_dnsbl_threshold=0, postfix_postscreen_dnsbl_allowlist_threshold=2,
                     postfix_postscreen_allowlist=['0.0.0.0/0', '2001:db8::/16', '192.0.2.0/24', 'not-a-net'])
    assert found == [
        'postfix_postscreen_dnsbl_sites: each entry must be domain[=filter][*weight], for example zen.spamhaus.org*3; '
        'check zen.spamhaus.org*x, bad domain, com*3',
        'postfix_postscreen_dnsbl_threshold: must be 1 or more; at 0 or below every client, listed or not, would be '
        'refused',
        'postfix_postscreen_dnsbl_allowlist_threshold: must be 0 (off) or negative; a positive value would let listed '
        'clients skip the tests',
        'postfix_postscreen_allowlist: not an address or CIDR network: not-a-net',
        'postfix_postscreen_allowlist: wider than /8 (IPv4) or /48 (IPv6), which switches postscreen off for a good '
        'part of the Internet: 0.0.0.0/0, 2001:db8::/16']


def test_postscreen_access_list_is_protected_from_extra_parameters():
    found = problems(postfix_extra_parameters={'postscreen_access_list': 'static:permit'})
    assert len(found) == 1 and found[0].startswith('postfix_extra_parameters: ') and 'postscreen_access_list' in found[0]


def test_dkim_signing_for_own_domains_with_a_label_selector_passes():
    assert problems(postfix_dkim_signing_domains=['example.org', 'mail.example.net'], postfix_dkim_selector='gw-2026') == []


def test_dkim_signing_refuses_suffixes_bad_names_and_selectors():
    found = problems(postfix_dkim_signing_domains=['org', 'co.uk', '.example.org', 'bad domain'],
                     postfix_dkim_selector='gw.1')
    assert found[0] == 'postfix_dkim_signing_domains: not a domain name: bad domain, .example.org'
    assert found[1].startswith('postfix_dkim_signing_domains: refused: org (') and 'co.uk' in found[1]
    assert found[2].startswith('postfix_dkim_selector: gw.1 is not one DNS label')
    assert len(found) == 3


def test_dkim_checks_are_off_with_sender_authentication():
    assert problems(postfix_sender_authentication=False, postfix_dkim_signing_domains=['org'],
                    postfix_dkim_selector='a b') == []


def test_dkim_key_sizes_below_2048_are_not_offered():
    assert any('postfix_dkim_key_bits' in e for e in spec_errors({'postfix_dkim_key_bits': 1024}))
    assert spec_errors({'postfix_dkim_key_bits': 2048}) == []


def test_tls_policies_at_or_above_the_role_wide_level_pass():
    policy = {'partner.example': 'secure match=nexthop:dot-nexthop', '.partner.example': 'verify',
              '[relay.example]:587': 'encrypt', '[192.0.2.25]': 'fingerprint match=AB:CD',
              '[2001:db8::25]:25': 'dane-only', 'bank.example': 'dane'}
    assert problems(postfix_tls_outbound_level='encrypt', postfix_tls_policy=policy) == []
    assert problems(postfix_tls_outbound_level='dane', postfix_tls_policy={'relay.example': 'encrypt'}) == []


@pytest.mark.parametrize('level,policy', [
    ('may', 'none'), ('encrypt', 'may'), ('dane', 'may'), ('dane', 'none'), ('verify', 'encrypt')])
def test_a_tls_policy_below_the_role_wide_level_needs_its_opt_in(level, policy):
    found = problems(postfix_tls_outbound_level=level, postfix_tls_policy={'legacy.example': policy})
    assert found == ['postfix_tls_policy: legacy.example -> %s is weaker than postfix_tls_outbound_level (%s); list '
                     'legacy.example in postfix_allow_tls_policy_downgrades to send it so' % (policy, level)]
    assert problems(postfix_tls_outbound_level=level, postfix_tls_policy={'legacy.example': policy},
                    postfix_allow_tls_policy_downgrades=['legacy.example']) == []
    # The opt-in names one destination, not its neighbours.
    assert problems(postfix_tls_outbound_level=level, postfix_tls_policy={'other.example': policy},
                    postfix_allow_tls_policy_downgrades=['legacy.example']) != []


@pytest.mark.parametrize('destination,value,reason', [
    ('partner.example', 'encrypt protocols=>=TLSv1', 'attribute(s) protocols refused'),
    ('partner.example', 'secure ciphers=low exclude=kRSA', 'attribute(s) ciphers, exclude refused'),
    ('partner.example', 'secure nexthop', 'attribute(s) nexthop refused'),
    ('partner.example', 'optional', 'does not start with a TLS level'),
    ('two words', 'secure', "key 'two words' contains whitespace"),
    ('partner.example:25:25', 'secure', 'is not a domain, .domain, [host] or [host]:port'),
    ('user@partner.example', 'secure', 'is not a domain'),
    ('2001:db8::25', 'secure', 'is not a domain'),
    ('[10.0.0.0/8]', 'secure', 'is not a domain'),
])
def test_tls_policy_entries_that_are_not_a_destination_and_a_level_are_refused(destination, value, reason):
    found = problems(postfix_tls_policy={destination: value})
    assert len(found) == 1 and found[0].startswith('postfix_tls_policy: ') and reason in found[0], found


def test_a_tls_policy_needs_tls():
    assert problems(postfix_tls_enabled=False, postfix_tls_policy={'partner.example': 'secure'}) == [
        'postfix_tls_policy: needs postfix_tls_enabled (with TLS off the policies would name levels Postfix never '
        'uses)']


@pytest.mark.parametrize('variables,message', [
    ({'postfix_mta_sts': True, 'postfix_tls_enabled': False}, 'postfix_mta_sts: needs postfix_tls_enabled'),
    ({'postfix_mta_sts': True, 'postfix_mta_sts_port': 25}, 'postfix_mta_sts_port: 25 is already smtp'),
    ({'postfix_mta_sts': True, 'postfix_mta_sts_port': 10025},
     'postfix_mta_sts_port: 10025 is already postfix_reinject_port'),
    ({'postfix_mta_sts': True, 'postfix_mta_sts_port': 70000}, 'postfix_mta_sts_port: 70000 is not a TCP port'),
])
def test_mta_sts_needs_tls_and_a_port_of_its_own(variables, message):
    found = problems(**variables)
    assert [p for p in found if p.startswith(message)], found


def test_mta_sts_on_its_default_port_passes():
    assert problems(postfix_mta_sts=True) == []
    assert problems(postfix_mta_sts=False, postfix_mta_sts_port=25) == []  # off: the port is not used
