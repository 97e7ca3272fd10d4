# -*- coding: utf-8 -*-
# Copyright: securemail.gateway contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The safe-change engine: one implementation of "stage, validate, swap".

Every role hands its whole file set to one call of the staged_config module,
which runs :class:`Engine`. The order of the steps is the contract:

1. take the per-host lock of this file set (a second run is refused);
2. remove scratch directories an interrupted run left behind;
3. stage: a private scratch tree that mirrors the live paths, holding the
   base trees the validators need, the rendered files, links, postconf edits
   and the indexes of changed tables;
4. compare with the live files; when nothing differs and nothing is owed,
   stop here (no validator runs, nothing is written);
5. validate the candidate with the role's own validators;
6. (check mode stops here, having predicted the change exactly);
7. back up the live versions of the paths that change (timestamped, 0700);
8. write the pending marker: what the daemon still owes (reload/restart);
9. swap each path in atomically (rename on its own filesystem); a swap that
   fails half way restores the backup (step ``swap``);
10. check the live tree; on failure restore the backup and fail with the
    validator's own message;
11. prune backups to the retention;
12. apply: reload or restart the daemon when it runs, then drop the marker;
13. keep it running, on every run and in check mode too (predicted there):
    enable it at boot, start it when it is not running (its first start
    reads the new files), wait until its port answers.

Nothing here knows about Postfix, PostgreSQL or Apache: roles describe
validators and apply commands as data. The runner (how commands execute) and
the clock are injected so the ordering rules are unit-tested with fakes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import binascii
import glob
import datetime
import errno
import fcntl
import grp
import json
import os
import pwd
import re
import shutil
import socket
import tempfile
import time

OWED_ORDER = ('none', 'reload', 'restart')
MARKER = 'pending'
MANIFEST = 'manifest.json'
BACKUP_RE = re.compile(r'^\d{8}T\d{6,12}Z(-\d+-[a-f0-9]{6})?$')
# Steps at which a fault-injection pause may be requested (reliability tests).
PAUSE_STEPS = ('staged', 'backed_up', 'swapped', 'checked')


class EngineError(Exception):
    """A refused or failed change; ``step`` names where it stopped."""

    def __init__(self, step, msg, **details):
        super(EngineError, self).__init__(msg)
        self.step = step
        self.msg = msg
        self.details = details


def worse(a, b):
    """The larger of two owed actions (none < reload < restart)."""
    return a if OWED_ORDER.index(a) >= OWED_ORDER.index(b) else b


def service_apply(apply):
    """``apply`` with the commands its ``service`` names filled in: ``service NAME status|reload|restart|start``
    and ``enable`` NAME, each only where the caller gave none (a daemon without reload sets ``reload: []``)."""
    if not apply or not apply.get('service'):
        return apply
    name = apply['service']
    filled = dict(apply)
    for verb in ('status', 'reload', 'restart', 'start'):
        given = filled.get(verb)
        filled[verb] = ['service', name, verb] if given is None else (given or None)
    if filled.get('enable') is None:
        filled['enable'] = name
    return filled


def substitute(argv, root, scratch):
    """Fill {root} and {scratch} in command words (nothing else is templated)."""
    return [w.replace('{root}', root).replace('{scratch}', scratch) for w in argv]


def read_bytes(path):
    try:
        with open(path, 'rb') as f:
            return f.read()
    except IOError as e:
        if e.errno in (errno.ENOENT, errno.ENOTDIR):
            return None
        raise


def ids(owner, group):
    """uid/gid of names (None when the name does not exist on the host)."""
    try:
        uid = pwd.getpwnam(owner).pw_uid
    except KeyError:
        uid = None
    try:
        gid = grp.getgrnam(group).gr_gid
    except KeyError:
        gid = None
    return uid, gid


def changed_lines(before, after):
    old = (before or b'').decode('utf-8', 'replace').splitlines()
    new = (after or b'').decode('utf-8', 'replace').splitlines()
    return set(old) ^ set(new)


class Engine(object):
    """One staged change of one file set. See the module docstring for the steps."""

    def __init__(self, spec, run, check_mode=False, want_diff=False, now=None, sleep=time.sleep, log=None,
                 which=shutil.which, systemd_dir='/run/systemd/system', rc_dirs='/etc/rc[2345].d',
                 monotonic=time.monotonic):
        self.spec = spec
        self.name = spec['name']
        self.run_cmd = run          # run(argv, user=None, env=None) -> (rc, out, err)
        self.check_mode = check_mode
        self.want_diff = want_diff
        self.now = now or datetime.datetime.utcnow
        self.sleep = sleep
        self.which = which
        self.log = log or (lambda msg: None)
        self.systemd_dir = systemd_dir
        self.rc_dirs = rc_dirs
        self.monotonic = monotonic
        self.running = None         # known after the apply step; None: not asked yet
        self.backup_dir = spec['backup_dir']
        self.marker = os.path.join(self.backup_dir, MARKER)
        self.scratch = None
        self.root = None
        self.owners = {}
        self.processes = 0
        self.result = {'changed': False, 'changed_paths': [], 'backup_path': None, 'owed': 'none',
                       'applied': 'none', 'validated': [], 'skipped_validators': [], 'resumed': 'none',
                       'service': []}

    # ------------------------------------------------------------ helpers

    def run(self, argv, user=None, env=None):
        self.processes += 1
        return self.run_cmd(argv, user=user, env=env)

    def staged(self, path):
        return os.path.join(self.root, path.lstrip('/'))

    def pause(self, step):
        """Fault injection for the reliability tests: stop here for a while."""
        pause = self.spec.get('pause_at') or {}
        if pause.get('step') == step:
            # In the scratch tree, so whatever the test does next, the next
            # run's clean-up removes it.
            with open(os.path.join(self.scratch, 'paused'), 'w') as f:
                f.write('%s %s %d\n' % (self.name, step, os.getpid()))
            self.sleep(float(pause.get('seconds', 60)))

    # ------------------------------------------------------------ 1-2: lock, leftovers

    def lock(self):
        lock_dir = self.spec.get('lock_dir') or '/run/lock'
        if not os.path.isdir(lock_dir):
            os.makedirs(lock_dir, 0o755)
        path = os.path.join(lock_dir, 'securemail-%s.lock' % self.name)
        self._lock = open(path, 'a')
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except (IOError, OSError):
            self._lock.close()
            raise EngineError('lock', 'another securemail.gateway run is changing %s on this host right now '
                                      '(lock %s is held); run again when it has finished' % (self.name, path))

    def remove_leftovers(self):
        parent = self.spec['scratch_parent']
        prefix = 'securemail-%s.' % self.name
        removed = []
        if os.path.isdir(parent):
            for entry in sorted(os.listdir(parent)):
                full = os.path.join(parent, entry)
                if entry.startswith(prefix) and os.path.isdir(full) and not os.path.islink(full):
                    shutil.rmtree(full, ignore_errors=True)
                    removed.append(full)
        self.result['removed_leftovers'] = removed

    def owed_before(self):
        data = read_bytes(self.marker)
        if data is None:
            return 'none'
        text = data.decode('ascii', 'replace').strip()
        return 'restart' if text == 'restart' else 'reload'

    # ------------------------------------------------------------ 3: stage

    def make_scratch(self):
        self.scratch = tempfile.mkdtemp(prefix='securemail-%s.' % self.name, dir=self.spec['scratch_parent'])
        os.chmod(self.scratch, 0o700)
        self.root = os.path.join(self.scratch, 'root')
        os.mkdir(self.root, 0o700)

    def copy_bases(self):
        for base in self.spec.get('copy') or []:
            if not os.path.exists(base):
                continue
            target = self.staged(base)
            parent = os.path.dirname(target)
            if not os.path.isdir(parent):
                os.makedirs(parent, 0o755)
            if os.path.isdir(base) and not os.path.islink(base):
                shutil.copytree(base, target, symlinks=True)
            else:
                shutil.copy2(base, target, follow_symlinks=False)

    def file_content(self, f):
        """Wanted bytes of a declared file, or None when not knowable (check mode, missing parts)."""
        if f.get('content') is not None:
            return f['content'].encode('utf-8')
        parts = []
        for part in f.get('concat') or []:
            data = read_bytes(part)
            if data is None:
                if self.check_mode:
                    return None
                raise EngineError('stage', '%s: %s, one of its parts, does not exist' % (f['dest'], part))
            parts.append(data.strip())
        return b'\n'.join(parts) + b'\n'

    def write_staged(self, f, data):
        target = self.staged(f['dest'])
        parent = os.path.dirname(target)
        if not os.path.isdir(parent):
            os.makedirs(parent, 0o755)
        if os.path.lexists(target) and (os.path.islink(target) or not os.path.isfile(target)):
            if os.path.isdir(target) and not os.path.islink(target):
                shutil.rmtree(target)
            else:
                os.unlink(target)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, 'wb') as out:
            out.write(data)
        self.set_attrs(target, f)

    def set_attrs(self, path, f):
        uid, gid = ids(f.get('owner', 'root'), f.get('group', 'root'))
        if uid is not None and gid is not None:
            os.chown(path, uid, gid)
        os.chmod(path, int(f.get('mode', '0644'), 8))

    def stage_links(self):
        for link in self.spec.get('links') or []:
            target = self.staged(link['path'])
            parent = os.path.dirname(target)
            if not os.path.isdir(parent):
                os.makedirs(parent, 0o755)
            if os.path.lexists(target):
                os.unlink(target)
            if link.get('state', 'present') == 'present':
                os.symlink(link['target'], target)

    def apply_edits(self):
        """Editors that change copied base files in place (postconf in merge mode)."""
        for edit in self.spec.get('edits') or []:
            for argv in edit['commands']:
                rc, out, err = self.run(substitute(argv, self.root, self.scratch))
                if rc != 0:
                    raise EngineError('stage', '%s: %s' % (edit.get('name', 'edit'), (err or out).strip()))

    # ------------------------------------------------------------ 4: compare

    def attrs_differ(self, live, f):
        st = os.lstat(live)
        uid, gid = ids(f.get('owner', 'root'), f.get('group', 'root'))
        if (st.st_mode & 0o7777) != int(f.get('mode', '0644'), 8):
            return True
        return (uid is not None and st.st_uid != uid) or (gid is not None and st.st_gid != gid)

    def compare(self):
        """Paths whose live state differs from the candidate: {path: (before, after, secret)}."""
        changes = {}
        for f in self.spec.get('files') or []:
            dest = f['dest']
            wanted = self.wanted[dest]
            live = read_bytes(dest) if not os.path.islink(dest) else None
            if wanted is None or live != wanted or self.attrs_differ(dest, f):
                changes[dest] = (live, wanted, bool(f.get('secret')))
        for edit in self.spec.get('edits') or []:
            for path in edit['files']:
                staged = read_bytes(self.staged(path))
                live = read_bytes(path)
                if staged != live:
                    changes[path] = (live, staged, False)
        for link in self.spec.get('links') or []:
            path = link['path']
            present = link.get('state', 'present') == 'present'
            now = os.readlink(path) if os.path.islink(path) else None
            if present and now != link['target']:
                changes[path] = (self.link_text(path, now), self.link_text(path, link['target']), False)
            elif not present and os.path.lexists(path):
                changes[path] = (self.link_text(path, now or '(not a link)'), None, False)
        return changes

    @staticmethod
    def link_text(path, target):
        return None if target is None else ('%s -> %s\n' % (path, target)).encode('utf-8')

    def build_indexes(self, changes):
        """Index each table whose source changes or whose live index is missing, in the stage."""
        for index in self.spec.get('indexes') or []:
            source = index['source']
            outputs = index['outputs']
            if source not in changes and all(os.path.exists(o) for o in outputs):
                continue
            tool = index['argv'][0]
            if self.check_mode and (self.wanted.get(source) is None or not self.which(tool)):
                # A fresh host: the real run installs the tool (or writes the
                # source) first. The outputs will change; their bytes are not knowable.
                for out in outputs:
                    changes.setdefault(out, (read_bytes(out), None, True))
                if not self.which(tool):
                    self.result['skipped_validators'].append('%s index (needs %s)' % (index.get('label', source), tool))
                continue
            rc, out, err = self.run(substitute(index['argv'], self.root, self.scratch))
            if rc != 0 or (err or '').strip():
                raise EngineError('stage', '%s: %s rejected it: %s' % (
                    index.get('label', source), os.path.basename(index['argv'][0]), (err or out).strip()))
            src_spec = self.file_spec(source)
            for output in outputs:
                staged = self.staged(output)
                if not os.path.exists(staged):
                    raise EngineError('stage', '%s: the index %s was not built' % (source, output))
                self.set_attrs(staged, src_spec)
                # An index is binary and rebuilt from its source: no diff of its own.
                changes[output] = (read_bytes(output), read_bytes(staged), True)

    def file_spec(self, dest):
        for f in self.spec.get('files') or []:
            if f['dest'] == dest:
                return f
        return {}

    # ------------------------------------------------------------ 5 and 10: validators

    def validate(self, phase, only_always=False):
        for v in self.spec.get('validators') or []:
            if v.get('phase', 'both') not in (phase, 'both'):
                continue
            if only_always and not v.get('always'):
                continue
            if phase == 'live' and self.check_mode:
                continue
            label = v.get('name') or ' '.join(v['argv'][:2])
            missing = [p for p in v.get('needs') or [] if not os.path.exists(p)]
            if v.get('user'):
                try:
                    pwd.getpwnam(v['user'])
                except KeyError:
                    missing.append('user %s' % v['user'])
            if missing:
                if self.check_mode:
                    # A fresh host: the real run installs what the check needs first.
                    self.result['skipped_validators'].append('%s (needs %s)' % (label, ', '.join(missing)))
                    continue
                raise EngineError('validate', '%s cannot run: %s missing' % (label, ', '.join(missing)))
            root = self.root if phase == 'stage' else ''
            argv = substitute(v['argv'], root, self.scratch or '')
            rc, out, err = self.run(argv, user=v.get('user'), env=v.get('env'))
            problem = self.judge(v, rc, out, err)
            self.result['validated'].append('%s (%s)' % (label, phase))
            if problem:
                raise EngineError('validate' if phase == 'stage' else 'live_check',
                                  '%s rejected the %s configuration: %s' % (
                                      label, 'candidate' if phase == 'stage' else 'live', problem))

    @staticmethod
    def judge(v, rc, out, err):
        allow = re.compile(v['allow_regex']) if v.get('allow_regex') else None
        text = '\n'.join(s for s in ((err or '').strip(), (out or '').strip()) if s)
        if rc != 0:
            return 'exit status %d: %s' % (rc, text or '(no output)')
        if v.get('fail_regex') and re.search(v['fail_regex'], text):
            return text
        if v.get('fail_stderr'):
            lines = [line for line in (err or '').splitlines() if line.strip() and not (allow and allow.search(line))]
            if lines:
                return '\n'.join(lines)
        return None

    # ------------------------------------------------------------ 7-9: backup, marker, swap

    def backup(self, changes):
        if not os.path.isdir(self.backup_dir):
            os.makedirs(self.backup_dir, 0o700)
        os.chmod(self.backup_dir, 0o700)
        stamp = self.now().strftime('%Y%m%dT%H%M%S%fZ')
        # pid and random: two runs in the same microsecond still get their own.
        suffix = '%d-%s' % (os.getpid(), binascii.hexlify(os.urandom(3)).decode('ascii'))
        path = os.path.join(self.backup_dir, '%s-%s' % (stamp, suffix))
        os.mkdir(path, 0o700)
        manifest = {}
        for live in sorted(changes):
            if os.path.lexists(live):
                target = os.path.join(path, 'root', live.lstrip('/'))
                parent = os.path.dirname(target)
                if not os.path.isdir(parent):
                    os.makedirs(parent, 0o700)
                shutil.copy2(live, target, follow_symlinks=False)
                # copy2 keeps mode and times, not the owner; restore() reads it from here.
                st = os.lstat(live)
                os.lchown(target, st.st_uid, st.st_gid)
                manifest[live] = 'saved'
            else:
                manifest[live] = 'absent'
        with open(os.path.join(path, MANIFEST), 'w') as f:
            json.dump(manifest, f, indent=1, sort_keys=True)
        self.result['backup_path'] = path
        return path, manifest

    def write_marker(self, owed):
        if not self.spec.get('apply'):
            return
        tmp = self.marker + '.tmp'
        with open(tmp, 'w') as f:
            f.write(owed + '\n')
        os.chmod(tmp, 0o600)
        os.rename(tmp, self.marker)

    def drop_marker(self):
        if os.path.lexists(self.marker):
            os.unlink(self.marker)

    @staticmethod
    def replace(source, dest, owner=None):
        """Put source at dest atomically: copy beside dest, then rename over it.

        The copy gets ``owner`` ((uid, gid); the source's when None), then the
        source's mode: it is created 0600, so a secret is never readable by
        others beside the live file, and chown cannot clear set-id bits.
        """
        if os.path.isdir(dest) and not os.path.islink(dest):
            raise EngineError('swap', '%s is a directory; refusing to replace it with a file' % dest)
        parent = os.path.dirname(dest)
        if not os.path.isdir(parent):
            os.makedirs(parent, 0o755)
        tmp = os.path.join(parent, '.%s.securemail-new' % os.path.basename(dest))
        if os.path.lexists(tmp):
            os.unlink(tmp)
        if os.path.islink(source):
            os.symlink(os.readlink(source), tmp)
        else:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, 'wb') as out:
                with open(source, 'rb') as src:
                    shutil.copyfileobj(src, out)
            st = os.stat(source)
            os.chown(tmp, *(owner or (st.st_uid, st.st_gid)))
            shutil.copystat(source, tmp)
        os.rename(tmp, dest)

    def swap(self, changes):
        for path in sorted(changes):
            staged = self.staged(path)
            if os.path.lexists(staged):
                self.replace(staged, path, self.owners.get(path))
            elif os.path.lexists(path):
                os.unlink(path)

    def record_owners(self, changes):
        """Owners the swapped files get: the staged ones before scratch_owner takes the tree. Edited files
        keep their live owner and mode (the staged copy of a base tree belongs to whoever runs the engine,
        and an editor such as postconf -e writes a new file with a mode of its own)."""
        self.owners = {}
        for path in changes:
            staged = self.staged(path)
            if os.path.lexists(staged) and not os.path.islink(staged):
                st = os.lstat(staged)
                self.owners[path] = (st.st_uid, st.st_gid)
        for edit in self.spec.get('edits') or []:
            for path in edit['files']:
                if path in self.owners and os.path.isfile(path) and not os.path.islink(path):
                    st = os.lstat(path)
                    self.owners[path] = (st.st_uid, st.st_gid)
                    os.chmod(self.staged(path), st.st_mode & 0o7777)

    def restore(self, backup_path, manifest):
        errors = []
        for live, state in sorted(manifest.items()):
            try:
                if state == 'saved':
                    self.replace(os.path.join(backup_path, 'root', live.lstrip('/')), live)
                elif os.path.lexists(live):
                    os.unlink(live)
            except (OSError, IOError, EngineError) as e:
                errors.append('%s: %s' % (live, e))
        return errors

    def prune(self):
        keep = int(self.spec.get('retention', 5))
        names = sorted((n for n in os.listdir(self.backup_dir) if BACKUP_RE.match(n)), reverse=True)
        pruned = []
        for name in names[keep:]:
            shutil.rmtree(os.path.join(self.backup_dir, name), ignore_errors=True)
            pruned.append(name)
        self.result['pruned_backups'] = pruned

    # ------------------------------------------------------------ 12: apply

    def apply(self, owed):
        spec = self.spec.get('apply')
        if not spec or owed == 'none':
            return
        status = spec.get('status')
        if status:
            rc, dummy, dummy2 = self.run(status)
            if rc != 0:
                # Not running: its next start reads the new files, nothing is owed.
                self.running = False
                self.drop_marker()
                self.result['applied'] = 'none (not running)'
                return
        argv = spec.get(owed) or spec.get('restart')
        rc, out, err = self.run(argv)
        if rc != 0:
            raise EngineError('apply', '%s failed (exit status %d): %s; the change is live on disk and the %s '
                                       'is still owed (%s)' % (' '.join(argv), rc, (err or out).strip(), owed,
                                                               self.marker))
        self.drop_marker()
        self.running = True
        self.result['applied'] = owed

    # ------------------------------------------------------------ 13: keep it running

    def is_enabled(self, name):
        if os.path.isdir(self.systemd_dir):
            rc, dummy, dummy2 = self.run(['systemctl', 'is-enabled', '--quiet', name])
            return rc == 0
        # sysv-rc: a start link in a multi-user runlevel (update-rc.d's own test).
        return bool(glob.glob(os.path.join(self.rc_dirs, 'S[0-9][0-9]' + name)))

    def enable(self, name):
        if os.path.isdir(self.systemd_dir):
            commands = [['systemctl', 'enable', name]]
        else:
            # defaults creates the links when the package left none; enable
            # turns K links an admin's disable left into S links.
            commands = [['update-rc.d', name, 'defaults'], ['update-rc.d', name, 'enable']]
        for argv in commands:
            rc, out, err = self.run(argv)
            if rc != 0:
                detail = (err or out).strip()
                raise EngineError('enable', '%s failed (exit status %d): %s' % (' '.join(argv), rc, detail))

    def wait_ready(self, ready):
        path = ready.get('path')
        host = ready.get('host') or '127.0.0.1'
        where = path or '%s port %d' % (host, int(ready['port']))
        deadline = self.monotonic() + float(ready.get('timeout', 60))
        while True:
            try:
                if path:
                    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    try:
                        client.settimeout(2)
                        client.connect(path)
                    finally:
                        client.close()
                else:
                    socket.create_connection((host, int(ready['port'])), timeout=2).close()
                return
            except (OSError, IOError) as e:
                if self.monotonic() >= deadline:
                    raise EngineError('ready', 'nothing answers on %s after %s s (%s); see the daemon\'s '
                                               'log' % (where, ready.get('timeout', 60), e))
            self.sleep(0.5)

    def keep_running(self):
        """Enable at boot, start when stopped, wait for the port; in check mode only predict the first two."""
        spec = self.spec.get('apply') or {}
        done = []
        if spec.get('enable') and not self.is_enabled(spec['enable']):
            done.append('enabled')
            if not self.check_mode:
                self.enable(spec['enable'])
        if spec.get('start'):
            if self.running is None:
                # In check mode on a fresh host the status command is not
                # installed yet: it fails, and the real run starts the daemon.
                rc, dummy, dummy2 = self.run(spec['status'])
                self.running = rc == 0
            if not self.running:
                done.append('started')
                if not self.check_mode:
                    rc, out, err = self.run(spec['start'])
                    if rc != 0:
                        raise EngineError('start', '%s failed (exit status %d): %s' % (
                            ' '.join(spec['start']), rc, (err or out).strip()))
                    self.running = True
        self.result['service'] = done
        if done:
            self.result['changed'] = True
        if spec.get('ready') and not self.check_mode:
            self.wait_ready(spec['ready'])

    # ------------------------------------------------------------ the whole change

    def restart_needed(self, changes):
        for path, (before, after, dummy) in changes.items():
            for prefix, patterns in (self.spec.get('restart_on') or {}).items():
                if not path.startswith(prefix):
                    continue
                lines = changed_lines(before, after) or {'(binary or unknown content)'}
                if any(re.search(p, line) for p in patterns for line in lines):
                    return True
        return False

    def diffs(self, changes):
        out = []
        for path in sorted(changes):
            before, after, secret = changes[path]
            if secret:
                out.append({'before_header': path, 'after_header': path,
                            'before': '(content hidden)\n' if before is not None else '',
                            'after': '(content hidden, changed)\n' if after is not None else ''})
                continue
            out.append({'before_header': path, 'after_header': path,
                        'before': (before or b'').decode('utf-8', 'replace'),
                        'after': '(not knowable before the run)\n' if after is None and path in self.wanted
                        else (after or b'').decode('utf-8', 'replace')})
        return out

    def execute(self):
        self.lock()
        try:
            result = self._execute()
            self.keep_running()
            return result
        finally:
            if self.scratch:
                shutil.rmtree(self.scratch, ignore_errors=True)
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()

    def _execute(self):
        self.remove_leftovers()
        owed = self.owed_before()
        self.result['resumed'] = owed
        self.make_scratch()
        owner = self.spec.get('scratch_owner')
        self.copy_bases()
        self.wanted = {}
        for f in self.spec.get('files') or []:
            data = self.file_content(f)
            self.wanted[f['dest']] = data
            if data is not None:
                self.write_staged(f, data)
        self.stage_links()
        self.apply_edits()
        changes = self.compare()
        self.build_indexes(changes)
        self.record_owners(changes)
        if owner:
            try:
                # The user's primary group: a group of the same name need not exist.
                entry = pwd.getpwnam(owner)
                uid, gid = entry.pw_uid, entry.pw_gid
            except KeyError:
                uid = None
            if uid is not None:
                for dirpath, dirnames, filenames in os.walk(self.scratch):
                    for entry in [dirpath] + [os.path.join(dirpath, n) for n in filenames]:
                        if not os.path.islink(entry):
                            os.chown(entry, uid, gid)
        self.result['changed_paths'] = sorted(changes)
        if self.want_diff:
            self.result['diff'] = self.diffs(changes)
        restart = self.restart_needed(changes) if changes else False
        this_run = 'none' if not changes else ('restart' if restart else 'reload')
        owed = worse(owed, this_run)
        self.result['owed'] = owed
        self.result['changed'] = bool(changes) or owed != 'none'
        if not changes and owed == 'none':
            # Checks of what the files point to (a key that must match its
            # certificate) still run: that can break without a file change.
            self.validate('stage', only_always=True)
            return self.result
        if changes:
            self.validate('stage')
        else:
            # Only what an interrupted run owes: the checks of what the files
            # point to still run before the daemon is told to re-read them.
            self.validate('stage', only_always=True)
        self.pause('staged')
        if self.check_mode:
            return self.result
        if changes:
            backup_path, manifest = self.backup(changes)
            self.pause('backed_up')
            self.write_marker(owed)
            step = 'swap'
            try:
                # A swap that fails half way is restored like a failed live check.
                self.swap(changes)
                self.pause('swapped')
                step = 'live_check'
                self.validate('live')
            except (EngineError, OSError, IOError) as e:
                errors = self.restore(backup_path, manifest)
                if self.owed_before_value == 'none':
                    self.drop_marker()
                else:
                    self.write_marker(self.owed_before_value)
                raise EngineError(step, '%s; restored the backup %s%s' % (
                    getattr(e, 'msg', None) or str(e), backup_path,
                    (' (restore errors: %s)' % '; '.join(errors)) if errors else ''))
            self.prune()
        else:
            # An interrupted run swapped files in and was stopped before it
            # checked them: check now, before the daemon is told to use them.
            self.validate('live')
        self.pause('checked')
        self.apply(owed)
        return self.result

    @property
    def owed_before_value(self):
        return self.result['resumed']
