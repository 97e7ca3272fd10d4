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
echo "== listening sockets on $name (securemail.gateway.exposure_check)"
policy='[{"name":"smtp","port":25,"bind":"public","process":"master"}]'
"$bin/ansible" -i examples/demo/inventory.yml "$name" -m securemail.gateway.exposure_check \
  -a "{\"policy\": $policy, \"protocols\": [\"tcp\"]}" -o | sed 's/^[^{]*//' | "$bin/python" -c '
import json, sys
r = json.load(sys.stdin)
print("%-6s %-22s %-10s %s" % ("proto", "address", "process", "verdict"))
for l in r["listeners"]:
    print("%-6s %-22s %-10s %s" % (l["proto"], "%s:%s" % (l["address"], l["port"]), l.get("process") or "?", "ok"))
for v in r["violations"]:
    print("VIOLATION:", v)
print("compliant:", r["compliant"])'

echo
echo "== what an SMTP client sees on $addr:25 (securemail.gateway.smtp_probe, from this machine)"
ANSIBLE_LOCALHOST_WARNING=0 ANSIBLE_INVENTORY_UNPARSED_WARNING=0 "$bin/ansible" localhost -c local -m securemail.gateway.smtp_probe \
  -a "{\"host\": \"$addr\", \"tls_versions\": [\"TLSv1\", \"TLSv1.1\", \"TLSv1.2\", \"TLSv1.3\"]}" -o | sed 's/^[^{]*//' | "$bin/python" -c '
import json, sys
r = json.load(sys.stdin)
print("banner          :", r.get("banner"), "(discloses: %s)" % (", ".join(r.get("banner_discloses") or []) or "nothing"))
print("STARTTLS        :", r["starttls"].get("protocol") if r.get("starttls") else None)
print("TLS versions    :", r.get("tls_versions"))
print("VRFY            :", r.get("vrfy"))
print("relay to foreign:", r.get("relay"))'
echo
echo "The container keeps running: podman exec -it $name bash; remove it with: podman rm -f $name"
