#!/usr/bin/env bash
# Sanity and unit tests on the older ansible-core lines that meta/runtime.yml
# claims (requires_ansible >= 2.16) and Python 3.11 runs; `make sanity` and
# `make unit` cover 2.19 with the dev venv. Each line gets its own venv under
# .cache/core-<line>, from tests/core-matrix/ansible-core-<line>.txt (pinned),
# reused while that file is unchanged. CORE_LINES="2.17" picks lines; the
# line "dev" is the sanity tests of `make sanity` (the dev venv's ansible-core),
# which `make test` runs alongside the others.
#
# The lines run side by side, each into its own log, printed when all are
# done: on a fresh clone most of a line's time is pip (its venv, then the
# linters ansible-test installs per sanity test), which waits on the network,
# so three lines take little longer than one (clean-clone CI on this 2-core
# machine: 482 s one after another, 2026-12-06).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
mkdir -p .cache

run_line() {
  local line=$1 req venv start
  if [ "$line" = dev ]; then
    start=$(date +%s)
    echo "::: ansible-core of requirements-dev.txt: sanity"
    bash scripts/sanity.sh
    echo "::: dev sanity passed in $(( $(date +%s) - start )) s"
    return
  fi
  req=tests/core-matrix/ansible-core-$line.txt
  venv=$top/.cache/core-$line
  start=$(date +%s)
  if [ ! -e "$venv/.stamp" ] || [ "$req" -nt "$venv/.stamp" ]; then
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q -r "$req"
    touch "$venv/.stamp"
  fi
  echo "::: ansible-core $("$venv/bin/python" -c 'import ansible; print(ansible.__version__)'): sanity"
  SANITY_VENV=$venv bash scripts/sanity.sh
  echo "::: ansible-core $line: unit"
  "$venv/bin/pytest" -q -p no:cacheprovider tests/unit
  echo "::: ansible-core $line passed in $(( $(date +%s) - start )) s"
}

lines=${CORE_LINES:-2.16 2.17 2.18}
start=$(date +%s)
declare -A pids
for line in $lines; do
  run_line "$line" >".cache/core-$line.log" 2>&1 &
  pids[$line]=$!
done
failed=()
for line in $lines; do
  wait "${pids[$line]}" || failed+=("$line")
done
for line in $lines; do
  cat ".cache/core-$line.log"
done
echo "::: core matrix finished in $(( $(date +%s) - start )) s${failed[*]:+; failed: ${failed[*]}}"
[ "${#failed[@]}" -eq 0 ]
