"""Issue 11: check mode predicts exactly what a real run changes.

On the converged gateway, one parameter per role changes (a reload each:
postfix main.cf, postgresql.conf, the Apache vhost). For the change and for
the way back to the inventory's values, the same playbook runs first with
--check, then for real: the tasks each run reports changed must be the same
list, and check mode must leave every managed file and daemon as it was.
"""

import json

from conftest import JSON_CALLBACK, checksums, pids, run_playbook, task_results

CHANGE = {"postfix_message_size_limit": 20480000, "postgresql_timezone": "Europe/Berlin",
          "quarantine_web_hsts_max_age": 31536000}


def changed_tasks(extra_vars, check):
    proc = run_playbook("apply.yml", extra_vars, ["--check", "--diff"] if check else [], **JSON_CALLBACK)
    report = json.loads(proc.stdout)
    assert report["stats"]["rl-gw"]["failures"] == 0 and proc.returncode == 0, proc.stdout[-3000:]
    return [task for task, host, result in task_results(report) if host == "rl-gw" and result.get("changed")]


def test_check_mode_predicts_the_change_and_the_way_back(gw):
    for extra_vars in (CHANGE, None):
        files, daemons = checksums(gw), pids(gw)
        predicted = changed_tasks(extra_vars, check=True)
        assert checksums(gw) == files and pids(gw) == daemons
        done = changed_tasks(extra_vars, check=False)
        assert done == predicted
        # Each of the three roles changes something.
        assert len(done) >= 3, done
    assert changed_tasks(None, check=False) == []
