#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: securemail.gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: staged_config
short_description: Stage, validate, back up, swap and apply a set of configuration files in one step
version_added: 0.2.0
description:
  - The safe-change engine every role of this collection uses. One task changes a whole file set
    (for example Postfix's C(main.cf), C(master.cf) and lookup tables) the same way every time.
  - It stages the candidate in a private scratch tree (mode 0700, removed in every outcome) that mirrors the
    live paths, so validators read the candidate through C({root}) in their arguments.
  - It compares the candidate with the live files. Only when something differs does it run the validators,
    take a timestamped backup (0700), write a pending marker (reload or restart owed), swap each path in by
    an atomic rename, run the live checks (restoring the backup and failing with the validator's message when
    they fail), prune old backups, and reload or restart the daemon.
  - A run killed after the swap leaves the pending marker; the next run applies what is still owed.
  - With O(apply.start), O(apply.enable) and O(apply.ready) the same task also keeps the daemon enabled, running and
    answering, so a role needs no separate service task (one module execution less per run).
  - One run at a time per file set and host (an C(flock) lock); a second run is refused with a clear message.
  - Use the action plugin of the same name (the default when this module is called as a task), which renders
    O(files[].src) templates on the controller.
author:
  - securemail.gateway developers (@securemail)
options:
  name:
    description: Name of the file set, used for the scratch prefix, the lock and messages (for example C(postfix)).
    type: str
    required: true
  files:
    description: Files the set owns, with their whole content.
    type: list
    elements: dict
    default: []
    suboptions:
      dest:
        description: Absolute live path.
        type: path
        required: true
      src:
        description: A template the action plugin renders on the controller into O(files[].content).
        type: str
      content:
        description: The content.
        type: str
      concat:
        description: Files on the host whose contents, stripped and joined by newlines, make the content.
        type: list
        elements: path
      owner:
        description: Owner.
        type: str
        default: root
      group:
        description: Group.
        type: str
        default: root
      mode:
        description: Mode, as an octal string.
        type: str
        default: '0644'
      secret:
        description: Never show the content in a diff; the action plugin sends it in O(secret_contents).
        type: bool
        default: false
  secret_contents:
    description:
      - Contents of the O(files[].secret) files, by O(files[].dest). The action plugin moves them here so that
        Ansible masks them in every output; do not set it by hand.
    type: dict
    default: {}
  links:
    description: Symbolic links the set owns (Apache's C(*-enabled) trees).
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path of the link.
        type: path
        required: true
      target:
        description: Where it points (required when O(links[].state=present)).
        type: str
      state:
        description: Whether the link exists.
        type: str
        choices: [present, absent]
        default: present
  copy:
    description: Live files or trees copied into the scratch tree first, so validators see a whole configuration.
    type: list
    elements: path
    default: []
  edits:
    description:
      - Commands that change copied files in the scratch tree (for example C(postconf -c {root}/etc/postfix -e ...)).
      - O(edits[].files) are the live paths they change; they are compared and swapped like O(files).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Label for messages.
        type: str
      commands:
        description: Command argument lists.
        type: list
        elements: list
        required: true
      files:
        description: Live paths the commands change.
        type: list
        elements: path
        required: true
  indexes:
    description:
      - Indexes built from a file of the set (postmap, postalias) in the scratch tree, only when their source
        changes or a live output is missing. Outputs get the source's owner and mode.
    type: list
    elements: dict
    default: []
    suboptions:
      source:
        description: Live path of the source, one of O(files[].dest).
        type: path
        required: true
      argv:
        description: The command; C({root}) is the scratch tree.
        type: list
        elements: str
        required: true
      outputs:
        description: Live paths the command builds.
        type: list
        elements: path
        required: true
      label:
        description: Label for messages (the variable the table comes from).
        type: str
  validators:
    description: Commands that must accept the configuration.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Label for messages.
        type: str
      argv:
        description: The command. C({root}) is the scratch tree for the candidate and empty for the live tree.
        type: list
        elements: str
        required: true
      phase:
        description: Run on the candidate (V(stage)), on the live tree after the swap (V(live)) or both.
        type: str
        choices: [stage, live, both]
        default: both
      user:
        description: Run as this user (runuser).
        type: str
      env:
        description: Extra environment.
        type: dict
      needs:
        description: Paths the command needs; in check mode on a fresh host it is skipped when they are missing.
        type: list
        elements: path
      fail_regex:
        description: Fail when the output matches.
        type: str
      fail_stderr:
        description: Fail on any standard error line not matching O(validators[].allow_regex).
        type: bool
        default: false
      allow_regex:
        description: Standard error lines that are fine.
        type: str
      always:
        description: Run on the candidate even when nothing differs (checks of files the set only refers to).
        type: bool
        default: false
  restart_on:
    description:
      - Path prefix to regular expressions. A change of a path under a prefix whose changed lines match one of
        its expressions needs a restart; any other change a reload.
    type: dict
    default: {}
  backup_dir:
    description: Where backups and the pending marker live (created 0700).
    type: path
    required: true
  retention:
    description: How many backups to keep.
    type: int
    default: 5
  scratch_parent:
    description: Where scratch trees are made (and where an interrupted run's are found).
    type: path
    default: /tmp
  scratch_owner:
    description: Hand the scratch tree to this user (PostgreSQL validates as postgres).
    type: str
  lock_dir:
    description: Directory of the per-set lock files.
    type: path
    default: /run/lock
  apply:
    description:
      - How to apply a change. Without it nothing is reloaded, no marker is written, and RV(owed) says what the
        caller must do.
    type: dict
    suboptions:
      service:
        description:
          - A service name, for a daemon run through C(service) (Debian's init scripts or systemd units). It fills
            in O(apply.status), O(apply.reload), O(apply.restart) and O(apply.start) as C(service NAME status)
            (and so on), and O(apply.enable) as NAME, each only where it is not given.
          - Give an empty list for a command the daemon does not have (O(apply.reload) of a daemon that only
            restarts).
        type: str
      status:
        description: Exits 0 when the daemon runs; when it does not, nothing is owed (its start reads the files).
        type: list
        elements: str
      reload:
        description: Command that makes the daemon re-read the files.
        type: list
        elements: str
      restart:
        description: Command that restarts the daemon. Required unless O(apply.service) is given.
        type: list
        elements: str
      start:
        description:
          - Command that starts the daemon. When given, every run (a no-change run too) asks O(apply.status) and
            starts a daemon that is not running, after the files are in place, so its first start reads them.
          - In check mode the start is predicted (RV(service) lists it), not done.
          - Needs O(apply.status).
        type: list
        elements: str
      enable:
        description:
          - Service name to enable at boot on every run. With systemd (C(/run/systemd/system) exists) C(systemctl
            is-enabled) decides and C(systemctl enable) acts; otherwise a start link in C(/etc/rc[2345].d) decides
            and C(update-rc.d NAME defaults) then C(update-rc.d NAME enable) act.
          - In check mode it is predicted, not done.
        type: str
      ready:
        description:
          - After the change and the start, wait until a connection to this TCP port or Unix socket is accepted (not
            in check mode). A daemon that does not answer within O(apply.ready.timeout) seconds fails the task (step
            C(ready)).
          - Give O(apply.ready.port) or O(apply.ready.path).
        type: dict
        suboptions:
          host:
            description: Address to connect to.
            type: str
            default: 127.0.0.1
          port:
            description: TCP port to connect to.
            type: int
          path:
            description: Unix stream socket to connect to instead of a TCP port (clamd's, for example).
            type: path
          timeout:
            description: Seconds to wait.
            type: int
            default: 60
  pause_at:
    description:
      - Fault injection for the reliability tests. The action plugin fills it from the controller's
        E(SECUREMAIL_PAUSE_AT) (C(NAME:STEP:SECONDS)); do not set it by hand.
    type: dict
notes:
  - Steps at which a pause can be injected are C(staged), C(backed_up), C(swapped) and C(checked).
seealso:
  - module: securemail.gateway.postconf
attributes:
  check_mode:
    description: Stages and validates, then reports exactly the paths a real run would change and what it would owe.
    support: full
  diff_mode:
    description: One diff per changed path; secrets and indexes show no content.
    support: full
'''

EXAMPLES = r'''
- name: Amavis configuration, validated by amavisd itself
  securemail.gateway.staged_config:
    name: content_filter
    copy: [/etc/amavis/conf.d]
    files:
      - dest: /etc/amavis/conf.d/50-user
        src: 50-user.j2
    validators:
      - name: amavisd test-config
        argv: [sh, -c, 'set --; for f in "$0"/*; do set -- "$@" -c "$f"; done; exec amavisd "$@" test-config',
               "{root}/etc/amavis/conf.d"]
        fail_regex: Error in config
    restart_on:
      /etc/amavis/: ['.']
    backup_dir: /var/backups/securemail-amavis
    apply:
      restart: [service, amavis, restart]

- name: A cron job; cron re-reads /etc/cron.d itself, the task keeps cron enabled and running
  securemail.gateway.staged_config:
    name: retention
    files:
      - dest: /etc/cron.d/securemail-quarantine
        src: retention.cron.j2
        mode: "0644"
    backup_dir: /var/backups/securemail-postgresql
    apply:
      service: cron
'''

RETURN = r'''
changed_paths:
  description: Live paths that differ (or would, in check mode).
  returned: always
  type: list
  elements: str
backup_path:
  description: The backup of the changed paths taken by this run.
  returned: always
  type: str
owed:
  description: What the daemon owed after the swap, this run's change and an interrupted run's together.
  returned: always
  type: str
  sample: reload
applied:
  description: What was applied (V(none), V(reload), V(restart), or V(none (not running))).
  returned: always
  type: str
service:
  description:
    - What O(apply.enable) and O(apply.start) did to keep the daemon running (V(enabled), V(started)); empty when it
      was enabled and running already. In check mode, what the real run would do.
  returned: always
  type: list
  elements: str
  sample: [started]
resumed:
  description: What an interrupted earlier run still owed (from the pending marker).
  returned: always
  type: str
validated:
  description: Validators that ran, with their phase.
  returned: always
  type: list
  elements: str
skipped_validators:
  description: Validators skipped in check mode because what they need is not installed yet.
  returned: always
  type: list
  elements: str
processes:
  description: Commands the engine started on the host.
  returned: always
  type: int
step:
  description: Where a failed run stopped (lock, stage, validate, swap, live_check, apply, enable, start, ready, or io
    for another file system error, such as a backup that cannot be written).
  returned: failure
  type: str
'''

import os
import shutil

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.securemail.gateway.plugins.module_utils.staged import (
    PAUSE_STEPS, Engine, EngineError, service_apply)

FILE_OPTIONS = dict(
    dest=dict(type='path', required=True),
    src=dict(type='str'),
    content=dict(type='str'),
    concat=dict(type='list', elements='path'),
    owner=dict(type='str', default='root'),
    group=dict(type='str', default='root'),
    mode=dict(type='str', default='0644'),
    secret=dict(type='bool', default=False),
)

ARGUMENT_SPEC = dict(
    name=dict(type='str', required=True),
    files=dict(type='list', elements='dict', default=[], options=FILE_OPTIONS),
    secret_contents=dict(type='dict', default={}, no_log=True),
    links=dict(type='list', elements='dict', default=[], options=dict(
        path=dict(type='path', required=True),
        target=dict(type='str'),
        state=dict(type='str', choices=['present', 'absent'], default='present'),
    )),
    copy=dict(type='list', elements='path', default=[]),
    edits=dict(type='list', elements='dict', default=[], options=dict(
        name=dict(type='str'),
        commands=dict(type='list', elements='list', required=True),
        files=dict(type='list', elements='path', required=True),
    )),
    indexes=dict(type='list', elements='dict', default=[], options=dict(
        source=dict(type='path', required=True),
        argv=dict(type='list', elements='str', required=True),
        outputs=dict(type='list', elements='path', required=True),
        label=dict(type='str'),
    )),
    validators=dict(type='list', elements='dict', default=[], options=dict(
        name=dict(type='str'),
        argv=dict(type='list', elements='str', required=True),
        phase=dict(type='str', choices=['stage', 'live', 'both'], default='both'),
        user=dict(type='str'),
        env=dict(type='dict'),
        needs=dict(type='list', elements='path'),
        fail_regex=dict(type='str'),
        fail_stderr=dict(type='bool', default=False),
        allow_regex=dict(type='str'),
        always=dict(type='bool', default=False),
    )),
    restart_on=dict(type='dict', default={}),
    backup_dir=dict(type='path', required=True),
    retention=dict(type='int', default=5),
    scratch_parent=dict(type='path', default='/tmp'),
    scratch_owner=dict(type='str'),
    lock_dir=dict(type='path', default='/run/lock'),
    apply=dict(type='dict', options=dict(
        service=dict(type='str'),
        status=dict(type='list', elements='str'),
        reload=dict(type='list', elements='str'),
        restart=dict(type='list', elements='str'),
        start=dict(type='list', elements='str'),
        enable=dict(type='str'),
        ready=dict(type='dict', options=dict(
            host=dict(type='str', default='127.0.0.1'),
            port=dict(type='int'),
            path=dict(type='path'),
            timeout=dict(type='int', default=60),
        ), required_one_of=[['port', 'path']], mutually_exclusive=[['port', 'path']]),
    )),
    pause_at=dict(type='dict'),
)


def check_spec(module, spec):
    """Refuse a malformed file set before anything is staged."""
    seen = set()
    for f in spec['files']:
        dest = f['dest']
        if not os.path.isabs(dest):
            module.fail_json(msg='files: %s is not an absolute path' % dest)
        if dest in seen:
            module.fail_json(msg='files: %s is declared twice' % dest)
        seen.add(dest)
        if (f.get('content') is None) == (not f.get('concat')):
            module.fail_json(msg='files: %s needs exactly one of content (or src) and concat' % dest)
        try:
            mode = int(f['mode'], 8)
        except ValueError:
            mode = -1
        if not 0 <= mode <= 0o7777:
            module.fail_json(msg='files: %s: mode %r is not an octal mode' % (dest, f['mode']))
    for link in spec['links']:
        if link['state'] == 'present' and not link.get('target'):
            module.fail_json(msg='links: %s needs a target' % link['path'])
    sources = set(seen)
    for index in spec['indexes']:
        if index['source'] not in sources:
            module.fail_json(msg='indexes: %s is not one of the files' % index['source'])
    for prefix in spec['restart_on']:
        # A key such as "{{ dir }}/x" is not templated by Ansible and would silently never match.
        if not os.path.isabs(prefix) or '{' in prefix:
            module.fail_json(msg='restart_on: %r is not an absolute path prefix (mapping keys are not templated; '
                                 'build the whole mapping in one expression)' % prefix)
    if spec['apply'] and not spec['apply'].get('restart'):
        module.fail_json(msg='apply: needs restart, or service to fill it in')
    if spec['apply'] and spec['apply'].get('start') and not spec['apply'].get('status'):
        module.fail_json(msg='apply: start needs status (how else would a run know the daemon is stopped?)')
    if spec['retention'] < 1:
        module.fail_json(msg='retention: keep at least one backup')
    pause = spec.get('pause_at')
    if pause and pause.get('step') not in PAUSE_STEPS:
        module.fail_json(msg='pause_at: step must be one of %s' % ', '.join(PAUSE_STEPS))


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    spec = dict(module.params)
    spec['apply'] = service_apply(spec['apply'])
    for f in spec['files']:
        if f['secret'] and f['dest'] in spec['secret_contents']:
            f['content'] = spec['secret_contents'][f['dest']]
    check_spec(module, spec)

    runuser = module.get_bin_path('runuser', opt_dirs=['/usr/sbin', '/sbin'])

    def run(argv, user=None, env=None):
        if argv and not os.path.isabs(argv[0]) and shutil.which(argv[0]) is None:
            # run_command fails the module on a missing program; check mode on
            # a fresh host asks a daemon that is not installed yet. Answer as
            # a shell would.
            return 127, '', '%s: command not found' % argv[0]
        if user:
            argv = [runuser or 'runuser', '-u', user, '--'] + list(argv)
        return module.run_command(argv, environ_update=dict(env or {}, LC_ALL='C'), cwd='/')

    engine = Engine(spec, run, check_mode=module.check_mode, want_diff=module._diff)
    try:
        result = engine.execute()
    except EngineError as e:
        result = dict(engine.result)
        result.pop('diff', None)
        # Refused or rolled back: the host is as it was. Only a failed apply
        # leaves new files live (with the reload or restart still owed).
        result['changed'] = e.step == 'apply' or (e.step in ('enable', 'start', 'ready') and result['changed'])
        module.fail_json(msg='%s: %s' % (spec['name'], e.msg), step=e.step, processes=engine.processes, **result)
    except (OSError, IOError) as e:
        module.fail_json(msg='%s: %s' % (spec['name'], e), step='io', processes=engine.processes)
    result['processes'] = engine.processes
    module.exit_json(**result)


if __name__ == '__main__':
    main()
