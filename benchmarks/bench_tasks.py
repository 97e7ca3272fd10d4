# -*- coding: utf-8 -*-
# Copyright: securemail.gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Callback for benchmarks/converge, benchmarks/fleet and the default scenario (not part of the collection).

Writes one JSON line per playbook run (its file name, whether it ran with
--check), one per task result (host, task, action, status, changed, loop items
that were not skipped, seconds) and one per host with the recap counters to
the file named by $BENCH_TASKS_LOG. benchmarks/lib_bench.py enables it with
ANSIBLE_CALLBACK_PLUGINS=benchmarks/ and ANSIBLE_CALLBACKS_ENABLED=bench_tasks;
molecule/default does the same in its provisioner env, for the test that
compares the fresh-host --check run with the first converge
(molecule/shared/conftest_lib.fresh_host_runs).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import time

from ansible import context
from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
    name: bench_tasks
    type: aggregate
    short_description: per-task results as JSON lines for the benchmarks
    description: Writes each playbook run's start, every task result and the recap to $BENCH_TASKS_LOG.
    requirements: [BENCH_TASKS_LOG in the environment]
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'bench_tasks'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super(CallbackModule, self).__init__(*args, **kwargs)
        self._path = os.environ.get('BENCH_TASKS_LOG')
        self._started = {}

    def _write(self, record):
        if not self._path:
            return
        with open(self._path, 'a') as handle:
            handle.write(json.dumps(record, default=str) + '\n')

    def v2_playbook_on_start(self, playbook):
        self._write({'kind': 'playbook', 'playbook': os.path.basename(playbook._file_name),
                     'check': bool(context.CLIARGS.get('check')), 'started': time.time()})

    def v2_runner_on_start(self, host, task):
        self._started[(host.get_name(), task._uuid)] = time.time()

    def _record(self, result, status):
        host = result._host.get_name() if not hasattr(result, 'host') else result.host.get_name()
        task = result._task if not hasattr(result, 'task') else result.task
        data = result._result if not hasattr(result, 'result') else result.result
        items = data.get('results') if isinstance(data.get('results'), list) else None
        started = self._started.pop((host, task._uuid), None)
        role = task._role.get_name(include_role_fqcn=False) if task._role else ''
        self._write({
            'kind': 'task',
            'host': host,
            'task': task.get_name(),
            'role': role,
            'action': task.action,
            'status': status,
            'changed': bool(data.get('changed')),
            'loop': items is not None,
            'items_run': (sum(1 for i in items if not (isinstance(i, dict) and i.get('skipped')))
                          if items is not None else None),
            'seconds': round(time.time() - started, 3) if started else None,
        })

    def v2_runner_on_ok(self, result):
        self._record(result, 'ok')

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, 'ignored' if ignore_errors else 'failed')

    def v2_runner_on_skipped(self, result):
        self._record(result, 'skipped')

    def v2_runner_on_unreachable(self, result):
        self._record(result, 'unreachable')

    def v2_playbook_on_stats(self, stats):
        for host in sorted(stats.processed.keys()):
            summary = stats.summarize(host)
            summary.update(kind='recap', host=host)
            self._write(summary)
