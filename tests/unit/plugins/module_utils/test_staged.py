# -*- coding: utf-8 -*-
"""The ordering rules of the safe-change engine, with a fake runner and clock."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import fcntl
import glob
import grp
import json
import os
import pwd
import stat

import pytest

from ansible_collections.securemail.gateway.plugins.module_utils import staged
from ansible_collections.securemail.gateway.plugins.module_utils.staged import BACKUP_RE, Engine, EngineError

NOBODY = pwd.getpwnam('nobody').pw_uid
NOGROUP = grp.getgrnam('nogroup').gr_gid


class Runner(object):
    """A fake run(argv, user, env): records every call; handlers by argv[0] decide the outcome."""

    def __init__(self, **handlers):
        self.calls = []
        self.handlers = handlers

    def __call__(self, argv, user=None, env=None):
        self.calls.append(list(argv))
        handler = self.handlers.get(argv[0])
        if handler is None:
            return 0, '', ''
        return handler(argv)

    def commands(self):
        return [c[0] for c in self.calls]


class Clock(object):
    """now() one second later on every call."""

    def __init__(self):
        self.t = datetime.datetime(2024, 5, 1, 12, 0, 0, 123456)

    def __call__(self):
        self.t += datetime.timedelta(seconds=1)
        return self.t


@pytest.fixture
def env(tmp_path):
    live = tmp_path / 'live'
    live.mkdir()
    (tmp_path / 'scratch').mkdir()
    return tmp_path


def make_spec(tmp_path, **extra):
    spec = dict(name='t', files=[], secret_contents={}, links=[], copy=[], edits=[], indexes=[], validators=[],
                restart_on={}, backup_dir=str(tmp_path / 'backup'), retention=5,
                scratch_parent=str(tmp_path / 'scratch'), scratch_owner=None, lock_dir=str(tmp_path / 'lock'),
                apply=None, pause_at=None)
    spec.update(extra)
    return spec


def fspec(dest, content=None, mode='0644', owner='root', group='root', **extra):
    f = dict(dest=str(dest), content=content, concat=None, owner=owner, group=group, mode=mode, secret=False)
    f.update(extra)
    return f


def engine(spec, runner, **kw):
    kw.setdefault('now', Clock())
    # The fake commands (index, check, ...) stand for installed tools.
    kw.setdefault('which', lambda tool: '/usr/bin/' + tool)
    kw.setdefault('sleep', lambda s: pytest.fail('sleep called without pause_at'))
    return Engine(spec, runner, **kw)


def write(path, data, mode=0o644, uid=0, gid=0):
    with open(str(path), 'wb') as f:
        f.write(data if isinstance(data, bytes) else data.encode('utf-8'))
    os.chown(str(path), uid, gid)
    os.chmod(str(path), mode)


def snapshot(top):
    """Everything under top: relative path -> (kind, bytes or link target, mode, uid, gid)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(str(top)):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            st = os.lstat(full)
            if stat.S_ISLNK(st.st_mode):
                what = ('link', os.readlink(full))
            elif stat.S_ISDIR(st.st_mode):
                what = ('dir', None)
            else:
                what = ('file', open(full, 'rb').read())
            out[os.path.relpath(full, str(top))] = what + (st.st_mode & 0o7777, st.st_uid, st.st_gid)
    return out


def mode_of(path):
    return os.lstat(str(path)).st_mode & 0o7777


def backups(tmp_path):
    d = tmp_path / 'backup'
    return sorted(n for n in os.listdir(str(d)) if BACKUP_RE.match(n)) if d.exists() else []


# ------------------------------------------------------------------ no change / change


def test_no_change_runs_nothing_and_writes_nothing(env):
    main = env / 'live' / 'main.cf'
    write(main, 'a = 1\n')
    before = snapshot(env)
    runner = Runner()
    spec = make_spec(env, files=[fspec(main, 'a = 1\n')],
                     validators=[dict(name='check', argv=['check', '{root}' + str(main)])],
                     apply=dict(status=None, reload=['reload'], restart=['restart']))
    result = engine(spec, runner).execute()
    assert result['changed'] is False
    assert result['changed_paths'] == []
    assert result['owed'] == 'none' and result['applied'] == 'none'
    assert result['backup_path'] is None
    assert result['validated'] == []
    assert runner.calls == []
    assert not (env / 'backup').exists()
    after = snapshot(env)
    after.pop('lock', None)
    after.pop('lock/securemail-t.lock', None)
    assert after == before
    assert os.listdir(str(env / 'scratch')) == []


def test_change_validates_candidate_backs_up_and_swaps(env):
    main = env / 'live' / 'main.cf'
    new = env / 'live' / 'sub' / 'new.cf'
    write(main, 'a = 1\n', mode=0o600)
    seen = {}

    def check(argv):
        path = argv[1]
        seen.setdefault('paths', []).append(path)
        seen.setdefault('contents', []).append(open(path).read())
        seen.setdefault('live', []).append(open(str(main)).read())
        return 0, '', ''

    runner = Runner(check=check)
    spec = make_spec(env, files=[fspec(main, 'a = 2\n', mode='0640', owner='nobody', group='nogroup'),
                                 fspec(new, 'b = 1\n', mode='0600')],
                     validators=[dict(name='check', argv=['check', '{root}' + str(main)], phase='both')])
    result = engine(spec, runner, want_diff=True).execute()

    scratch_prefix = os.path.join(str(env / 'scratch'), 'securemail-t.')
    # The candidate first (through {root}, inside the scratch tree), then the live tree.
    assert seen['paths'][0].startswith(scratch_prefix) and seen['paths'][0].endswith(str(main))
    assert seen['contents'][0] == 'a = 2\n' and seen['live'][0] == 'a = 1\n'
    assert seen['paths'][1] == str(main) and seen['contents'][1] == 'a = 2\n'
    assert result['validated'] == ['check (stage)', 'check (live)']

    assert result['changed'] is True
    assert result['changed_paths'] == sorted([str(main), str(new)])
    assert result['owed'] == 'reload' and result['applied'] == 'none'
    assert open(str(main)).read() == 'a = 2\n' and open(str(new)).read() == 'b = 1\n'
    st = os.stat(str(main))
    assert (st.st_mode & 0o7777, st.st_uid, st.st_gid) == (0o640, NOBODY, NOGROUP)
    assert mode_of(new) == 0o600

    bpath = result['backup_path']
    assert os.path.dirname(bpath) == str(env / 'backup') and BACKUP_RE.match(os.path.basename(bpath))
    assert mode_of(env / 'backup') == 0o700 and mode_of(bpath) == 0o700
    manifest = json.load(open(os.path.join(bpath, 'manifest.json')))
    assert manifest == {str(main): 'saved', str(new): 'absent'}
    saved = os.path.join(bpath, 'root', str(main).lstrip('/'))
    assert open(saved).read() == 'a = 1\n' and mode_of(saved) == 0o600

    assert [d['before_header'] for d in result['diff']] == sorted([str(main), str(new)])
    by_path = dict((d['before_header'], d) for d in result['diff'])
    assert by_path[str(main)]['before'] == 'a = 1\n' and by_path[str(main)]['after'] == 'a = 2\n'
    assert by_path[str(new)]['before'] == '' and by_path[str(new)]['after'] == 'b = 1\n'
    assert os.listdir(str(env / 'scratch')) == []
    # No temporary file is left beside the live files.
    assert sorted(os.listdir(str(env / 'live'))) == ['main.cf', 'sub']
    assert os.listdir(str(env / 'live' / 'sub')) == ['new.cf']


def test_mode_only_change_is_a_change(env):
    main = env / 'live' / 'main.cf'
    write(main, 'a = 1\n', mode=0o644)
    result = engine(make_spec(env, files=[fspec(main, 'a = 1\n', mode='0640')]), Runner()).execute()
    assert result['changed_paths'] == [str(main)] and mode_of(main) == 0o640
    again = engine(make_spec(env, files=[fspec(main, 'a = 1\n', mode='0640')]), Runner()).execute()
    assert again['changed'] is False


def test_secret_diff_shows_no_content(env):
    secret = env / 'live' / 'sasl_passwd'
    write(secret, 'relay user:OLDPASSWORD\n', mode=0o600)
    spec = make_spec(env, files=[fspec(secret, 'relay user:NEWPASSWORD\n', mode='0600', secret=True)])
    result = engine(spec, Runner(), want_diff=True).execute()
    assert result['diff'] == [{'before_header': str(secret), 'after_header': str(secret),
                               'before': '(content hidden)\n', 'after': '(content hidden, changed)\n'}]
    text = json.dumps(result)
    assert 'PASSWORD' not in text
    assert open(str(secret)).read() == 'relay user:NEWPASSWORD\n' and mode_of(secret) == 0o600


def test_swap_never_exposes_a_secret_beside_the_live_file(env, monkeypatch):
    """The temporary copy beside the live path is created 0600, whatever the umask, before its mode is set."""
    secret = env / 'live' / 'sasl_passwd'
    spec = make_spec(env, files=[fspec(secret, 'relay user:pw\n', mode='0644', secret=True)])
    modes = []
    real_rename = os.rename

    def rename(src, dst):
        if str(dst) == str(secret):
            modes.append(mode_of(src))
        return real_rename(src, dst)

    monkeypatch.setattr(staged.os, 'rename', rename)
    # Without copying the mode, what is left is the mode the temporary file was created with.
    monkeypatch.setattr(staged.shutil, 'copystat', lambda *args, **kwargs: None)
    old = os.umask(0)
    try:
        engine(spec, Runner()).execute()
    finally:
        os.umask(old)
    assert modes == [0o600]


def test_concat_joins_stripped_parts(env):
    parts = env / 'parts'
    parts.mkdir()
    write(parts / 'a', '\n a = 1 \n\n')
    write(parts / 'b', 'b = 2')
    dest = env / 'live' / 'joined.cf'
    spec = make_spec(env, files=[fspec(dest, concat=[str(parts / 'a'), str(parts / 'b')])])
    engine(spec, Runner()).execute()
    assert open(str(dest)).read() == 'a = 1\nb = 2\n'


# ------------------------------------------------------------------ check mode


def full_spec(env):
    main = env / 'live' / 'main.cf'
    table = env / 'live' / 'transport'
    write(main, 'inet_interfaces = all\nx = 1\n')
    write(table, 'old example.org\n', mode=0o640)
    write(env / 'live' / 'transport.db', 'DB:old example.org\n', mode=0o640)
    return make_spec(
        env,
        files=[fspec(main, 'inet_interfaces = loopback-only\nx = 1\n'),
               fspec(table, 'new example.org\n', mode='0640'),
               fspec(env / 'live' / 'added.cf', 'y = 2\n')],
        links=[dict(path=str(env / 'live' / 'link'), target='main.cf', state='present')],
        indexes=[dict(source=str(table), argv=['index', '{root}' + str(table)], outputs=[str(table) + '.db'],
                      label='transport')],
        validators=[dict(name='check', argv=['check', '{root}'])],
        restart_on={str(env / 'live') + '/': ['^inet_interfaces']},
        apply=dict(status=None, reload=['reload'], restart=['restart']))


def build_index(argv):
    src = argv[1]
    with open(src + '.db', 'wb') as f:
        f.write(b'DB:' + open(src, 'rb').read())
    return 0, '', ''


def test_check_mode_predicts_the_real_run_and_changes_nothing(env):
    spec = full_spec(env)
    before = snapshot(env / 'live')
    runner = Runner(index=build_index)
    predicted = engine(spec, runner, check_mode=True, want_diff=True).execute()
    assert snapshot(env / 'live') == before
    assert not (env / 'backup').exists()
    assert os.listdir(str(env / 'scratch')) == []
    assert runner.commands() == ['index', 'check']  # no live check, no apply
    assert predicted['validated'] == ['check (stage)']
    assert predicted['backup_path'] is None and predicted['applied'] == 'none'

    real_runner = Runner(index=build_index)
    real = engine(full_spec(env), real_runner, want_diff=True).execute()
    expected = sorted(str(env / 'live' / n) for n in ('main.cf', 'transport', 'transport.db', 'added.cf', 'link'))
    assert predicted['changed'] is real['changed'] is True
    assert predicted['changed_paths'] == real['changed_paths'] == expected
    assert predicted['owed'] == real['owed'] == 'restart'
    assert predicted['diff'] == real['diff']
    assert real_runner.commands() == ['index', 'check', 'check', 'restart']
    assert real['applied'] == 'restart'
    assert open(str(env / 'live' / 'transport.db')).read() == 'DB:new example.org\n'
    assert os.readlink(str(env / 'live' / 'link')) == 'main.cf'


def test_check_mode_with_missing_concat_part_reports_the_file(env):
    dest = env / 'live' / 'joined.cf'
    write(dest, 'old\n')
    spec = make_spec(env, files=[fspec(dest, concat=[str(env / 'not-yet')])])
    result = engine(spec, Runner(), check_mode=True, want_diff=True).execute()
    assert result['changed_paths'] == [str(dest)]
    assert result['diff'][0]['after'] == '(not knowable before the run)\n'
    assert open(str(dest)).read() == 'old\n'


# ------------------------------------------------------------------ failure points


def assert_untouched(env, before, runner=None):
    assert snapshot(env / 'live') == before
    assert not os.path.exists(str(env / 'backup' / 'pending'))
    assert os.listdir(str(env / 'scratch')) == []
    if runner is not None:
        assert 'reload' not in runner.commands() and 'restart' not in runner.commands()


def test_stage_index_command_failing_changes_nothing(env):
    spec = full_spec(env)
    before = snapshot(env / 'live')
    runner = Runner(index=lambda argv: (1, '', 'postmap: fatal: bad table\n'))
    with pytest.raises(EngineError) as e:
        engine(spec, runner).execute()
    assert e.value.step == 'stage'
    assert e.value.msg == 'transport: index rejected it: postmap: fatal: bad table'
    assert runner.commands() == ['index']  # no validator after a failed stage
    assert_untouched(env, before, runner)
    assert not (env / 'backup').exists()


def test_stage_index_warning_on_stderr_fails(env):
    spec = full_spec(env)
    before = snapshot(env / 'live')
    runner = Runner(index=lambda argv: (0, '', 'postmap: warning: duplicate entry\n'))
    with pytest.raises(EngineError) as e:
        engine(spec, runner).execute()
    assert e.value.step == 'stage' and 'duplicate entry' in e.value.msg
    assert_untouched(env, before, runner)


def test_stage_index_not_built_fails(env):
    spec = full_spec(env)
    before = snapshot(env / 'live')
    with pytest.raises(EngineError) as e:
        engine(spec, Runner()).execute()  # the fake index command builds nothing
    assert e.value.step == 'stage' and e.value.msg.endswith('the index %s.db was not built' % (env / 'live' / 'transport'))
    assert_untouched(env, before)


def test_stage_missing_concat_part_fails(env):
    dest = env / 'live' / 'joined.cf'
    write(dest, 'old\n')
    before = snapshot(env / 'live')
    spec = make_spec(env, files=[fspec(dest, concat=[str(env / 'gone')])],
                     validators=[dict(name='check', argv=['check'])])
    runner = Runner()
    with pytest.raises(EngineError) as e:
        engine(spec, runner).execute()
    assert e.value.step == 'stage'
    assert e.value.msg == '%s: %s, one of its parts, does not exist' % (dest, env / 'gone')
    assert runner.calls == []
    assert_untouched(env, before)


def test_stage_edit_failing_changes_nothing(env):
    confdir = env / 'live' / 'postfix'
    confdir.mkdir()
    write(confdir / 'main.cf', 'a = 1\n')
    before = snapshot(env / 'live')
    spec = make_spec(env, copy=[str(confdir)],
                     edits=[dict(name='postconf', commands=[['postconf', '-c', '{root}' + str(confdir), '-e', 'a=2']],
                                 files=[str(confdir / 'main.cf')])])
    runner = Runner(postconf=lambda argv: (1, '', 'postconf: fatal: nope\n'))
    with pytest.raises(EngineError) as e:
        engine(spec, runner).execute()
    assert (e.value.step, e.value.msg) == ('stage', 'postconf: postconf: fatal: nope')
    assert_untouched(env, before)


def test_stage_validator_failing_changes_nothing(env):
    spec = full_spec(env)
    before = snapshot(env / 'live')
    runner = Runner(index=build_index, check=lambda argv: (1, '', 'fatal: bad parameter\n'))
    with pytest.raises(EngineError) as e:
        engine(spec, runner).execute()
    assert e.value.step == 'validate'
    assert e.value.msg == 'check rejected the candidate configuration: exit status 1: fatal: bad parameter'
    assert runner.commands() == ['index', 'check']
    assert_untouched(env, before, runner)
    assert not (env / 'backup').exists()


@pytest.mark.parametrize('validator,out,err,problem', [
    (dict(fail_regex='Error in config'), 'Error in config line 3', '', 'Error in config line 3'),
    (dict(fail_stderr=True), '', 'warning: something\n', 'warning: something'),
    (dict(fail_stderr=True, allow_regex='snakeoil'), '', 'warning: snakeoil\nwarning: real\n', 'warning: real'),
])
def test_validator_output_rules(env, validator, out, err, problem):
    main = env / 'live' / 'main.cf'
    write(main, 'a = 1\n')
    v = dict(name='check', argv=['check'])
    v.update(validator)
    spec = make_spec(env, files=[fspec(main, 'a = 2\n')], validators=[v])
    with pytest.raises(EngineError) as e:
        engine(spec, Runner(check=lambda argv: (0, out, err))).execute()
    assert e.value.msg == 'check rejected the candidate configuration: ' + problem
    assert open(str(main)).read() == 'a = 1\n'


def test_allowed_stderr_passes(env):
    main = env / 'live' / 'main.cf'
    write(main, 'a = 1\n')
    spec = make_spec(env, files=[fspec(main, 'a = 2\n')],
                     validators=[dict(name='check', argv=['check'], fail_stderr=True, allow_regex='snakeoil')])
    result = engine(spec, Runner(check=lambda argv: (0, '', 'warning: snakeoil\n'))).execute()
    assert result['changed'] is True and open(str(main)).read() == 'a = 2\n'


def test_backup_failing_changes_nothing(env):
    spec = full_spec(env)
    write(env / 'backup', 'not a directory\n')
    before = snapshot(env / 'live')
    runner = Runner(index=build_index)
    with pytest.raises(OSError):
        engine(spec, runner).execute()
    assert_untouched(env, before, runner)
    assert runner.commands() == ['index', 'check']
    assert open(str(env / 'backup')).read() == 'not a directory\n'


def test_backup_copy_failing_changes_nothing(env, monkeypatch):
    spec = full_spec(env)
    before = snapshot(env / 'live')

    def copy2(*args, **kwargs):
        raise OSError(28, 'No space left on device')

    monkeypatch.setattr(staged.shutil, 'copy2', copy2)
    runner = Runner(index=build_index)
    with pytest.raises(OSError):
        engine(spec, runner).execute()
    assert_untouched(env, before, runner)


def test_swap_failing_midway_restores_the_backup(env, monkeypatch):
    spec = full_spec(env)
    before = snapshot(env / 'live')
    real_replace = Engine.replace
    failed = []

    def replace(source, dest, *args):
        # transport sorts after main.cf and added.cf: those two are swapped when it fails.
        if dest.endswith('/transport') and not failed:
            failed.append(dest)
            raise OSError(28, 'No space left on device')
        return real_replace(source, dest, *args)

    monkeypatch.setattr(Engine, 'replace', staticmethod(replace))
    runner = Runner(index=build_index)
    with pytest.raises(EngineError) as e:
        engine(spec, runner).execute()
    assert failed == [str(env / 'live' / 'transport')]
    assert e.value.step == 'swap'
    assert 'No space left on device' in e.value.msg and 'restored the backup' in e.value.msg
    assert_untouched(env, before, runner)
    assert runner.commands() == ['index', 'check']


def test_live_check_failing_restores_the_backup(env):
    main = env / 'live' / 'main.cf'
    write(main, 'a = 1\n', mode=0o600, uid=NOBODY, gid=NOGROUP)
    before = snapshot(env / 'live')
    runner = Runner(live=lambda argv: (1, 'main.cf: error on line 1', ''))
    spec = make_spec(env, files=[fspec(main, 'a = 2\n'), fspec(env / 'live' / 'new.cf', 'n\n')],
                     links=[dict(path=str(env / 'live' / 'ln'), target='main.cf', state='present')],
                     validators=[dict(name='stage-check', argv=['stage'], phase='stage'),
                                 dict(name='live-check', argv=['live'], phase='live')],
                     apply=dict(status=None, reload=['reload'], restart=['restart']))
    with pytest.raises(EngineError) as e:
        engine(spec, runner).execute()
    assert e.value.step == 'live_check'
    assert e.value.msg.startswith('live-check rejected the live configuration: exit status 1: main.cf: error on line 1; '
                                  'restored the backup %s/' % (env / 'backup'))
    assert 'restore errors' not in e.value.msg
    # Content, mode and owner back; the new file and link gone; nothing owed.
    assert snapshot(env / 'live') == before
    assert not os.path.exists(str(env / 'backup' / 'pending'))
    assert runner.commands() == ['stage', 'live']


def test_live_check_failing_keeps_what_an_earlier_run_owed(env):
    main = env / 'live' / 'main.cf'
    write(main, 'a = 1\n')
    os.makedirs(str(env / 'backup'), 0o700)
    write(env / 'backup' / 'pending', 'restart\n')
    spec = make_spec(env, files=[fspec(main, 'a = 2\n')],
                     validators=[dict(name='live-check', argv=['live'], phase='live')],
                     apply=dict(status=None, reload=['reload'], restart=['restart']))
    with pytest.raises(EngineError):
        engine(spec, Runner(live=lambda argv: (1, '', 'bad'))).execute()
    assert open(str(main)).read() == 'a = 1\n'
    assert open(str(env / 'backup' / 'pending')).read() == 'restart\n'


def test_apply_failing_keeps_the_marker_and_the_next_run_applies(env):
    main = env / 'live' / 'main.cf'
    write(main, 'a = 1\n')
    apply = dict(status=['status'], reload=['reload'], restart=['restart'])
    spec = make_spec(env, files=[fspec(main, 'a = 2\n')], apply=apply)
    with pytest.raises(EngineError) as e:
        engine(spec, Runner(reload=lambda argv: (1, '', 'reload refused'))).execute()
    assert e.value.step == 'apply'
    assert e.value.msg == ('reload failed (exit status 1): reload refused; the change is live on disk and the reload '
                           'is still owed (%s)' % (env / 'backup' / 'pending'))
    assert open(str(main)).read() == 'a = 2\n'
    assert open(str(env / 'backup' / 'pending')).read() == 'reload\n'

    runner = Runner()
    spec = make_spec(env, files=[fspec(main, 'a = 2\n')], apply=apply,
                     validators=[dict(name='check', argv=['check'])])
    result = engine(spec, runner).execute()
    assert result['changed'] is True and result['changed_paths'] == []
    assert (result['resumed'], result['owed'], result['applied']) == ('reload', 'reload', 'reload')
    # Nothing differs: no stage validation, but the live tree is checked before the daemon uses it.
    assert runner.commands() == ['check', 'status', 'reload']
    assert result['validated'] == ['check (live)'] and result['backup_path'] is None
    assert not os.path.exists(str(env / 'backup' / 'pending'))
    assert engine(spec, Runner()).execute()['changed'] is False


# ------------------------------------------------------------------ marker, apply, restart_on


def test_marker_is_written_before_the_swap_and_dropped_after_apply(env, monkeypatch):
    main = env / 'live' / 'main.cf'
    write(main, 'a = 1\n')
    marker = str(env / 'backup' / 'pending')
    events = []
    real_swap = Engine.swap

    def swap(self, changes):
        events.append(('swap', open(marker).read() if os.path.exists(marker) else None, open(str(main)).read(),
                       mode_of(marker) if os.path.exists(marker) else None))
        return real_swap(self, changes)

    def reload(argv):
        events.append(('reload', open(marker).read() if os.path.exists(marker) else None, open(str(main)).read(),
                       None))
        return 0, '', ''

    monkeypatch.setattr(Engine, 'swap', swap)
    spec = make_spec(env, files=[fspec(main, 'a = 2\n')], apply=dict(status=None, reload=['reload'], restart=['restart']))
    result = engine(spec, Runner(reload=reload)).execute()
    assert events == [('swap', 'reload\n', 'a = 1\n', 0o600), ('reload', 'reload\n', 'a = 2\n', None)]
    assert not os.path.exists(marker) and result['applied'] == 'reload'


def test_daemon_not_running_owes_nothing(env):
    main = env / 'live' / 'main.cf'
    write(main, 'a = 1\n')
    runner = Runner(status=lambda argv: (3, '', ''))
    apply = dict(status=['status'], reload=['reload'], restart=['restart'])
    spec = make_spec(env, files=[fspec(main, 'a = 2\n')], apply=apply)
    result = engine(spec, runner).execute()
    assert result['applied'] == 'none (not running)' and runner.commands() == ['status']
    assert not os.path.exists(str(env / 'backup' / 'pending'))


def test_reload_falls_back_to_restart(env):
    main = env / 'live' / 'main.cf'
    write(main, 'a = 1\n')
    runner = Runner()
    spec = make_spec(env, files=[fspec(main, 'a = 2\n')], apply=dict(status=None, reload=None, restart=['restart']))
    result = engine(spec, runner).execute()
    assert result['owed'] == 'reload' and result['applied'] == 'reload' and runner.commands() == ['restart']


@pytest.mark.parametrize('new,prefix,owed', [
    ('inet_interfaces = loopback-only\nx = 1\n', '/live/', 'restart'),
    ('inet_interfaces = all\nx = 2\n', '/live/', 'reload'),
    ('inet_interfaces = loopback-only\nx = 1\n', '/elsewhere/', 'reload'),
])
def test_restart_on(env, new, prefix, owed):
    main = env / 'live' / 'main.cf'
    write(main, 'inet_interfaces = all\nx = 1\n')
    runner = Runner()
    spec = make_spec(env, files=[fspec(main, new)], restart_on={str(env) + prefix: ['^inet_interfaces']},
                     apply=dict(status=None, reload=['reload'], restart=['restart']))
    result = engine(spec, runner).execute()
    assert result['owed'] == owed and runner.commands() == [owed]


@pytest.mark.parametrize('leftover,this_run,owed', [
    ('restart\n', 'x = 2\n', 'restart'),
    ('reload\n', 'inet_interfaces = lo\n', 'restart'),
    ('reload\n', 'x = 2\n', 'reload'),
])
def test_owed_is_the_worse_of_marker_and_change(env, leftover, this_run, owed):
    main = env / 'live' / 'main.cf'
    write(main, 'x = 1\n')
    os.makedirs(str(env / 'backup'), 0o700)
    write(env / 'backup' / 'pending', leftover)
    runner = Runner()
    spec = make_spec(env, files=[fspec(main, this_run)], restart_on={str(env): ['^inet_interfaces']},
                     apply=dict(status=None, reload=['reload'], restart=['restart']))
    result = engine(spec, runner).execute()
    assert result['owed'] == owed and runner.commands() == [owed]


def test_leftover_marker_makes_a_no_change_run_apply(env):
    main = env / 'live' / 'main.cf'
    write(main, 'a = 1\n')
    os.makedirs(str(env / 'backup'), 0o700)
    write(env / 'backup' / 'pending', 'restart\n')
    spec = make_spec(env, files=[fspec(main, 'a = 1\n')], validators=[dict(name='check', argv=['check'])],
                     apply=dict(status=None, reload=['reload'], restart=['restart']))
    predicted = engine(spec, Runner(), check_mode=True).execute()
    assert predicted['changed'] is True and predicted['owed'] == 'restart' and predicted['changed_paths'] == []
    assert os.path.exists(str(env / 'backup' / 'pending'))
    runner = Runner()
    result = engine(spec, runner).execute()
    assert result['changed'] is True and result['resumed'] == 'restart' and result['applied'] == 'restart'
    assert runner.commands() == ['check', 'restart']  # the live check, then what was owed
    assert result['backup_path'] is None
    assert not os.path.exists(str(env / 'backup' / 'pending'))


def test_leftover_marker_is_not_applied_when_the_live_tree_fails_its_check(env):
    main = env / 'live' / 'main.cf'
    write(main, 'a = 1\n')
    os.makedirs(str(env / 'backup'), 0o700)
    write(env / 'backup' / 'pending', 'reload\n')
    spec = make_spec(env, files=[fspec(main, 'a = 1\n')],
                     validators=[dict(name='check', argv=['check', '{root}/x'], phase='live')],
                     apply=dict(status=None, reload=['reload'], restart=['restart']))
    runner = Runner(check=lambda argv: (1, '', 'broken live file'))
    with pytest.raises(EngineError) as e:
        engine(spec, runner).execute()
    assert e.value.step == 'live_check'
    assert e.value.msg == 'check rejected the live configuration: exit status 1: broken live file'
    assert runner.calls == [['check', '/x']]  # {root} is empty for the live tree; no reload
    assert open(str(env / 'backup' / 'pending')).read() == 'reload\n'
    assert open(str(main)).read() == 'a = 1\n'


def test_leftover_scratch_dirs_of_the_same_name_are_removed(env):
    scratch = env / 'scratch'
    old = scratch / 'securemail-t.abc123'
    (old / 'root' / 'etc').mkdir(parents=True)
    write(old / 'root' / 'etc' / 'main.cf', 'secret\n')
    write(scratch / 'securemail-t.notadir', 'x')
    (scratch / 'securemail-other.abc123').mkdir()
    (scratch / 'securemail-tt.abc123').mkdir()
    result = engine(make_spec(env), Runner()).execute()
    assert result['removed_leftovers'] == [str(old)]
    assert sorted(os.listdir(str(scratch))) == ['securemail-other.abc123', 'securemail-t.notadir',
                                                'securemail-tt.abc123']


def test_scratch_tree_is_private_and_removed_after_a_failure(env):
    main = env / 'live' / 'main.cf'
    seen = []

    def check(argv):
        seen.append((mode_of(argv[1]), os.listdir(str(env / 'scratch'))))
        return 1, '', 'no'

    spec = make_spec(env, files=[fspec(main, 'a\n')], validators=[dict(name='check', argv=['check', '{scratch}'])])
    with pytest.raises(EngineError):
        engine(spec, Runner(check=check)).execute()
    assert seen[0][0] == 0o700 and len(seen[0][1]) == 1 and seen[0][1][0].startswith('securemail-t.')
    assert os.listdir(str(env / 'scratch')) == []
    assert not main.exists()


# ------------------------------------------------------------------ lock


def test_lock_refuses_a_second_run(env):
    main = env / 'live' / 'main.cf'
    write(main, 'a = 1\n')
    before = snapshot(env / 'live')
    os.makedirs(str(env / 'lock'))
    runner = Runner()
    spec = make_spec(env, files=[fspec(main, 'a = 2\n')], validators=[dict(name='check', argv=['check'])])
    with open(str(env / 'lock' / 'securemail-t.lock'), 'a') as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(EngineError) as e:
            engine(spec, runner).execute()
        assert e.value.step == 'lock'
        assert 'another securemail.gateway run is changing t' in e.value.msg
        assert str(env / 'lock' / 'securemail-t.lock') in e.value.msg
        assert runner.calls == [] and snapshot(env / 'live') == before
        assert os.listdir(str(env / 'scratch')) == []
        # Another file set is not blocked.
        other = dict(spec, name='other', files=[fspec(env / 'live' / 'other.cf', 'o\n')], validators=[])
        assert engine(other, Runner()).execute()['changed'] is True
    result = engine(spec, runner).execute()
    assert result['changed'] is True and open(str(main)).read() == 'a = 2\n'


# ------------------------------------------------------------------ backups


def test_backups_are_pruned_to_the_retention(env):
    main = env / 'live' / 'main.cf'
    clock = Clock()
    paths = []
    (env / 'backup').mkdir(mode=0o700)
    write(env / 'backup' / 'notes.txt', 'keep me\n')
    for i in range(5):
        spec = make_spec(env, files=[fspec(main, 'a = %d\n' % i)], retention=3)
        paths.append(engine(spec, Runner(), now=clock).execute()['backup_path'])
    assert len(set(paths)) == 5
    assert backups(env) == sorted(os.path.basename(p) for p in paths[2:])
    assert os.path.basename(paths[0]).startswith('20240501T120001123456Z-')
    assert open(str(env / 'backup' / 'notes.txt')).read() == 'keep me\n'
    # The newest backup holds the version before the last change.
    saved = os.path.join(paths[-1], 'root', str(main).lstrip('/'))
    assert open(saved).read() == 'a = 3\n'


def test_two_backups_in_the_same_microsecond_get_their_own_names(env):
    main = env / 'live' / 'main.cf'
    fixed = datetime.datetime(2024, 5, 1, 12, 0, 0, 1)
    first = engine(make_spec(env, files=[fspec(main, '1\n')]), Runner(), now=lambda: fixed).execute()
    second = engine(make_spec(env, files=[fspec(main, '2\n')]), Runner(), now=lambda: fixed).execute()
    assert first['backup_path'] != second['backup_path']
    for p in (first['backup_path'], second['backup_path']):
        name = os.path.basename(p)
        assert name.startswith('20240501T120000000001Z-%d-' % os.getpid()) and BACKUP_RE.match(name)
    assert len(backups(env)) == 2


# ------------------------------------------------------------------ links, edits, indexes


def test_links_present_and_absent(env):
    live = env / 'live'
    write(live / 'site.conf', 'x\n')
    os.symlink('stale.conf', str(live / 'stale'))
    spec = make_spec(env, links=[dict(path=str(live / 'enabled'), target='site.conf', state='present'),
                                 dict(path=str(live / 'stale'), target=None, state='absent'),
                                 dict(path=str(live / 'never'), target=None, state='absent')])
    result = engine(spec, Runner(), want_diff=True).execute()
    assert result['changed_paths'] == [str(live / 'enabled'), str(live / 'stale')]
    assert os.readlink(str(live / 'enabled')) == 'site.conf'
    assert not os.path.lexists(str(live / 'stale')) and not os.path.lexists(str(live / 'never'))
    manifest = json.load(open(os.path.join(result['backup_path'], 'manifest.json')))
    assert manifest == {str(live / 'enabled'): 'absent', str(live / 'stale'): 'saved'}
    diff = dict((d['before_header'], d) for d in result['diff'])
    assert diff[str(live / 'enabled')]['after'] == '%s -> site.conf\n' % (live / 'enabled')
    assert diff[str(live / 'stale')]['before'] == '%s -> stale.conf\n' % (live / 'stale')
    assert engine(spec, Runner()).execute()['changed'] is False
    # A link pointing elsewhere is repointed.
    spec['links'][0]['target'] = 'other.conf'
    assert engine(spec, Runner()).execute()['changed_paths'] == [str(live / 'enabled')]
    assert os.readlink(str(live / 'enabled')) == 'other.conf'


def test_edits_merge_into_a_copy_of_the_live_file(env):
    confdir = env / 'live' / 'postfix'
    confdir.mkdir()
    write(confdir / 'main.cf', 'a = 1\n', mode=0o640, uid=NOBODY, gid=NOGROUP)
    write(confdir / 'master.cf', 'm\n')

    def edit(argv):
        path = os.path.join(argv[1], 'main.cf')
        name, value = argv[2].split('=')
        text = open(path).read()
        # Like postconf -e: a new file (0644, owned by the editor) renamed over the old one.
        with open(path + '.tmp', 'w') as f:
            f.write(text if ('%s = %s\n' % (name, value)) in text else text + '%s = %s\n' % (name, value))
        os.chmod(path + '.tmp', 0o644)
        os.rename(path + '.tmp', path)
        return 0, '', ''

    def spec(value):
        return make_spec(env, copy=[str(confdir)], edits=[dict(
            name='postconf', commands=[['edit', '{root}' + str(confdir), 'b=%s' % value]],
            files=[str(confdir / 'main.cf')])])

    result = engine(spec('2'), Runner(edit=edit)).execute()
    assert result['changed_paths'] == [str(confdir / 'main.cf')]
    assert open(str(confdir / 'main.cf')).read() == 'a = 1\nb = 2\n'
    st = os.stat(str(confdir / 'main.cf'))
    assert (st.st_mode & 0o7777, st.st_uid, st.st_gid) == (0o640, NOBODY, NOGROUP)
    assert engine(spec('2'), Runner(edit=edit)).execute()['changed'] is False


def test_index_only_when_its_source_changes_or_its_output_is_missing(env):
    table = env / 'live' / 'transport'
    spec = make_spec(env, files=[fspec(table, 'a b\n', mode='0640', owner='root', group='nogroup')],
                     indexes=[dict(source=str(table), argv=['index', '{root}' + str(table)],
                                   outputs=[str(table) + '.db'], label='transport')])
    runner = Runner(index=build_index)
    result = engine(spec, runner).execute()
    assert result['changed_paths'] == [str(table), str(table) + '.db'] and runner.commands() == ['index']
    st = os.stat(str(table) + '.db')
    assert (st.st_mode & 0o7777, st.st_uid, st.st_gid) == (0o640, 0, NOGROUP)
    runner = Runner(index=build_index)
    assert engine(spec, runner).execute()['changed'] is False and runner.calls == []
    os.unlink(str(table) + '.db')
    runner = Runner(index=build_index)
    assert engine(spec, runner).execute()['changed_paths'] == [str(table) + '.db']
    assert open(str(table) + '.db').read() == 'DB:a b\n'


def test_scratch_owner_reads_the_stage_but_does_not_own_the_live_files(env):
    main = env / 'live' / 'main.cf'
    write(main, 'a = 1\n')
    seen = []

    def check(argv):
        st = os.stat(argv[1])
        seen.append((st.st_uid, st.st_gid))
        return 0, '', ''

    spec = make_spec(env, scratch_owner='nobody', files=[fspec(main, 'a = 2\n', mode='0600')],
                     validators=[dict(name='check', argv=['check', '{root}' + str(main)], phase='stage')])
    engine(spec, Runner(check=check)).execute()
    # The user's primary group (Debian has no group named nobody).
    assert seen == [(NOBODY, pwd.getpwnam('nobody').pw_gid)]
    st = os.stat(str(main))
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (0, 0, 0o600)
    assert engine(spec, Runner(check=check)).execute()['changed'] is False


# ------------------------------------------------------------------ validators: always, needs


def test_always_validators_run_without_a_change(env):
    main = env / 'live' / 'main.cf'
    write(main, 'a = 1\n')
    runner = Runner()
    spec = make_spec(env, files=[fspec(main, 'a = 1\n')],
                     validators=[dict(name='key-matches-cert', argv=['keycheck', '{root}/x'], always=True),
                                 dict(name='check', argv=['check'])])
    result = engine(spec, runner).execute()
    assert result['changed'] is False and result['validated'] == ['key-matches-cert (stage)']
    assert len(runner.calls) == 1 and runner.calls[0][0] == 'keycheck'
    assert runner.calls[0][1].startswith(str(env / 'scratch' / 'securemail-t.')) and runner.calls[0][1].endswith('/root/x')
    with pytest.raises(EngineError) as e:
        engine(spec, Runner(keycheck=lambda argv: (1, '', 'key does not match'))).execute()
    assert e.value.step == 'validate' and 'key-matches-cert rejected the candidate' in e.value.msg


def test_needs_missing_skips_in_check_mode_and_fails_a_real_run(env):
    main = env / 'live' / 'main.cf'
    write(main, 'a = 1\n')
    gone = str(env / 'not-installed')
    spec = make_spec(env, files=[fspec(main, 'a = 2\n')],
                     validators=[dict(name='amavisd', argv=['amavisd'], needs=[gone]),
                                 dict(name='as-user', argv=['whoami'], user='nosuchuser-securemail'),
                                 dict(name='check', argv=['check'])])
    runner = Runner()
    predicted = engine(spec, runner, check_mode=True).execute()
    assert predicted['skipped_validators'] == ['amavisd (needs %s)' % gone,
                                               'as-user (needs user nosuchuser-securemail)']
    assert predicted['validated'] == ['check (stage)'] and runner.commands() == ['check']
    assert predicted['changed'] is True and open(str(main)).read() == 'a = 1\n'
    runner = Runner()
    with pytest.raises(EngineError) as e:
        engine(spec, runner).execute()
    assert (e.value.step, e.value.msg) == ('validate', 'amavisd cannot run: %s missing' % gone)
    assert runner.calls == [] and open(str(main)).read() == 'a = 1\n'


def test_validator_user_and_env_are_passed(env):
    main = env / 'live' / 'main.cf'
    calls = []

    def run(argv, user=None, env=None):
        calls.append((argv, user, env))
        return 0, '', ''

    spec = make_spec(env, files=[fspec(main, 'a\n')],
                     validators=[dict(name='pg', argv=['check'], user='nobody', env={'PGDATA': '/x'}, phase='stage')])
    Engine(spec, run, now=Clock()).execute()
    assert calls == [(['check'], 'nobody', {'PGDATA': '/x'})]


# ------------------------------------------------------------------ pause hook


@pytest.mark.parametrize('step,live_text,has_backup,has_marker', [
    ('staged', 'a = 1\n', False, False),
    ('backed_up', 'a = 1\n', True, False),
    ('swapped', 'a = 2\n', True, True),
    ('checked', 'a = 2\n', True, True),
])
def test_pause_at_sleeps_at_the_named_step(env, step, live_text, has_backup, has_marker):
    main = env / 'live' / 'main.cf'
    write(main, 'a = 1\n')
    state = []

    def sleep(seconds):
        # The flag the reliability tests wait for is in the scratch tree.
        flags = glob.glob(str(env / 'scratch' / 'securemail-t.*' / 'paused'))
        state.append((seconds, open(str(main)).read(), len(backups(env)) == 1,
                      os.path.exists(str(env / 'backup' / 'pending')), [open(f).read() for f in flags]))

    spec = make_spec(env, files=[fspec(main, 'a = 2\n')], pause_at=dict(step=step, seconds=7),
                     apply=dict(status=None, reload=['reload'], restart=['restart']))
    result = Engine(spec, Runner(), now=Clock(), sleep=sleep).execute()
    assert state == [(7.0, live_text, has_backup, has_marker, ['t %s %d\n' % (step, os.getpid())])]
    assert result['applied'] == 'reload'
    assert os.listdir(str(env / 'scratch')) == []


def test_pause_at_another_step_does_not_sleep(env):
    main = env / 'live' / 'main.cf'
    spec = make_spec(env, files=[fspec(main, 'a\n')], pause_at=dict(step='backed_up', seconds=7))
    slept = []
    Engine(spec, Runner(), now=Clock(), sleep=slept.append, check_mode=True).execute()
    assert slept == [] and not main.exists()


def test_check_mode_on_a_fresh_host_predicts_indexes_without_the_tool(env):
    """Check mode before the install: the index tool is missing, the outputs are predicted to change."""
    spec = full_spec(env)
    before = snapshot(env / 'live')
    runner = Runner(index=build_index)
    predicted = engine(spec, runner, check_mode=True, which=lambda tool: None).execute()
    assert snapshot(env / 'live') == before
    assert 'index' not in runner.commands()
    assert str(env / 'live' / 'transport.db') in predicted['changed_paths']
    assert predicted['skipped_validators'] == ['transport index (needs index)']
    real = engine(spec, Runner(index=build_index)).execute()
    assert sorted(real['changed_paths']) == sorted(predicted['changed_paths'])


# ------------------------------------------------------------------ 13: keep it running


KEEP = dict(status=['status'], reload=['reload'], restart=['restart'], start=['start'], enable='daemon')


def keep_engine(env, spec, runner, systemd=False, links=(), **kw):
    """An engine whose init system lives under env: a systemd marker dir, or sysv-rc links."""
    rc_root = env / 'rc'
    for runlevel in '2345':
        (rc_root / ('rc%s.d' % runlevel)).mkdir(parents=True, exist_ok=True)
    for link in links:
        os.symlink('../init.d/daemon', str(rc_root / link))
    systemd_dir = env / 'systemd'
    if systemd:
        systemd_dir.mkdir(exist_ok=True)
    return engine(spec, runner, systemd_dir=str(systemd_dir), rc_dirs=str(rc_root / 'rc[2345].d'), **kw)


def test_no_change_on_an_enabled_running_daemon_asks_status_only(env):
    main = env / 'live' / 'main.cf'
    write(main, 'a = 1\n')
    runner = Runner()
    spec = make_spec(env, files=[fspec(main, 'a = 1\n')], apply=KEEP)
    result = keep_engine(env, spec, runner, links=['rc2.d/S01daemon']).execute()
    assert result['changed'] is False and result['service'] == [] and runner.commands() == ['status']


@pytest.mark.parametrize('check_mode', [False, True])
def test_a_stopped_daemon_is_started_after_the_swap_and_check_mode_predicts_it(env, check_mode):
    main = env / 'live' / 'main.cf'
    write(main, 'a = 1\n')
    seen = []

    def start(argv):
        seen.append(open(str(main)).read())
        return 0, '', ''
    runner = Runner(status=lambda argv: (3, '', ''), start=start)
    spec = make_spec(env, files=[fspec(main, 'a = 2\n')], apply=KEEP)
    result = keep_engine(env, spec, runner, links=['rc3.d/S02daemon'], check_mode=check_mode).execute()
    assert result['changed'] is True and result['service'] == ['started']
    if check_mode:
        # Only the status is asked: nothing is started, nothing written.
        assert runner.commands() == ['status'] and open(str(main)).read() == 'a = 1\n'
    else:
        # One status (apply's answer is reused), then the start reads the new file.
        assert runner.commands() == ['status', 'start'] and seen == ['a = 2\n']
        assert result['applied'] == 'none (not running)'


def test_no_change_run_starts_a_stopped_daemon(env):
    main = env / 'live' / 'main.cf'
    write(main, 'a = 1\n')
    runner = Runner(status=lambda argv: (3, '', ''))
    spec = make_spec(env, files=[fspec(main, 'a = 1\n')], apply=KEEP)
    result = keep_engine(env, spec, runner, links=['rc2.d/S01daemon']).execute()
    assert result['changed'] is True and result['service'] == ['started'] and result['changed_paths'] == []
    assert runner.commands() == ['status', 'start']


def test_a_reload_answers_the_status_question(env):
    main = env / 'live' / 'main.cf'
    write(main, 'a = 1\n')
    runner = Runner()
    spec = make_spec(env, files=[fspec(main, 'a = 2\n')], apply=KEEP)
    keep_engine(env, spec, runner, links=['rc2.d/S01daemon']).execute()
    assert runner.commands() == ['status', 'reload']


def test_a_failing_start_names_the_step_and_the_command(env):
    main = env / 'live' / 'main.cf'
    write(main, 'a = 1\n')
    runner = Runner(status=lambda argv: (3, '', ''), start=lambda argv: (1, '', 'port in use\n'))
    spec = make_spec(env, files=[fspec(main, 'a = 1\n')], apply=KEEP)
    with pytest.raises(EngineError) as e:
        keep_engine(env, spec, runner, links=['rc2.d/S01daemon']).execute()
    assert e.value.step == 'start' and 'start failed (exit status 1): port in use' in e.value.msg


@pytest.mark.parametrize('links,enabled', [((), False), (('rc2.d/K01daemon',), False), (('rc2.d/S01daemon',), True),
                                           (('rc5.d/S03daemon',), True), (('rc2.d/S01daemon-other',), False)])
def test_sysv_enable_follows_the_start_links(env, links, enabled):
    runner = Runner()
    spec = make_spec(env, apply=KEEP)
    result = keep_engine(env, spec, runner, links=links).execute()
    if enabled:
        assert result['service'] == [] and runner.commands() == ['status']
    else:
        assert result['service'] == ['enabled'] and result['changed'] is True
        assert runner.calls == [['update-rc.d', 'daemon', 'defaults'], ['update-rc.d', 'daemon', 'enable'],
                                ['status']]


@pytest.mark.parametrize('is_enabled_rc,calls', [(0, [['systemctl', 'is-enabled', '--quiet', 'daemon']]),
                                                 (1, [['systemctl', 'is-enabled', '--quiet', 'daemon'],
                                                      ['systemctl', 'enable', 'daemon']])])
def test_systemd_enable_asks_systemctl(env, is_enabled_rc, calls):
    runner = Runner(systemctl=lambda argv: (is_enabled_rc if argv[1] == 'is-enabled' else 0, '', ''))
    spec = make_spec(env, apply=dict(KEEP, start=None))
    result = keep_engine(env, spec, runner, systemd=True, links=['rc2.d/S01daemon']).execute()
    assert runner.calls == calls and result['changed'] is (is_enabled_rc != 0)


def test_check_mode_predicts_enable_without_acting(env):
    runner = Runner()
    spec = make_spec(env, apply=KEEP)
    result = keep_engine(env, spec, runner, check_mode=True).execute()
    assert result['service'] == ['enabled'] and runner.commands() == ['status']


def test_failing_enable_names_the_step(env):
    runner = Runner(**{'update-rc.d': lambda argv: (1, '', 'no such script\n')})
    spec = make_spec(env, apply=KEEP)
    with pytest.raises(EngineError) as e:
        keep_engine(env, spec, runner).execute()
    assert e.value.step == 'enable' and 'no such script' in e.value.msg


def test_ready_waits_for_the_port(env):
    import socket
    server = socket.socket()
    server.bind(('127.0.0.1', 0))
    server.listen(1)
    try:
        port = server.getsockname()[1]
        ready = dict(host='127.0.0.1', port=port, timeout=5)
        spec = make_spec(env, apply=dict(KEEP, start=None, enable=None, ready=ready))
        assert engine(spec, Runner()).execute()['changed'] is False
    finally:
        server.close()


def test_ready_waits_for_a_unix_socket(env, tmp_path):
    import socket
    path = str(tmp_path / 'daemon.ctl')
    ready = dict(path=path, timeout=2)
    spec = make_spec(env, apply=dict(KEEP, start=None, enable=None, ready=ready))
    ticks = iter(range(100))
    with pytest.raises(EngineError) as e:
        engine(spec, Runner(), monotonic=lambda: next(ticks), sleep=lambda s: None).execute()
    assert e.value.step == 'ready' and 'nothing answers on %s after 2 s' % path in e.value.msg
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)
    try:
        assert engine(spec, Runner()).execute()['changed'] is False
    finally:
        server.close()


def test_ready_fails_when_nothing_answers_and_check_mode_does_not_wait(env):
    import socket
    probe = socket.socket()
    probe.bind(('127.0.0.1', 0))
    port = probe.getsockname()[1]
    probe.close()       # a port nobody listens on
    ticks = iter(range(100))
    sleeps = []
    ready = dict(host='127.0.0.1', port=port, timeout=3)
    spec = make_spec(env, apply=dict(KEEP, start=None, enable=None, ready=ready))
    with pytest.raises(EngineError) as e:
        engine(spec, Runner(), monotonic=lambda: next(ticks), sleep=sleeps.append).execute()
    assert e.value.step == 'ready' and 'port %d after 3 s' % port in e.value.msg and sleeps == [0.5] * 2
    assert engine(spec, Runner(), check_mode=True, sleep=sleeps.append).execute()['changed'] is False


def test_check_mode_on_a_fresh_host_predicts_the_start_of_a_daemon_not_installed_yet(env):
    # The module's runner answers 127 for a program that is not installed.
    runner = Runner(postfix=lambda argv: (127, '', 'postfix: command not found'))
    spec = make_spec(env, apply=dict(KEEP, status=['postfix', 'status']))
    result = keep_engine(env, spec, runner, check_mode=True).execute()
    assert result['service'] == ['enabled', 'started'] and runner.commands() == ['postfix']


def test_service_fills_in_the_commands_the_caller_left_out():
    assert staged.service_apply({'service': 'cron', 'status': None, 'reload': None, 'restart': None, 'start': None,
                                 'enable': None, 'ready': None}) == {
        'service': 'cron', 'status': ['service', 'cron', 'status'], 'reload': ['service', 'cron', 'reload'],
        'restart': ['service', 'cron', 'restart'], 'start': ['service', 'cron', 'start'], 'enable': 'cron',
        'ready': None}


def test_service_keeps_the_callers_commands_and_an_empty_list_means_none():
    filled = staged.service_apply({'service': 'amavis', 'status': None, 'reload': [], 'restart': ['sh', '-c', 'x'],
                                   'start': None, 'enable': None, 'ready': {'port': 10024}})
    assert filled['reload'] is None and filled['restart'] == ['sh', '-c', 'x']
    assert filled['status'] == ['service', 'amavis', 'status'] and filled['ready'] == {'port': 10024}


def test_without_service_apply_is_left_as_given():
    apply = {'service': None, 'restart': ['postfix', 'reload'], 'reload': None}
    assert staged.service_apply(apply) is apply and staged.service_apply(None) is None
