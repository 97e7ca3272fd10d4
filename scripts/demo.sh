#!/usr/bin/env bash
# make demo: converge one gateway container with playbooks/site.yml and the
# sample inventory, then show what it exposes and what an SMTP client sees.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
name=securemail-demo-gw
image=localhost/securemail-bookworm:latest
export ANSIBLE_COLLECTIONS_PATH="$top/.cache/collections"
export ANSIBLE_FORCE_COLOR=0 ANSIBLE_HOST_KEY_CHECKING=0
bin=$top/.venv/bin

if ! podman container exists "$name"; then
  podman run -d --name "$name" --hostname mx1.demo.example --init --cap-add=SYS_PTRACE "$image" sleep infinity >/dev/null
fi
podman start "$name" >/dev/null
addr=$(podman exec "$name" sh -c "ip -4 -o addr show scope global | awk '{print \$4}' | cut -d/ -f1 | head -1")

echo "== converging $name ($addr) with playbooks/site.yml"
"$bin/ansible-playbook" -i examples/demo/inventory.yml playbooks/site.yml

echo
echo "== auditing it with playbooks/audit.yml (read-only)"
report=$top/.cache/demo-audit
rc=0
"$bin/ansible-playbook" -i examples/demo/inventory.yml playbooks/audit.yml -e "securemail_audit_dir=$report" >/dev/null || rc=$?

echo
echo "== what $name exposes (from $report/$name.json)"
"$bin/python" - "$report/$name.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print("%-5s %-22s %-16s" % ("proto", "bound on", "process"))
for l in sorted(r["listeners"], key=lambda l: (l["port"], l["address"])):
    print("%-5s %-22s %-16s" % (l["proto"], "%s:%s" % (l["address"], l["port"]), l.get("process") or "?"))
print()
for c in r["checks"]:
    detail = c["detail"] if isinstance(c["detail"], str) else "; ".join(c["detail"])
    print("%-4s %-18s %s" % ("ok" if c["ok"] else "FAIL", c["check"], detail))
PY
echo
echo "Fleet report: $report/report.md and $report/report.html (audit exit status $rc)"
echo "The container keeps running: podman exec -it $name bash; remove it with: podman rm -f $name"
