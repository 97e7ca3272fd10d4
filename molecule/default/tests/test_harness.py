"""What every scenario relies on from the podman harness (docs/molecule.md), re-checked in every run.

Formerly the separate harness_smoke scenario, which `make test` did not run.
Runs before test_whole_gateway.py (file order); its listeners serve one
connection each and are gone before the socket table is read.
"""

import shlex
import subprocess

import pytest
from conftest_lib import EXTERNAL, INTERNAL, address_by_prefix, addresses, instance_name, tcp_exchange

# Runs on an instance: answer one connection with the client address it
# sees, then exit (30 s at most).
_WHOAMI = r"""
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(1)
s.settimeout(30)
conn, peer = s.accept()
conn.sendall(peer[0].encode())
conn.close()
"""


def whoami_once(instance, host, addr, port):
    """Start a one-shot listener on instance addr:port and wait until it is bound."""
    subprocess.run(["podman", "exec", "-d", instance, "python3", "-c", _WHOAMI, addr, str(port)], check=True)
    host.run_expect([0], "for i in $(seq 50); do ss -Hltn | grep -qF %s && exit 0; sleep 0.1; done; exit 1"
                    % shlex.quote("%s:%d" % (addr, port)))


@pytest.mark.parametrize("instance", ["gateway", "hub", "outsider"])
def test_pid1_is_an_init(instance, gateway, hub, outsider):
    # --init: podman's init (catatonit, shown as podman-init) is PID 1 and
    # reaps the zombies of restarted daemons; `sleep infinity` is its child.
    host = {"gateway": gateway, "hub": hub, "outsider": outsider}[instance]
    assert host.check_output("ps -o comm= -p 1").strip() in ("podman-init", "catatonit")
    assert "sleep" in host.check_output("ps -o comm= --ppid 1").split()


def test_networks_are_as_declared(gateway, hub, outsider):
    # gateway on both networks, hub on the internal one only, outsider on
    # the external one only (address_by_prefix fails when one is missing).
    assert address_by_prefix(gateway, EXTERNAL) and address_by_prefix(gateway, INTERNAL)
    assert address_by_prefix(hub, INTERNAL)
    assert address_by_prefix(outsider, EXTERNAL)
    assert not [a for _i, a, _p in addresses(hub) if a.startswith(EXTERNAL)]
    assert not [a for _i, a, _p in addresses(outsider) if a.startswith(INTERNAL)]


def test_outsider_reaches_the_external_address_with_its_own_address(gateway, outsider):
    # Within podman's network there is no NAT: the gateway sees the client's
    # real address, so "relay refused from outside" tests can use the
    # outsider as the outside client.
    ext = address_by_prefix(gateway, EXTERNAL)
    whoami_once(instance_name("gateway"), gateway, ext, 8088)
    assert tcp_exchange(outsider, ext, 8088, timeout=10) == address_by_prefix(outsider, EXTERNAL)


def test_outsider_reaches_the_internal_address_only_through_host_nat(gateway, outsider):
    # The host routes between podman networks and masquerades: a connection
    # from the outsider to the internal address arrives from the bridge
    # gateway (10.89.N.1). Binding a service to the internal address hides
    # it from the outsider's address, not from its packets, which is why the
    # tests also check what answers on the internal address.
    internal = address_by_prefix(gateway, INTERNAL)
    whoami_once(instance_name("gateway"), gateway, internal, 8089)
    seen = tcp_exchange(outsider, internal, 8089, timeout=10)
    assert seen is not None and seen.startswith(INTERNAL) and seen.endswith(".1"), seen
    assert seen != address_by_prefix(outsider, EXTERNAL)
