# -*- coding: utf-8 -*-
"""path_facts on this machine: real files, real symlinks, real openssl, and through ansible in check mode."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import os
import shutil
import subprocess
import sys

import pytest

from conftest import COLLECTIONS, run_module

SNAKEOIL = ('/etc/ssl/certs/ssl-cert-snakeoil.pem', '/etc/ssl/private/ssl-cert-snakeoil.key')


def openssl(*args):
    if not shutil.which('openssl'):
        pytest.fail('openssl is not installed: run `make host`')
    subprocess.run(['openssl'] + list(args), check=True, capture_output=True)


@pytest.fixture(scope='module')
def pki(tmp_path_factory):
    """Two certificates with their keys (RSA and EC), an encrypted copy of a key, and files that are no PEM."""
    base = tmp_path_factory.mktemp('pki')
    algorithms = {'rsa': ['-newkey', 'rsa:2048'], 'ec': ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256']}
    for name, algorithm in algorithms.items():
        openssl('req', '-x509', *algorithm, '-nodes', '-days', '2', '-subj', '/CN=%s.example.test' % name,
                '-keyout', str(base / (name + '.key')), '-out', str(base / (name + '.crt')))
    openssl('pkey', '-in', str(base / 'rsa.key'), '-aes256', '-passout', 'pass:secret', '-out',
            str(base / 'rsa-encrypted.key'))
    (base / 'empty.pem').write_text('')
    (base / 'key-link').symlink_to(base / 'rsa.key')
    return base


def pairs(pki, **named):
    return dict((name, {'cert': str(pki / cert), 'key': str(pki / key)}) for name, (cert, key) in named.items())


def test_keys_are_compared_with_their_certificates(pki, tmp_path):
    result = run_module('path_facts', {'key_pairs': pairs(
        pki, rsa=('rsa.crt', 'rsa.key'), ec=('ec.crt', 'ec.key'), crossed=('rsa.crt', 'ec.key'),
        link=('rsa.crt', 'key-link'), encrypted=('rsa.crt', 'rsa-encrypted.key'), no_cert=('empty.pem', 'rsa.key'),
        cert_as_key=('rsa.crt', 'rsa.crt'), missing=('rsa.crt', 'nosuch.key'))}, tmp_path=tmp_path)
    found = result['key_pairs']
    assert result['changed'] is False and 'failed' not in result
    assert (found['rsa'], found['ec'], found['link']) == ({'match': True, 'error': ''},) * 3
    assert found['crossed'] == {'match': False, 'error': ''}
    assert found['encrypted']['match'] is False and found['encrypted']['error'].startswith('pkey: ')
    assert found['no_cert']['match'] is False and found['no_cert']['error'].startswith('x509: ')
    assert found['cert_as_key']['match'] is False and found['cert_as_key']['error'].startswith('pkey: ')
    assert found['missing'] == {'match': None, 'error': 'key %s is not a regular file' % (pki / 'nosuch.key')}


def test_public_halves_of_keys_as_dns_records_carry_them(pki, tmp_path):
    result = run_module('path_facts', {'public_keys': {'rsa': str(pki / 'rsa.key'), 'link': str(pki / 'key-link'),
                                                       'missing': str(pki / 'nosuch.key'), 'bad': str(pki / 'empty.pem')}},
                        tmp_path=tmp_path)
    found = result['public_keys']
    der = subprocess.run(['openssl', 'pkey', '-in', str(pki / 'rsa.key'), '-pubout', '-outform', 'DER'],
                         check=True, capture_output=True).stdout
    assert found['rsa'] == base64.b64encode(der).decode() == found['link']
    assert found['missing'] is None and found['bad'] is None
    assert 'PRIVATE' not in json.dumps(result)


def test_no_key_material_in_the_result(pki, tmp_path):
    body = (pki / 'rsa.key').read_text().splitlines()[1]
    result = run_module('path_facts', {'paths': {'key': str(pki / 'rsa.key')},
                                       'key_pairs': pairs(pki, rsa=('rsa.crt', 'rsa.key'), bad=('empty.pem', 'rsa.key'))},
                        tmp_path=tmp_path)
    text = json.dumps(result)
    assert 'PRIVATE KEY' not in text and 'PUBLIC KEY' not in text and body not in text


def test_paths_as_a_daemon_opens_them(pki, tmp_path):
    (tmp_path / 'root-link').symlink_to('/root')
    (tmp_path / 'dangling').symlink_to(tmp_path / 'nowhere')
    os.chmod(str(pki / 'rsa.key'), 0o600)
    result = run_module('path_facts', {'paths': {
        'key': str(pki / 'rsa.key'), 'link': str(pki / 'key-link'), 'root_link': str(tmp_path / 'root-link'),
        'dangling': str(tmp_path / 'dangling'), 'missing': str(tmp_path / 'nowhere'), 'dir': str(tmp_path)}},
        check=True, tmp_path=tmp_path)
    found = result['paths']
    assert result['changed'] is False
    assert found['key']['isreg'] and found['key']['mode'] == '0600' and not found['key']['islnk']
    assert found['link']['islnk'] and found['link']['isreg'] and found['link']['real'] == str(pki / 'rsa.key')
    assert found['root_link']['isdir'] and found['root_link']['real'] == '/root'
    assert found['dangling']['exists'] and not found['dangling']['isreg'] and found['dangling']['mode'] is None
    assert not found['missing']['exists'] and found['dir']['isdir']


@pytest.mark.skipif(not all(os.path.exists(p) for p in SNAKEOIL), reason="Debian's snakeoil pair is not on this host")
def test_debian_snakeoil_pair(tmp_path):
    result = run_module('path_facts', {'paths': {'key': SNAKEOIL[1]},
                                       'key_pairs': {'snakeoil': {'cert': SNAKEOIL[0], 'key': SNAKEOIL[1]}}},
                        tmp_path=tmp_path)
    assert result['key_pairs']['snakeoil'] == {'match': True, 'error': ''}
    assert (result['paths']['key']['mode'], result['paths']['key']['gr_name']) == ('0640', 'ssl-cert')


def test_through_ansible_in_check_mode(pki):
    """The way the roles call it: AnsiballZ with its module_utils, check mode, nothing changed."""
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_LOAD_CALLBACK_PLUGINS='1',
               ANSIBLE_STDOUT_CALLBACK='json', ANSIBLE_LOCALHOST_WARNING='0', ANSIBLE_INVENTORY_UNPARSED_WARNING='0',
               ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    args = {'paths': {'cert': str(pki / 'ec.crt')}, 'key_pairs': pairs(pki, ec=('ec.crt', 'ec.key'))}
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible'), 'localhost', '-c', 'local',
                           '--check', '-m', 'securemail.gateway.path_facts', '-a', json.dumps(args)],
                          env=env, capture_output=True, text=True, check=False)
    result = json.loads(proc.stdout)['plays'][0]['tasks'][0]['hosts']['localhost']
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert result['changed'] is False and result['key_pairs']['ec'] == {'match': True, 'error': ''}
    assert result['paths']['cert']['isreg']
    assert result['paths']['cert']['mode'] == '%04o' % (os.stat(str(pki / 'ec.crt')).st_mode & 0o7777)
