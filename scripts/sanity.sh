#!/usr/bin/env bash
# ansible-test insists on running from .../ansible_collections/<ns>/<name>; copy
# the tracked (and untracked, not ignored) files there so venvs and caches in
# the checkout never reach the sanity tests.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
venv=${SANITY_VENV:-$top/.cache/sanity-venv}
# A venv of its own: --requirements installs ansible-test's pinned linters into
# it, which must not disturb the dev venv's ansible-lint.
if [ ! -x "$venv/bin/ansible-test" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "$(grep -E '^ansible-core==' "$top/requirements-dev.txt")"
fi
work=$(mktemp -d /tmp/securemail-sanity.XXXXXX)
trap 'rm -rf "$work"' EXIT
dest=$work/ansible_collections/securemail/gateway
mkdir -p "$dest"
cd "$top"
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
  [ -e "$f" ] || continue
  mkdir -p "$dest/$(dirname "$f")"
  cp -a "$f" "$dest/$f"
done
cd "$dest"
# ansible-test bootstraps pip in its venvs with a script fetched from a host we
# cannot reach; seed its cache with our stand-in under the name it expects.
pipver=$("$venv/bin/python" - <<'PY'
import re, ansible_test._internal.python_requirements as m
print(re.search(r"pip='([0-9.]+)'", open(m.__file__).read()).group(1))
PY
)
mkdir -p ~/.ansible/test/cache
cp "$top/scripts/get_pip_offline.py" "$HOME/.ansible/test/cache/get_pip_${pipver//./_}.py"
# --requirements: ansible-test installs its own pinned linters per sanity test
# (from PyPI), so results do not depend on the linters in our dev venv.
"$venv/bin/ansible-test" sanity --local --requirements --python "$("$venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')" --color no "$@"
