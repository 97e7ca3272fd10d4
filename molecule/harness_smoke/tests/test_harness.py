"""The harness gives what the real scenarios rely on (docs/molecule.md)."""

from conftest_lib import EXTERNAL, INTERNAL, address_by_prefix, listeners, tcp_exchange


def test_pid1_is_an_init(host):
    # --init: podman's init (catatonit, shown as podman-init) is PID 1 and
    # reaps the zombies of restarted daemons; `sleep infinity` is its child.
    assert host.check_output("ps -o comm= -p 1").strip() in ("podman-init", "catatonit")
    assert "sleep" in host.check_output("ps -o comm= --ppid 1").split()


def test_every_instance_has_an_external_address(host):
    assert address_by_prefix(host, EXTERNAL)


def test_only_gw_has_an_internal_address(host):
    internal = address_by_prefix(host, INTERNAL)
    if host.backend.get_hostname() == "gw":
        assert internal
    else:
        assert internal is None


def test_gw_listeners_are_named_by_address(gw):
    found = listeners(gw)
    assert ("tcp", address_by_prefix(gw, EXTERNAL), 8088, "python3") in found
    assert ("tcp", address_by_prefix(gw, INTERNAL), 8089, "python3") in found


def test_outsider_reaches_gw_external_with_its_own_address(gw, outsider):
    # Within podman's network there is no NAT: gw sees the client's real address,
    # so "relay refused from outside" tests can use outsider as the outside client.
    seen = tcp_exchange(outsider, address_by_prefix(gw, EXTERNAL), 8088)
    assert seen == address_by_prefix(outsider, EXTERNAL)


def test_outsider_reaches_gw_internal_only_through_host_nat(gw, outsider):
    # The host routes between podman networks and masquerades: a connection from
    # outsider to gw's internal address arrives from the bridge gateway (10.89.N.1).
    # Binding a service to the internal address hides it from outsider's *address*,
    # not from its packets.
    seen = tcp_exchange(outsider, address_by_prefix(gw, INTERNAL), 8089)
    assert seen is not None
    assert seen.startswith(INTERNAL) and seen.endswith(".1")
    assert seen != address_by_prefix(outsider, EXTERNAL)
