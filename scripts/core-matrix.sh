#!/usr/bin/env bash
# Sanity and unit tests on the older ansible-core lines that meta/runtime.yml
# claims (requires_ansible >= 2.16) and Python 3.11 runs; `make sanity` and
# `make unit` cover 2.19 with the dev venv. Each line gets its own venv under
# .cache/core-<line>, from tests/core-matrix/ansible-core-<line>.txt (pinned),
# reused while that file is unchanged. CORE_LINES="2.17" picks lines.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
for line in ${CORE_LINES:-2.16 2.17 2.18}; do
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
done
