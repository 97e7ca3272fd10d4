# -*- coding: utf-8 -*-
"""securemail.gateway.staged_config against the real postconf, postfix and postmap binaries."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import grp
import json
import os
import shutil
import stat
import subprocess

import pytest

from conftest import digest, postconf, postfix_tree, run_module

PATH = '/usr/sbin:/usr/bin:/sbin:/bin'
POSTCONF, POSTFIX, POSTMAP = (shutil.which(name, path=PATH) for name in ('postconf', 'postfix', 'postmap'))
POSTFIX_GID = grp.getgrnam('postfix').gr_gid
TRANSPORT = 'example.org smtp:[hub.example.net]\nexample.net smtp:[hub2.example.net]\n'


@pytest.fixture
def tree():
    """A private Postfix tree; etc/ is the live config dir the module changes."""
    if not (POSTCONF and POSTFIX and POSTMAP):
        pytest.fail('Postfix is not installed: run `make host`')
    base, etc, spool, data = postfix_tree('staged-config-')
    yield dict(base=base, etc=etc, spool=spool, data=data)
    shutil.rmtree(base, ignore_errors=True)


def main_cf(tree, *extra):
    lines = ['compatibility_level = 3.6', 'queue_directory = %s' % tree['spool'], 'data_directory = %s' % tree['data'],
             'maillog_file = %s/maillog' % tree['base'], 'maillog_file_prefixes = %s' % tree['base'],
             'inet_protocols = ipv4', 'myhostname = staged.example.org', 'mydestination =']
    return '\n'.join(lines + list(extra)) + '\n'


def master_cf():
    with open('/usr/share/postfix/master.cf.dist') as handle:
        return handle.read()


def validators(etc):
    return [
        {'name': 'postconf -n', 'argv': [POSTCONF, '-c', '{root}' + etc, '-n'], 'fail_stderr': True},
        {'name': 'postfix check', 'argv': [POSTFIX, '-c', '{root}' + etc, 'check']},
    ]


def args(tree, tmp_path, main=None, transport=TRANSPORT, **extra):
    etc = tree['etc']
    spec = {
        'name': 'postfix',
        'files': [
            {'dest': os.path.join(etc, 'main.cf'), 'content': main or main_cf(tree)},
            {'dest': os.path.join(etc, 'master.cf'), 'content': master_cf()},
            {'dest': os.path.join(etc, 'transport'), 'content': transport, 'mode': '0640', 'group': 'postfix'},
        ],
        'indexes': [{'source': os.path.join(etc, 'transport'), 'label': 'postfix_transport_maps',
                     'argv': [POSTMAP, '-c', '{root}' + etc, 'hash:{root}%s/transport' % etc],
                     'outputs': [os.path.join(etc, 'transport.db')]}],
        'validators': validators(etc),
        'restart_on': {etc + '/': ['^inet_interfaces', '^queue_directory']},
        'backup_dir': str(tmp_path / 'backup'),
        'scratch_parent': str(tmp_path / 'scratch'),
        'lock_dir': str(tmp_path / 'lock'),
    }
    spec.update(extra)
    return spec


def paths(etc, *names):
    return [os.path.join(etc, n) for n in names]


def lookup(etc, key):
    return subprocess.run([POSTMAP, '-c', etc, '-q', key, 'hash:' + os.path.join(etc, 'transport')],
                          capture_output=True, text=True, check=False).stdout.strip()


@pytest.fixture
def scratch(tmp_path):
    (tmp_path / 'scratch').mkdir()
    return str(tmp_path / 'scratch')


def test_render_validate_index_then_nothing(tree, tmp_path, scratch):
    etc = tree['etc']
    first = run_module('staged_config', args(tree, tmp_path), diff=True)
    assert first.get('failed') is not True, first
    assert first['changed'] is True
    assert first['changed_paths'] == paths(etc, 'main.cf', 'master.cf', 'transport', 'transport.db')
    assert first['validated'] == ['postconf -n (stage)', 'postfix check (stage)',
                                  'postconf -n (live)', 'postfix check (live)']
    # One postmap, two validators on the candidate, the same two on the live tree.
    assert first['processes'] == 5
    assert first['owed'] == 'restart'  # queue_directory is new
    assert first['applied'] == 'none'  # no apply: the caller is told what is owed
    assert postconf(etc, '-h', 'myhostname').strip() == 'staged.example.org'
    assert lookup(etc, 'example.net') == 'smtp:[hub2.example.net]'
    db = os.stat(os.path.join(etc, 'transport.db'))
    assert (stat.S_IMODE(db.st_mode), db.st_uid, db.st_gid) == (0o640, 0, POSTFIX_GID)
    manifest = json.load(open(os.path.join(first['backup_path'], 'manifest.json')))
    assert manifest == dict((p, 'absent') for p in first['changed_paths'])
    assert stat.S_IMODE(os.stat(first['backup_path']).st_mode) == 0o700
    diff = dict((d['before_header'], d) for d in first['diff'])
    assert 'myhostname = staged.example.org\n' in diff[os.path.join(etc, 'main.cf')]['after']
    assert diff[os.path.join(etc, 'transport.db')]['after'] == '(content hidden, changed)\n'
    assert os.listdir(scratch) == []

    second = run_module('staged_config', args(tree, tmp_path))
    assert second['changed'] is False and second['changed_paths'] == []
    assert second['processes'] == 0 and second['validated'] == [] and second['backup_path'] is None

    # A changed table is indexed again; main.cf stays.
    third = run_module('staged_config', args(tree, tmp_path, transport=TRANSPORT + 'example.com local:\n'))
    assert third['changed_paths'] == paths(etc, 'transport', 'transport.db')
    assert third['owed'] == 'reload' and third['processes'] == 5
    assert lookup(etc, 'example.com') == 'local:'


@pytest.mark.parametrize('bad,message,detail', [
    ('mail_owner = nosuchuser', 'postfix check rejected the candidate configuration: exit status 1', ''),
    ('smtpd_helo_requird = yes', 'postconf -n rejected the candidate configuration: %s: warning: ' % POSTCONF,
     'main.cf: unused parameter: smtpd_helo_requird=yes'),
])
def test_rejected_main_cf_leaves_the_live_files_byte_identical(tree, tmp_path, scratch, bad, message, detail):
    etc = tree['etc']
    good = run_module('staged_config', args(tree, tmp_path))
    assert good['changed'] is True, good
    live = paths(etc, 'main.cf', 'master.cf', 'transport', 'transport.db')
    before = digest(*live)
    backups = sorted(os.listdir(str(tmp_path / 'backup')))
    result = run_module('staged_config', args(tree, tmp_path, main=main_cf(tree, bad)))
    assert result.get('failed') is True, result
    assert result['step'] == 'validate'
    assert result['msg'].startswith('postfix: ' + message), result['msg']
    assert result['msg'].endswith(detail), result['msg']
    assert result['changed_paths'] == [os.path.join(etc, 'main.cf')]
    assert digest(*live) == before
    assert sorted(os.listdir(str(tmp_path / 'backup'))) == backups
    assert os.listdir(scratch) == []


def test_postmap_rejecting_the_table_changes_nothing(tree, tmp_path, scratch):
    etc = tree['etc']
    run_module('staged_config', args(tree, tmp_path))
    before = digest(*paths(etc, 'main.cf', 'master.cf', 'transport', 'transport.db'))
    result = run_module('staged_config', args(tree, tmp_path, transport=TRANSPORT + 'broken-line-without-value\n'))
    assert result.get('failed') is True and result['step'] == 'stage', result
    assert result['msg'].startswith('postfix: postfix_transport_maps: postmap rejected it: ')
    assert 'expected format' in result['msg']
    assert result['processes'] == 1  # no validator after a failed index
    assert digest(*paths(etc, 'main.cf', 'master.cf', 'transport', 'transport.db')) == before


def test_check_mode_changes_nothing_and_predicts_the_real_run(tree, tmp_path, scratch):
    etc = tree['etc']
    run_module('staged_config', args(tree, tmp_path))
    live = paths(etc, 'main.cf', 'master.cf', 'transport', 'transport.db')
    before = digest(*live)
    backups = sorted(os.listdir(str(tmp_path / 'backup')))
    new = args(tree, tmp_path, main=main_cf(tree, 'inet_interfaces = loopback-only'),
               transport=TRANSPORT + 'example.com local:\n')
    predicted = run_module('staged_config', new, check=True, diff=True)
    assert predicted['changed'] is True, predicted
    assert digest(*live) == before
    assert sorted(os.listdir(str(tmp_path / 'backup'))) == backups
    assert predicted['validated'] == ['postconf -n (stage)', 'postfix check (stage)']
    assert predicted['processes'] == 3
    real = run_module('staged_config', new, diff=True)
    assert predicted['changed_paths'] == real['changed_paths'] == paths(etc, 'main.cf', 'transport', 'transport.db')
    assert predicted['owed'] == real['owed'] == 'restart'
    assert predicted['diff'] == real['diff']
    assert postconf(etc, '-h', 'inet_interfaces').strip() == 'loopback-only'


def test_edit_in_merge_mode_keeps_the_rest_of_main_cf(tree, tmp_path, scratch):
    etc = tree['etc']
    main = os.path.join(etc, 'main.cf')
    with open(main, 'w') as handle:
        handle.write('# written by hand, kept\n' + main_cf(tree))
    os.chmod(main, 0o640)
    with open(os.path.join(etc, 'master.cf'), 'w') as handle:
        handle.write(master_cf())
    master_before = digest(os.path.join(etc, 'master.cf'))

    def edit(value):
        return {'name': 'postfix', 'copy': [etc], 'validators': validators(etc),
                'edits': [{'name': 'postconf -e', 'files': [main],
                           'commands': [[POSTCONF, '-c', '{root}' + etc, '-e', 'smtpd_helo_required=%s' % value]]}],
                'backup_dir': str(tmp_path / 'backup'), 'scratch_parent': scratch, 'lock_dir': str(tmp_path / 'lock')}

    first = run_module('staged_config', edit('yes'), diff=True)
    assert first.get('failed') is not True, first
    assert first['changed_paths'] == [main]
    assert first['processes'] == 5  # the edit, two validators on the candidate, two on the live tree
    text = open(main).read()
    assert text.startswith('# written by hand, kept\ncompatibility_level = 3.6\n')
    assert 'smtpd_helo_required = yes\n' in text
    # postconf -e writes a new file 0644; the engine keeps the live file's mode and owner.
    assert stat.S_IMODE(os.stat(main).st_mode) == 0o640
    assert digest(os.path.join(etc, 'master.cf')) == master_before
    assert first['diff'][0]['after'] == text

    again = run_module('staged_config', edit('yes'))
    assert again['changed'] is False and again['processes'] == 1  # the edit of the scratch copy only
    changed = run_module('staged_config', edit('no'), check=True)
    assert changed['changed_paths'] == [main] and open(main).read() == text
