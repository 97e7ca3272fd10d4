# -*- coding: utf-8 -*-
# Copyright: securemail.gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of securemail.gateway.staged_config.

Renders every ``files[].src`` template on the controller (the role's
templates/ directory is searched as for ansible.builtin.template), moves
secret contents into the module's no_log option, and runs the module once:
one round trip to the host for a whole file set, whatever its size.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.errors import AnsibleActionFail, AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase

try:  # ansible-core >= 2.19: template text must be marked as trusted
    from ansible.template import trust_as_template
except ImportError:  # pragma: no cover - older controllers
    def trust_as_template(text):
        return text

try:
    from ansible._internal._templating._template_vars import generate_ansible_template_vars
    NEW_TEMPLAR = True
except ImportError:  # pragma: no cover - older controllers
    from ansible.template import generate_ansible_template_vars
    NEW_TEMPLAR = False

PAUSE_ENV = 'SECUREMAIL_PAUSE_AT'


class ActionModule(ActionBase):

    TRANSFERS_FILES = False

    def render(self, src, dest, task_vars):
        try:
            source = self._find_needle('templates', src)
        except AnsibleError as e:
            raise AnsibleActionFail('files: %s: %s' % (dest, to_text(e)))
        data = trust_as_template(self._loader.get_text_file_contents(source))
        searchpath = list(task_vars.get('ansible_search_path', [])) + [self._loader._basedir, os.path.dirname(source)]
        searchpath = [q for p in searchpath for q in (os.path.join(p, 'templates'), p)]
        variables = dict(task_vars)
        if NEW_TEMPLAR:
            variables.update(generate_ansible_template_vars(
                path=src, fullpath=source, dest_path=dest,
                include_ansible_managed='ansible_managed' not in variables))
            templar = self._templar.copy_with_new_env(searchpath=searchpath, available_variables=variables)
            text = templar.template(data, escape_backslashes=False,
                                    overrides=dict(trim_blocks=True, lstrip_blocks=False, newline_sequence='\n'))
        else:  # pragma: no cover - older controllers
            variables.update(generate_ansible_template_vars(src, source, dest))
            templar = self._templar.copy_with_new_env(searchpath=searchpath, available_variables=variables)
            text = templar.do_template(data, preserve_trailing_newlines=True, escape_backslashes=False)
        return to_text(text or '')

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        args = dict(self._task.args)
        files = []
        secrets = {}
        for entry in args.get('files') or []:
            if not isinstance(entry, dict) or not entry.get('dest'):
                raise AnsibleActionFail('files: every entry needs a dest')
            entry = dict(entry)
            if entry.get('src'):
                entry['content'] = self.render(entry.pop('src'), entry['dest'], task_vars)
            if entry.get('secret') and entry.get('content') is not None:
                secrets[entry['dest']] = entry.pop('content')
            files.append(entry)
        args['files'] = files
        if secrets:
            args['secret_contents'] = secrets
        # NAME:STEP[:SECONDS] from the controller's environment: the reliability
        # tests stop a run at an engine step to kill it there.
        pause = os.environ.get(PAUSE_ENV, '').split(':')
        if len(pause) >= 2 and pause[0] == args.get('name'):
            args['pause_at'] = {'step': pause[1], 'seconds': float(pause[2]) if len(pause) > 2 else 60}
        result.update(self._execute_module(module_name='securemail.gateway.staged_config', module_args=args,
                                           task_vars=task_vars))
        return result
