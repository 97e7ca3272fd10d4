# -*- coding: utf-8 -*-
"""path_facts: what it reports about paths, and how it compares a key with a certificate (no openssl here)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import grp
import os
import pwd
import socket

import pytest

from ansible_collections.securemail.gateway.plugins.module_utils.path_facts import (
    key_pair_facts, package_facts, path_facts, public_key_facts, user_groups)
from ansible_collections.securemail.gateway.plugins.modules import path_facts as module

ME = pwd.getpwuid(os.getuid()).pw_name
MY_GROUP = grp.getgrgid(os.getgid()).gr_name


@pytest.fixture
def tree(tmp_path):
    (tmp_path / 'file').write_text('x')
    os.chmod(str(tmp_path / 'file'), 0o640)
    (tmp_path / 'dir').mkdir()
    (tmp_path / 'link-to-file').symlink_to(tmp_path / 'file')
    (tmp_path / 'link-to-dir').symlink_to('dir')
    (tmp_path / 'dangling').symlink_to(tmp_path / 'nowhere')
    os.mkfifo(str(tmp_path / 'fifo'))
    return tmp_path


def test_a_regular_file(tree):
    path = str(tree / 'file')
    assert path_facts(path) == dict(path=path, exists=True, islnk=False, isreg=True, isdir=False, issock=False, real=path,
                                    mode='0640', pw_name=ME, gr_name=MY_GROUP)


def test_symlinks_are_followed_for_type_and_mode_and_resolved_for_real(tree):
    to_file, to_dir = path_facts(str(tree / 'link-to-file')), path_facts(str(tree / 'link-to-dir'))
    assert to_file['islnk'] and to_file['isreg'] and to_file['mode'] == '0640'
    assert to_file['real'] == str(tree / 'file')
    assert to_dir['islnk'] and to_dir['isdir'] and not to_dir['isreg'] and to_dir['real'] == str(tree / 'dir')


def test_a_dangling_symlink_exists_but_leads_nowhere(tree):
    facts = path_facts(str(tree / 'dangling'))
    assert facts['exists'] and facts['islnk'] and not facts['isreg'] and not facts['isdir']
    assert facts['mode'] is None and facts['pw_name'] is None and facts['real'] == str(tree / 'nowhere')


@pytest.mark.parametrize('path', ['/nonexistent/path', '', 'a\0b'])
def test_nothing_there(path):
    facts = path_facts(path)
    assert not facts['exists'] and not facts['isreg'] and facts['mode'] is None and facts['path'] == path


def test_a_fifo_is_neither_file_nor_directory(tree):
    facts = path_facts(str(tree / 'fifo'))
    assert facts['exists'] and not facts['isreg'] and not facts['isdir'] and not facts['issock']


def test_a_unix_socket_and_a_link_to_one(tree):
    # The roles ask whether a syslog daemon listens on /dev/log, often a
    # symlink to journald's socket.
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        server.bind(str(tree / 'log'))
        (tree / 'dev-log').symlink_to(tree / 'log')
        assert path_facts(str(tree / 'log'))['issock'] and path_facts(str(tree / 'dev-log'))['issock']
    finally:
        server.close()
    assert not path_facts(str(tree / 'file'))['issock']


class Openssl(object):
    """Stands in for openssl: the public key of a file is what follows 'pub:' in it."""

    def __init__(self):
        self.calls = []

    def __call__(self, args):
        self.calls.append(args)
        with open(args[-1]) as handle:
            text = handle.read()
        if not text.startswith('pub:'):
            return 1, '', 'Could not read %s\nmore detail\n' % args[-1]
        return 0, '-----BEGIN PUBLIC KEY-----\n%s\n' % text[4:], ''


def pem(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_a_key_of_the_certificate_matches(tmp_path):
    run = Openssl()
    cert, key = pem(tmp_path, 'c', 'pub:A'), pem(tmp_path, 'k', 'pub:A')
    assert key_pair_facts(cert, key, run) == dict(match=True, error='')
    # Each file goes to its own command; an encrypted key is never prompted for.
    assert run.calls == [['x509', '-noout', '-pubkey', '-in', cert], ['pkey', '-pubout', '-passin', 'pass:', '-in', key]]


def test_another_key_does_not_match(tmp_path):
    found = key_pair_facts(pem(tmp_path, 'c', 'pub:A'), pem(tmp_path, 'k', 'pub:B'), Openssl())
    assert found == dict(match=False, error='')


def test_what_openssl_cannot_read_does_not_match_and_says_why(tmp_path):
    cert, key = pem(tmp_path, 'c', 'garbage'), pem(tmp_path, 'k', 'garbage')
    assert key_pair_facts(cert, key, Openssl()) == dict(
        match=False, error='x509: Could not read %s; pkey: Could not read %s' % (cert, key))
    assert key_pair_facts(cert, key, lambda args: (3, '', ''))['error'] == 'x509: exit status 3; pkey: exit status 3'


def test_openssl_never_sees_a_missing_or_special_file(tree):
    run = Openssl()
    cert = pem(tree, 'c', 'pub:A')
    assert key_pair_facts(cert, str(tree / 'fifo'), run) == dict(
        match=None, error='key %s is not a regular file' % (tree / 'fifo'))
    assert key_pair_facts(str(tree / 'nowhere'), cert, run)['match'] is None
    assert run.calls == []


def test_the_documentation_is_yaml_with_the_options_the_module_takes():
    import yaml
    doc = yaml.safe_load(module.DOCUMENTATION)
    assert sorted(doc['options']) == ['key_pairs', 'packages', 'paths', 'public_keys', 'users']
    assert doc['attributes']['check_mode']['support'] == 'full'
    returned = yaml.safe_load(module.RETURN)
    assert sorted(returned['paths']['contains']) == sorted(path_facts('/'))
    assert sorted(returned['key_pairs']['contains']) == ['error', 'match']


def test_main_reports_every_name_and_changes_nothing_in_check_mode(run_main, tree):
    code, result = run_main(module, {'paths': {'f': str(tree / 'file'), 'n': 5}, '_ansible_check_mode': True})
    assert code == 0 and result['changed'] is False and result['key_pairs'] == {}
    assert result['paths']['f']['isreg'] and result['paths']['n']['path'] == '5'


def test_main_refuses_a_pair_without_both_paths(run_main):
    code, result = run_main(module, {'key_pairs': {'web': {'cert': '/etc/ssl/certs/x.pem'}}})
    assert code == 1 and result['failed'] and result['msg'] == 'key_pairs.web: must be a dict with the paths cert and key'


DPKG_STATUS = """Package: postfix
Status: install ok installed
Priority: extra
Architecture: amd64
Version: 3.7.11-0+deb12u1
Description: High-performance mail transport agent
 Postfix is Wietse Venema's mail server. Package: not-a-field
 Status: install ok installed

Package: postfix-pcre
Status: deinstall ok config-files
Architecture: amd64
Version: 3.7.11-0+deb12u1

Package: libc6
Status: install ok installed
Architecture: i386
Version: 2.36-9

Package: openssl
Status: install ok half-configured
Architecture: amd64
Version: 3.0.15-1
"""


def test_packages_installed_removed_half_configured_virtual_and_by_arch(tmp_path):
    status = tmp_path / 'status'
    status.write_text(DPKG_STATUS)
    found = package_facts(['postfix', 'postfix-pcre', 'openssl', 'mail-transport-agent', 'libc6', 'libc6:i386',
                           'libc6:amd64', 'not-a-field'], status_file=str(status))
    assert found == {'postfix': '3.7.11-0+deb12u1', 'postfix-pcre': None, 'openssl': None,
                     'mail-transport-agent': None, 'libc6': '2.36-9', 'libc6:i386': '2.36-9', 'libc6:amd64': None,
                     'not-a-field': None}


def test_packages_without_a_dpkg_database(tmp_path):
    assert package_facts(['postfix'], status_file=str(tmp_path / 'none')) == {'postfix': None}
    assert package_facts([], status_file=str(tmp_path / 'none')) == {}


def test_user_groups_are_the_primary_and_the_listed_ones():
    me = pwd.getpwuid(os.getuid())
    expected = sorted(set([grp.getgrgid(me.pw_gid).gr_name] + [g.gr_name for g in grp.getgrall() if me.pw_name in g.gr_mem]))
    assert user_groups(me.pw_name) == expected and MY_GROUP in expected
    assert user_groups('no-such-user-securemail') is None


def test_public_half_of_a_key_is_one_base64_line(tmp_path, tree):
    run = Openssl()
    key = pem(tmp_path, 'k', 'pub:QUJD\nREVG')
    assert public_key_facts(key, run) == 'QUJDREVG'
    assert run.calls == [['pkey', '-pubout', '-passin', 'pass:', '-in', key]]
    assert public_key_facts(pem(tmp_path, 'g', 'garbage'), run) is None
    assert public_key_facts(str(tree / 'fifo'), run) is None and len(run.calls) == 2
