# -*- coding: utf-8 -*-
# Copyright: securemail.gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared code of benchmarks/converge and benchmarks/fleet (figures only, never tests).

A Session owns everything a benchmark creates: a lock (one benchmark at a
time), its bench-* podman containers (removed on exit, on SIGTERM/SIGINT and
on timeout), a scratch directory with the inventory, playbooks and the
counting wrappers. run_playbook() runs ansible-playbook once and returns what
the benchmarks print:

  wall        seconds, ansible-playbook start to exit
  recap_ok    the recap's ok= (Ansible counts changed tasks in ok too)
  changed     the recap's changed=
  on_host     task results that ran a module on a host: skipped results and
              controller-only actions (set_fact, assert, debug, fail, meta,
              include_*/import_*, add_host, group_by, validate_argument_spec...)
              left out; a loop counts its items that were not skipped
  execs       processes started on the targets: `podman exec` calls logged by
              the wrapper named in ansible_podman_executable (ssh mode: ssh and
              sftp client invocations, one remote session each)
  ctl_cpu     CPU seconds of ansible-playbook, its forks and the podman/ssh
              clients they ran (RUSAGE_CHILDREN)
  main_cpu    CPU seconds of the ansible-playbook process alone (strategy,
              variables, results, callbacks), sampled from /proc every 0.2 s
  tgt_cpu     CPU seconds used inside the containers (their cgroups)
  sys_cpu     CPU seconds the whole machine used meanwhile (other jobs too)
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fcntl
import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH_DIR = os.path.join(ROOT, 'benchmarks')
VENV_BIN = os.path.join(ROOT, '.venv', 'bin')
PLAYBOOK_BIN = os.path.join(VENV_BIN, 'ansible-playbook')
COLLECTIONS = os.path.join(ROOT, '.cache', 'collections')
IMAGE = 'localhost/securemail-bookworm:latest'
PREFIX = 'bench-'
LOCK_FILE = '/tmp/securemail-bench.lock'
PODMAN = shutil.which('podman') or '/usr/bin/podman'
SSH = shutil.which('ssh') or '/usr/bin/ssh'
SFTP = shutil.which('sftp') or '/usr/bin/sftp'
TARGET_PYTHON = '/usr/bin/python3'

# Actions that never run anything on the host (short names).
CONTROLLER_ONLY = frozenset([
    'set_fact', 'assert', 'debug', 'fail', 'meta', 'include_tasks', 'import_tasks', 'include_role',
    'import_role', 'import_playbook', 'add_host', 'group_by', 'include_vars', 'set_stats', 'pause',
    'validate_argument_spec', 'noop',
])

# The settings the issue names. 'subset' is a play keyword (min + network,
# what the postfix role reads) and applies only to plays this module writes.
SETTINGS = {
    'pipelining': 'ANSIBLE_PIPELINING=1',
    'subset': 'gather_subset: [min, network] on the plays the benchmark writes',
    'cache': 'fact cache jsonfile + gathering smart (facts from the previous run)',
    'free': 'strategy free (default linear)',
}

# The default Molecule scenario's variables for the gateway (molecule/default/
# molecule.yml): DNS-based restrictions off (no DNS for the test domains), a
# TEST-NET next hop instead of the scenario's hub, and a local ClamAV
# signature instead of freshclam (no access to ClamAV's mirrors).
POSTFIX_VARS = {
    'postfix_smtpd_sender_restrictions': ['reject_non_fqdn_sender'],
    'postfix_smtpd_recipient_restrictions': ['reject_non_fqdn_recipient'],
    'postfix_relay_domains': ['example.org'],
    'postfix_myhostname': 'gateway.example.test',
    'postfix_relay_recipients': ['alice@example.org', 'postmaster@example.org'],
    'postfix_transport_map': {'example.org': 'smtp:[192.0.2.25]:25'},
}
GATEWAY_VARS = dict(POSTFIX_VARS, **{
    'content_filter_hostname': 'gateway.example.test',
    'content_filter_local_domains': ['example.org'],
    'content_filter_clamav_freshclam': False,
    'content_filter_clamav_signatures': {'securemail-test.hdb': ['44d88612fea8a8f36de82e1278abb02f:68:Eicar-Test-Signature']},
    'postgresql_db_password': 'bench-only-secret',
    'quarantine_web_server_name': 'quarantine.example.test',
})
SITE_GROUPS = ['mail_gateways', 'quarantine_db', 'quarantine_web']


class BenchError(Exception):
    pass


def progress(msg):
    """Progress goes to stderr; the figures go to stdout."""
    sys.stderr.write('[%s] %s\n' % (time.strftime('%H:%M:%S'), msg))
    sys.stderr.flush()


STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def child_setup():
    """Children start with no signal blocked (a Session blocks the stop signals to learn who sends them)."""
    signal.pthread_sigmask(signal.SIG_SETMASK, [])


def sh(argv, timeout=120, check=True, input_text=None):
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, input=input_text, check=False,
                              preexec_fn=child_setup)
    except subprocess.TimeoutExpired:
        raise BenchError('%s: no answer within %d s' % (' '.join(argv[:3]), timeout))
    if check and proc.returncode != 0:
        raise BenchError('%s failed (rc=%d): %s' % (' '.join(argv[:4]), proc.returncode, proc.stderr.strip()[-500:]))
    return proc


def podman(*args, **kwargs):
    return sh([PODMAN] + list(args), **kwargs)


def bench_containers():
    out = podman('ps', '-a', '--format', '{{.Names}}').stdout.split()
    return [n for n in out if n.startswith(PREFIX)]


def parse_settings(text):
    if not text or text in ('none', 'baseline'):
        return ()
    names = tuple(s.strip() for s in text.split(',') if s.strip())
    unknown = [s for s in names if s not in SETTINGS]
    if unknown:
        raise BenchError('unknown setting(s) %s; choose from %s or none' % (', '.join(unknown), ', '.join(SETTINGS)))
    return names


def settings_label(settings):
    return '+'.join(settings) if settings else 'baseline'


def host_info():
    """One line: versions, cores and the load the machine carries (others run tests too)."""
    import ansible.release
    load = open('/proc/loadavg').read().split()[:3]
    pv = podman('version', '--format', '{{.Client.Version}}', check=False).stdout.strip()
    return 'ansible-core %s, podman %s, %d cores, load average %s at start' % (
        ansible.release.__version__, pv or '?', os.cpu_count() or 0, ' '.join(load))


def cpu_jiffies():
    """(busy, total) jiffies of the whole machine from /proc/stat (other jobs included)."""
    with open('/proc/stat') as handle:
        fields = [int(x) for x in handle.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields) - idle, sum(fields)


def describe_process(pid, depth=2):
    """pid, name and command line of a process and of its parents (for the log of a stop signal)."""
    parts = []
    while pid > 1 and depth > 0:
        try:
            with open('/proc/%d/comm' % pid) as handle:
                comm = handle.read().strip()
            with open('/proc/%d/cmdline' % pid, 'rb') as handle:
                cmd = handle.read().replace(b'\0', b' ').decode(errors='replace').strip()[:160]
            with open('/proc/%d/stat' % pid) as handle:
                ppid = int(handle.read().rsplit(')', 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            parts.append('pid %d (gone)' % pid)
            break
        parts.append('pid %d %s [%s]' % (pid, comm, cmd))
        pid, depth = ppid, depth - 1
    return ' <- '.join(parts)


def process_cpu(pid):
    """utime + stime of one process (not its children), seconds; None once it is gone."""
    try:
        with open('/proc/%d/stat' % pid) as handle:
            fields = handle.read().rsplit(')', 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / float(os.sysconf('SC_CLK_TCK'))


def podman_has_pipelining():
    try:
        from ansible_collections.containers.podman.plugins.connection.podman import Connection
        return bool(Connection.has_pipelining)
    except Exception:  # pylint: disable=broad-except
        return None


class Container(object):
    def __init__(self, name):
        self.name = name
        info = json.loads(podman('inspect', name).stdout)[0]
        self.id = info['Id']
        nets = info.get('NetworkSettings', {}).get('Networks') or {}
        addrs = [n.get('IPAddress') for n in nets.values() if n.get('IPAddress')]
        self.address = addrs[0] if addrs else info.get('NetworkSettings', {}).get('IPAddress')
        cg = info.get('State', {}).get('CgroupPath') or ''
        self._cpu_file = None
        for path, scale in (('/sys/fs/cgroup/cpuacct%s/cpuacct.usage' % cg, 1e-9),
                            ('/sys/fs/cgroup%s/cpu.stat' % cg, 1e-6)):
            if cg and os.path.exists(path):
                self._cpu_file, self._cpu_scale = path, scale
                break

    def cpu_seconds(self):
        """CPU the container's processes used so far (None when the cgroup is not found)."""
        if not self._cpu_file:
            return None
        try:
            with open(self._cpu_file) as handle:
                text = handle.read()
        except OSError:
            return None
        if self._cpu_file.endswith('cpu.stat'):
            text = [line.split()[1] for line in text.splitlines() if line.startswith('usage_usec')][0]
        return int(text.strip()) * self._cpu_scale


class Session(object):
    """Lock, scratch directory, containers; all of it undone on exit."""

    def __init__(self, tag, keep_dir=False, total_timeout=None):
        self.tag = tag
        self.keep_dir = keep_dir
        self.total_timeout = total_timeout
        self.containers = {}
        self.workdir = None
        self._lock = None
        self._runs = 0
        self._old_handlers = {}
        self._stop_signo = None

    # -- life cycle ---------------------------------------------------------
    def __enter__(self):
        self._lock = open(LOCK_FILE, 'w')
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise BenchError('another benchmark holds %s; run one at a time' % LOCK_FILE)
        existing = bench_containers()
        if existing:
            raise BenchError('%s container(s) exist already (%s): another benchmark runs, or remove them with '
                             '`podman rm -f %s`' % (PREFIX + '*', ', '.join(existing), ' '.join(existing)))
        for sig in STOP_SIGNALS + (signal.SIGALRM, signal.SIGUSR1):
            self._old_handlers[sig] = signal.signal(sig, self._on_signal)
        # A thread waits for the stop signals so that the sender can be named;
        # the main thread then stops as if it had received the signal itself.
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        threading.Thread(target=self._wait_for_signal, daemon=True).start()
        if self.total_timeout:
            signal.alarm(int(self.total_timeout))
        self.workdir = tempfile.mkdtemp(prefix='securemail-bench-')
        for sub in ('logs', 'facts', 'tmp', 'cp'):
            os.mkdir(os.path.join(self.workdir, sub))
        with open(os.path.join(self.workdir, 'ansible.cfg'), 'w') as handle:
            handle.write('[defaults]\n')
        self._wrapper('podman', PODMAN, '"$1" "$2"')  # subcommand, container
        self._wrapper('ssh', SSH, 'ssh -')
        self._wrapper('sftp', SFTP, 'sftp -')
        return self

    def __exit__(self, exc_type, exc, tb):
        signal.alarm(0)
        for sig in STOP_SIGNALS + (signal.SIGUSR1,):
            signal.signal(sig, signal.SIG_IGN)
        try:
            self._close_ssh_masters()
            if self.containers:
                progress('removing %s' % ' '.join(sorted(self.containers)))
                podman('rm', '-f', '-t', '0', *sorted(self.containers), check=False, timeout=300)
                self.containers.clear()
        finally:
            if self.workdir and (self.keep_dir or exc_type not in (None, SystemExit)):
                progress('logs kept in %s' % self.workdir)
            elif self.workdir:
                shutil.rmtree(self.workdir, ignore_errors=True)
            for sig, handler in self._old_handlers.items():
                signal.signal(sig, handler)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
            self._lock.close()
        return False

    def _wait_for_signal(self):
        info = signal.sigwaitinfo(STOP_SIGNALS)
        progress('signal %d from %s: stopping' % (info.si_signo, describe_process(info.si_pid)))
        self._stop_signo = info.si_signo
        signal.pthread_kill(threading.main_thread().ident, signal.SIGUSR1)  # wakes a waiting main thread

    def _on_signal(self, signum, frame):
        if signum == signal.SIGUSR1:
            signum = self._stop_signo or signal.SIGTERM
        if signum == signal.SIGALRM:
            progress('total timeout (%s s) reached: stopping' % self.total_timeout)
            raise SystemExit(3)
        raise SystemExit(128 + signum)

    def _wrapper(self, name, real, fields):
        """A shell wrapper that logs one line per call (fields) to $BENCH_EXEC_LOG, then execs the real tool."""
        path = os.path.join(self.workdir, 'bin-' + name)
        with open(path, 'w') as handle:
            handle.write('#!/bin/sh\n'
                         '[ -n "$BENCH_EXEC_LOG" ] && printf \'%%s\\t%%s\\n\' %s >> "$BENCH_EXEC_LOG"\n'
                         'exec %s "$@"\n' % (fields, real))
        os.chmod(path, 0o755)
        return path

    def path(self, *parts):
        return os.path.join(self.workdir, *parts)

    # -- containers -----------------------------------------------------------
    def create(self, names, parallel=True):
        """Fresh containers from the local image; returns Container objects in order."""
        progress('creating %s' % ' '.join(names))
        procs = []
        for name in names:
            self.containers[name] = None
            argv = [PODMAN, 'run', '-d', '--name', name, '--init', '--network=podman', IMAGE, 'sleep', 'infinity']
            if parallel:
                procs.append((name, subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                                     preexec_fn=child_setup,
                                                     text=True)))
            else:
                sh(argv, timeout=180)
        for name, proc in procs:
            try:
                _out, err = proc.communicate(timeout=300)
            except subprocess.TimeoutExpired:
                proc.kill()
                raise BenchError('podman run %s: no answer within 300 s' % name)
            if proc.returncode != 0:
                raise BenchError('podman run %s failed: %s' % (name, err.strip()[-400:]))
        for name in names:
            self.containers[name] = Container(name)
        return [self.containers[n] for n in names]

    def remove(self, names):
        names = [n for n in names if n in self.containers]
        if names:
            progress('removing %s' % ' '.join(names))
            podman('rm', '-f', '-t', '0', *names, check=False, timeout=300)
            for name in names:
                self.containers.pop(name, None)

    # -- ssh ------------------------------------------------------------------
    def prepare_ssh(self, container, timeout=600):
        """openssh-server in the container, a generated key authorized for root, sshd started."""
        key = self.path('id_bench')
        if not os.path.exists(key):
            sh(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', key])
        progress('%s: installing openssh-server' % container.name)
        install = ('export DEBIAN_FRONTEND=noninteractive; apt-get install -y -q --no-install-recommends openssh-server '
                   '|| { apt-get update -q && apt-get install -y -q --no-install-recommends openssh-server; }')
        podman('exec', container.name, 'sh', '-c', install, timeout=timeout)
        with open(key + '.pub') as handle:
            pub = handle.read()
        podman('exec', '-i', container.name, 'sh', '-c',
               'umask 077; mkdir -p /root/.ssh && cat > /root/.ssh/authorized_keys', input_text=pub)
        podman('exec', container.name, 'service', 'ssh', 'start', timeout=60)
        deadline = time.time() + 60
        while True:
            proc = sh([SSH] + self.ssh_options() + ['root@' + container.address, 'true'], check=False, timeout=30)
            if proc.returncode == 0:
                return
            if time.time() > deadline:
                raise BenchError('ssh root@%s: %s' % (container.address, proc.stderr.strip()[-300:]))
            time.sleep(1)

    def ssh_options(self):
        return ['-i', self.path('id_bench'), '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null',
                '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR']

    def _close_ssh_masters(self):
        cpdir = self.workdir and self.path('cp')
        if not cpdir or not os.path.isdir(cpdir):
            return
        for sock in os.listdir(cpdir):
            sh([SSH, '-o', 'ControlPath=' + os.path.join(cpdir, sock), '-O', 'exit', 'bench'], check=False, timeout=30)

    # -- inventory and playbooks ---------------------------------------------
    def write_inventory(self, containers, host_vars=None, group_vars=None, groups=(), connection='podman'):
        """JSON inventory (read by the yaml plugin) for containers; returns its path."""
        common = {'ansible_python_interpreter': TARGET_PYTHON}
        if connection == 'podman':
            common.update(ansible_connection='containers.podman.podman',
                          ansible_podman_executable=self.path('bin-podman'))
        else:
            common.update(ansible_connection='ssh', ansible_user='root',
                          ansible_ssh_private_key_file=self.path('id_bench'),
                          ansible_ssh_common_args='-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null '
                                                  '-o LogLevel=ERROR',
                          ansible_ssh_executable=self.path('bin-ssh'),
                          ansible_sftp_executable=self.path('bin-sftp'))
        common.update(group_vars or {})
        hosts = {}
        for c in containers:
            hv = {'bench_address': c.address}
            if connection != 'podman':
                hv['ansible_host'] = c.address
            hv.update((host_vars or {}).get(c.name, {}))
            hosts[c.name] = hv
        inv = {'all': {'vars': common, 'hosts': hosts,
                       'children': {g: {'hosts': {c.name: {} for c in containers}} for g in groups}}}
        path = self.path('inventory-%d.json' % len(os.listdir(self.workdir)))
        with open(path, 'w') as handle:
            json.dump(inv, handle, indent=1)
        return path

    def write_playbook(self, name, plays):
        path = self.path(name + '.yml')
        with open(path, 'w') as handle:
            json.dump(plays, handle, indent=1)  # JSON is YAML
        return path

    # -- running --------------------------------------------------------------
    def run_playbook(self, label, playbook, inventory, extra_vars=None, settings=(), forks=1, timeout=1800,
                     connection='podman'):
        self._runs += 1
        stem = self.path('logs', '%02d-%s' % (self._runs, label.replace(' ', '_').replace('/', '_')))
        tasks_log, exec_log, out_log = stem + '.tasks.jsonl', stem + '.execs.log', stem + '.out.log'
        env = {k: v for k, v in os.environ.items() if not k.startswith('ANSIBLE_')}
        env.update({
            'ANSIBLE_CONFIG': self.path('ansible.cfg'),
            'ANSIBLE_COLLECTIONS_PATH': COLLECTIONS,
            'ANSIBLE_CALLBACK_PLUGINS': BENCH_DIR,
            'ANSIBLE_CALLBACKS_ENABLED': 'bench_tasks',
            'ANSIBLE_STDOUT_CALLBACK': 'default',
            'ANSIBLE_NOCOLOR': '1',
            'ANSIBLE_HOST_KEY_CHECKING': 'False',
            'ANSIBLE_RETRY_FILES_ENABLED': 'False',
            'ANSIBLE_LOCAL_TEMP': self.path('tmp'),
            'ANSIBLE_SSH_CONTROL_PATH_DIR': self.path('cp'),
            'ANSIBLE_FORKS': str(forks),
            'BENCH_TASKS_LOG': tasks_log,
            'BENCH_EXEC_LOG': exec_log,
        })
        if 'pipelining' in settings or connection == 'ssh':
            env['ANSIBLE_PIPELINING'] = '1'
        if 'cache' in settings:
            env.update(ANSIBLE_GATHERING='smart', ANSIBLE_CACHE_PLUGIN='jsonfile',
                       ANSIBLE_CACHE_PLUGIN_CONNECTION=self.path('facts'), ANSIBLE_CACHE_PLUGIN_TIMEOUT='86400')
        if 'free' in settings:
            env['ANSIBLE_STRATEGY'] = 'free'
        argv = [PLAYBOOK_BIN, '-i', inventory, playbook]
        if extra_vars:
            argv += ['-e', json.dumps(extra_vars)]
        cpu0 = {n: c.cpu_seconds() for n, c in self.containers.items() if c}
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        busy0 = cpu_jiffies()[0]
        progress('run %s: %s' % (label, ' '.join(os.path.basename(a) for a in argv[1:4])))
        start = time.monotonic()
        with open(out_log, 'w') as out:
            proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=self.workdir,
                                    preexec_fn=child_setup,
                                    start_new_session=True)
            timed_out = False
            main_cpu = None
            try:
                deadline = time.monotonic() + timeout
                while proc.poll() is None:  # sample the main process's own CPU until it exits
                    main_cpu = process_cpu(proc.pid) or main_cpu
                    if time.monotonic() > deadline:
                        raise subprocess.TimeoutExpired(argv, timeout)
                    time.sleep(0.2)
            except subprocess.TimeoutExpired:
                timed_out = True
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
            except BaseException:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                raise
        wall = time.monotonic() - start
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        busy1 = cpu_jiffies()[0]
        cpu1 = {n: c.cpu_seconds() for n, c in self.containers.items() if c}
        run = RunResult(label, wall, proc.returncode, timed_out, out_log)
        run.ctl_cpu = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
        deltas = [cpu1[n] - cpu0[n] for n in cpu1 if cpu1.get(n) is not None and cpu0.get(n) is not None]
        run.tgt_cpu = sum(deltas) if deltas else None
        run.main_cpu = main_cpu
        run.sys_cpu = (busy1 - busy0) / float(os.sysconf('SC_CLK_TCK'))
        run.parse(tasks_log, exec_log, connection)
        progress('run %s: %.1f s, rc=%s, ok=%s changed=%s on-host=%s execs=%s'
                 % (label, wall, proc.returncode, run.recap_ok, run.changed, run.on_host, run.execs))
        return run


def short_task(rec):
    """'role: task' without the collection prefix Ansible puts in front of role tasks."""
    name = rec['task']
    if rec.get('role') and ' : ' in name:
        name = '%s: %s' % (rec['role'], name.split(' : ', 1)[1])
    return name


class RunResult(object):
    def __init__(self, label, wall, rc, timed_out, out_log):
        self.label = label
        self.wall = wall
        self.rc = rc
        self.timed_out = timed_out
        self.out_log = out_log
        self.tasks = []
        self.recap = {}
        self.podman_calls = {}
        self.execs = 0
        self.execs_per_host = {}
        self.ctl_cpu = None
        self.tgt_cpu = None
        self.sys_cpu = None
        self.main_cpu = None

    @property
    def ok(self):
        return self.rc == 0 and not self.timed_out

    def parse(self, tasks_log, exec_log, connection):
        if os.path.exists(tasks_log):
            with open(tasks_log) as handle:
                for line in handle:
                    rec = json.loads(line)
                    if rec['kind'] == 'task':
                        self.tasks.append(rec)
                    elif rec['kind'] == 'recap':
                        self.recap[rec['host']] = rec
        calls = {}
        if os.path.exists(exec_log):
            with open(exec_log) as handle:
                for line in handle:
                    parts = line.rstrip('\n').split('\t')
                    if len(parts) != 2:
                        continue
                    calls[parts[0]] = calls.get(parts[0], 0) + 1
                    if parts[0] == 'exec':
                        self.execs_per_host[parts[1]] = self.execs_per_host.get(parts[1], 0) + 1
        self.podman_calls = calls
        self.execs = calls.get('ssh', 0) + calls.get('sftp', 0) if connection == 'ssh' else calls.get('exec', 0)

    @staticmethod
    def runs_on_host(rec):
        if rec['status'] in ('skipped', 'unreachable'):
            return 0
        if rec['action'].split('.')[-1] in CONTROLLER_ONLY:
            return 0
        return rec['items_run'] if rec['loop'] else 1

    @property
    def recap_ok(self):
        return sum(r.get('ok', 0) for r in self.recap.values())

    @property
    def changed(self):
        return sum(r.get('changed', 0) for r in self.recap.values())

    @property
    def failed(self):
        return sum(r.get('failures', 0) + r.get('unreachable', 0) for r in self.recap.values())

    @property
    def on_host(self):
        return sum(self.runs_on_host(r) for r in self.tasks)

    def on_host_tasks(self, host=None):
        """(task, action, count, seconds) of the results that ran on the host, in order."""
        return [(short_task(r), r['action'].split('.')[-1], self.runs_on_host(r), r['seconds'] or 0.0)
                for r in self.tasks if self.runs_on_host(r) and (host is None or r['host'] == host)]

    def changed_tasks(self):
        return sorted(set(short_task(r) for r in self.tasks if r['changed']))

    def task_seconds(self, actions):
        """Mean per host of the seconds spent in tasks of these actions."""
        hosts = set(r['host'] for r in self.tasks) or {None}
        total = sum(r['seconds'] or 0 for r in self.tasks if r['action'].split('.')[-1] in actions)
        return total / len(hosts)

    def failure_text(self, lines=25):
        failed = ['%s: %s (%s)' % (r['host'], r['task'], r['action']) for r in self.tasks if r['status'] == 'failed']
        tail = ''
        if os.path.exists(self.out_log):
            with open(self.out_log) as handle:
                tail = ''.join(handle.readlines()[-lines:])
        why = 'timed out' if self.timed_out else 'rc=%s' % self.rc
        return '%s %s; failed tasks: %s\n--- last lines of %s ---\n%s' % (
            self.label, why, '; '.join(failed) or 'none recorded', self.out_log, tail)


def exec_cost(container, count=8):
    """Wall and controller CPU of one `podman exec` (true; python3 -c pass), measured sequentially."""
    out = {}
    for key, cmd in (('true', ['true']), ('python', [TARGET_PYTHON, '-c', 'pass'])):
        walls = []
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        for _dummy in range(count):
            t0 = time.monotonic()
            podman('exec', container.name, *cmd, timeout=60)
            walls.append(time.monotonic() - t0)
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = ((ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)) / count
        out[key] = (statistics.median(walls), cpu)
    return out


def median_run(runs):
    """The run with the median wall time (odd count) or the faster middle one."""
    ordered = sorted(runs, key=lambda r: r.wall)
    return ordered[(len(ordered) - 1) // 2]


def fmt(value, spec='%.1f', none='-'):
    return none if value is None else spec % value


def table(headers, rows):
    """Plain text table, columns right-aligned except the first."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for n, row in enumerate(cells):
        lines.append('  '.join(c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(row)))
        if n == 0:
            lines.append('  '.join('-' * w for w in widths))
    return '\n'.join(lines)


def verdict(value, limit):
    if value is None:
        return 'n/a'
    return 'PASS' if value <= limit else 'MISS'


def bare_play(settings=()):
    play = {'name': 'Bare play', 'hosts': 'all', 'gather_facts': True,
            'tasks': [{'name': 'Ping', 'ansible.builtin.ping': {}}]}
    if 'subset' in settings:
        play['gather_subset'] = ['min', 'network']
    return [play]


def postfix_play(settings=()):
    play = {'name': 'Postfix role alone, gateway mode', 'hosts': 'all', 'gather_facts': True,
            'roles': [{'role': 'securemail.gateway.postfix', 'postfix_mode': 'gateway'}]}
    if 'subset' in settings:
        play['gather_subset'] = ['min', 'network']
    return [play]


def site_playbook():
    return [{'name': "The collection's site playbook",
             'ansible.builtin.import_playbook': 'securemail.gateway.site'}]
