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
# lanes run on. CI shows only the tail of its output, so the failed tests'
# assertion lines and pytest's short summary are repeated last.
# Exit status 1 when any scenario failed.
set -euo pipefail
cd "$(dirname "$0")/.."
logs=tests/output/molecule
mkdir -p "$logs"
rm -f "$logs/failed"
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
      echo "$s" >>"$logs/failed"
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
# Molecule wraps the verifier's output and prefixes each line with a
# coloured bar: strip both before looking for pytest's and Ansible's markers.
plain() {
  sed -E 's/\x1b\[[0-9;]*m//g; s/^ *\xe2\x94\x82 ?//' "$1"
}
if [ -f "$logs/failed" ]; then
  while read -r s; do
    echo "::: why $s failed (assertions, then pytest's summary; the whole log is above):"
    plain "$logs/$s.log" | grep -E '^E  |^fatal: |^failed: ' | cut -c1-300 | head -n 10 || true
    plain "$logs/$s.log" | sed -En '/short test summary info/,/^=+ .*[0-9]+ (passed|failed|error)/p' | head -n 12 || true
  done <"$logs/failed"
fi
echo "molecule: $# lane(s) finished in $(( $(date +%s) - start )) s$([ "$failed" -eq 0 ] || echo ', with failures')"
exit "$failed"
