#!/usr/bin/env bash
# Runs Molecule scenarios in parallel lanes: each argument is one lane, a
# blank-separated list of scenarios run one after another. A single scenario
# leaves one of the two cores idle for much of its time (ansible-playbook
# waits on the instances: apt, daemon start-up, SMTP sessions), so two lanes
# finish the suite sooner than one. Scenarios whose instances share names
# (default and postfix_gateway both have hub and outsider) must share a lane.
#
# Each scenario's output goes to tests/output/molecule/<scenario>.log; a
# scenario that fails has its whole log printed, and ends its lane. The other
# lanes run on. Exit status 1 when any scenario failed.
set -euo pipefail
cd "$(dirname "$0")/.."
logs=tests/output/molecule
mkdir -p "$logs"
molecule=${MOLECULE:-molecule}

run_lane() {
  local s start rc
  for s in $1; do
    start=$(date +%s)
    rc=0
    "$molecule" test -s "$s" >"$logs/$s.log" 2>&1 || rc=$?
    if [ "$rc" -ne 0 ]; then
      echo "::: molecule scenario $s FAILED (rc=$rc) after $(( $(date +%s) - start )) s; its log:"
      cat "$logs/$s.log"
      echo "::: end of the log of $s"
      return 1
    fi
    echo "molecule scenario $s passed in $(( $(date +%s) - start )) s (lane: $1)"
  done
}

pids=()
start=$(date +%s)
for lane in "$@"; do
  run_lane "$lane" &
  pids+=("$!")
done
failed=0
for pid in "${pids[@]}"; do
  wait "$pid" || failed=1
done
echo "molecule: $# lane(s) finished in $(( $(date +%s) - start )) s$([ "$failed" -eq 0 ] || echo ', with failures')"
exit "$failed"
