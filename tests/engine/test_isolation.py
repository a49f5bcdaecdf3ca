"""One bad object never stops the engine: a VM, a network or a service that breaks in an
unforeseen way fails alone, with its reason and an event, and the pass goes on for all the
others. (Each bad object here is one an older onetui could have stored: today's checks
refuse them at the door, so the test writes them into the store as such a version would.)"""

from __future__ import annotations

from pathlib import Path

from onetui.ops import instantiate
from onetui.runtime.compose import build_engine
from onetui.store import Store
from tests.engine.test_engine import LOCAL, node


def _store_body(store: Store, vm_id: int, body: str) -> None:
    store.db.conn.execute("UPDATE vms SET body = ? WHERE id = ?", (body, vm_id))


def test_a_vm_the_hypervisor_chokes_on_fails_alone(store: Store, tmp_path: Path) -> None:
    store.hosts.add("n1", "libvirt", {"uri": node(tmp_path, "n1", 8, 16)})
    store.templates.add("web", LOCAL)
    first, bad, last = instantiate.create(store, "web", count=3, name="w%i")
    _store_body(store, bad, LOCAL.replace("/boot/vmlinuz", "/boot/vm\x00linuz"))
    engine = build_engine(store, {})
    try:
        assert engine.lead()
        stats = engine.run_pass()  # used to raise out of the pass and stop `serve`
        assert [store.vms.get(v).state for v in (first, bad, last)] == ["runn", "fail", "runn"]
        assert store.vms.get(bad).message == "ValueError: embedded null character"
        assert stats.deployed == 2
        engine.run_pass()  # and the next pass is as good
    finally:
        engine.close()


def test_a_network_whose_pattern_breaks_fails_only_its_vms(store: Store,
                                                            tmp_path: Path) -> None:
    store.hosts.add("n1", "libvirt", {"uri": node(tmp_path, "n1", 8, 16)})
    store.networks.add("wide", "10.9.0.1", "10.9.0.20", hostname="w%i")
    store.db.conn.execute("UPDATE networks SET hostname = 'w%99999999999999999999i'")
    store.templates.add("web", LOCAL)
    store.templates.add("netted", LOCAL + 'NIC = [ NETWORK = "wide" ]\n')
    (plain,) = instantiate.create(store, "web")
    (netted,) = instantiate.create(store, "netted")
    engine = build_engine(store, {})
    try:
        assert engine.lead()
        engine.run_pass()
        assert store.vms.get(plain).state == "runn"
        vm = store.vms.get(netted)
        assert vm.state == "fail"
        assert vm.message.startswith("leasing addresses: name pattern 'w%9999")
    finally:
        engine.close()


def test_a_service_that_cannot_grow_does_not_stop_the_next(store: Store,
                                                           tmp_path: Path) -> None:
    store.hosts.add("n1", "libvirt", {"uri": node(tmp_path, "n1", 8, 16)})
    good = store.templates.add("good", LOCAL)
    store.db.conn.execute("INSERT INTO templates(name, body, created_at) VALUES (?, ?, 0)",
                          ("nan", LOCAL.replace("CPU = 1", "CPU = nan")))
    broken = store.templates.get("nan")
    store.services.add("a", broken.id, None, 1, 3, {})
    store.services.add("b", good.id, None, 2, 3, {})
    engine = build_engine(store, {})
    try:
        assert engine.lead()
        for _ in range(2):
            engine.run_pass()
        members = [vm for vm in store.vms.list() if vm.name.startswith("b-")]
        assert [vm.state for vm in members] == ["runn", "runn"]
        errors = [e.message for e in store.events.recent(kind="service") if e.level == "error"]
        assert errors and all(m.startswith("service a: ") for m in errors)
        assert "CPU" in errors[0]
    finally:
        engine.close()
