# -*- coding: utf-8 -*-
"""tls_selfsigned on this machine: real openssl, real modes and owners, check mode predicting the real run."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import stat
import subprocess

import pytest

from conftest import run_module


@pytest.fixture(autouse=True)
def needs_openssl_and_root():
    if not shutil.which('openssl'):
        pytest.fail('openssl is not installed: run `make host`')
    if os.geteuid() != 0:
        pytest.fail('tls_selfsigned sets root ownership; run the integration tests as root (CI does)')


def pair_args(tmp_path, **extra):
    directory = tmp_path / 'tls'
    args = dict(path=str(directory), cert=str(directory / 'site.crt'), key=str(directory / 'site.key'),
                common_name='mx1.example.test', days=2, key_size=2048)
    args.update(extra)
    return args


def mode(path):
    st = os.stat(path)
    return '%04o %d:%d' % (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)


def openssl_text(cert):
    return subprocess.run(['openssl', 'x509', '-noout', '-text', '-in', cert], capture_output=True, text=True,
                          check=True).stdout


def test_fresh_pair_is_predicted_then_made_then_left_alone(tmp_path):
    args = pair_args(tmp_path, subject_alt_names=['DNS:mx1.example.test', 'IP:192.0.2.25'])
    predicted = run_module('tls_selfsigned', args, check=True, diff=True, tmp_path=tmp_path)
    assert predicted['changed'] is True and predicted['changes'] == ['directory created', 'pair created']
    assert not os.path.exists(args['path']), 'check mode touched the host'
    assert 'absent' in predicted['diff']['before'] and 'new, CN=mx1.example.test' in predicted['diff']['after']

    made = run_module('tls_selfsigned', args, tmp_path=tmp_path)
    assert made['changed'] is True and made['changes'] == predicted['changes']
    assert (mode(args['path']), mode(args['key']), mode(args['cert'])) == ('0700 0:0', '0600 0:0', '0644 0:0')
    assert sorted(os.listdir(args['path'])) == ['site.crt', 'site.key'], 'temporary files left behind'
    text = openssl_text(args['cert'])
    assert 'Subject: CN = mx1.example.test' in text and 'IP Address:192.0.2.25' in text
    # The key belongs to the certificate.
    pub = [subprocess.run(['openssl', kind, '-in', path] + flags, capture_output=True, text=True, check=True).stdout
           for kind, path, flags in (('x509', args['cert'], ['-pubkey', '-noout']), ('pkey', args['key'], ['-pubout']))]
    assert pub[0] == pub[1] and 'BEGIN PUBLIC KEY' in pub[0]

    before = open(args['cert'], 'rb').read()
    for check in (True, False):
        again = run_module('tls_selfsigned', args, check=check, diff=True, tmp_path=tmp_path)
        assert again['changed'] is False and again['changes'] == []
        assert again['diff']['before'] == again['diff']['after']
    assert open(args['cert'], 'rb').read() == before, 'an existing pair was replaced'


def test_loose_modes_are_fixed_and_the_pair_kept(tmp_path):
    args = pair_args(tmp_path)
    run_module('tls_selfsigned', args, tmp_path=tmp_path)
    before = open(args['cert'], 'rb').read()
    os.chmod(args['path'], 0o755)
    os.chmod(args['key'], 0o644)
    predicted = run_module('tls_selfsigned', args, check=True, tmp_path=tmp_path)
    assert predicted['changes'] == ['directory mode or owner fixed', 'key mode or owner fixed']
    assert mode(args['key']) == '0644 0:0', 'check mode touched the key'
    fixed = run_module('tls_selfsigned', args, tmp_path=tmp_path)
    assert fixed['changes'] == predicted['changes']
    assert (mode(args['path']), mode(args['key'])) == ('0700 0:0', '0600 0:0')
    assert open(args['cert'], 'rb').read() == before


def test_a_missing_key_makes_a_new_pair(tmp_path):
    args = pair_args(tmp_path)
    run_module('tls_selfsigned', args, tmp_path=tmp_path)
    before = open(args['cert'], 'rb').read()
    os.unlink(args['key'])
    result = run_module('tls_selfsigned', args, tmp_path=tmp_path)
    assert result['changes'] == ['pair created'] and os.path.isfile(args['key'])
    assert open(args['cert'], 'rb').read() != before


def test_directory_only(tmp_path):
    directory = tmp_path / 'tls'
    result = run_module('tls_selfsigned', {'path': str(directory)}, tmp_path=tmp_path)
    assert result['changes'] == ['directory created'] and os.listdir(str(directory)) == []
    assert mode(str(directory)) == '0700 0:0'


@pytest.mark.parametrize('extra, words', [
    (dict(common_name='mx1.example.test/O=Evil'), 'common_name'),
    (dict(common_name=None), 'common_name'),
    (dict(subject_alt_names=['email:x@example.test']), 'subject_alt_names'),
    (dict(subject_alt_names=['IP:300.1.1.1']), 'subject_alt_names'),
    (dict(key_size=1024), 'key_size'),
    (dict(key='/etc/elsewhere.key'), 'not directly in path'),
    (dict(key=None), 'give both or neither'),
])
def test_bad_input_is_refused_before_anything_changes(tmp_path, extra, words):
    args = pair_args(tmp_path, **extra)
    result = run_module('tls_selfsigned', args, tmp_path=tmp_path)
    assert result.get('failed') is True and words in result['msg']
    assert not os.path.exists(args['path'])


def test_a_directory_where_the_certificate_goes_is_refused(tmp_path):
    args = pair_args(tmp_path)
    os.makedirs(args['cert'])
    result = run_module('tls_selfsigned', args, tmp_path=tmp_path)
    assert result.get('failed') is True and 'cert: ' in result['msg'] and 'not a regular file' in result['msg']
    assert os.listdir(args['path']) == ['site.crt']
