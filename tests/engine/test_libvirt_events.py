"""libvirt's domain lifecycle events reach a VM's state between passes: a guest destroyed
behind onetui's back shows on its VM although the next pass is an hour away."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from onetui.drivers.virt import LibvirtDriver
from onetui.engine.loop import Engine
from onetui.ops import instantiate
from onetui.store import Store
from tests.engine.test_engine import LOCAL, node


def _until(check, what: str, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < end, f"still waiting for {what}"
        time.sleep(0.05)


def test_a_guest_destroyed_outside_onetui_shows_through_the_event_not_a_poll(
        store: Store, tmp_path: Path) -> None:
    host = store.hosts.add("ursa03", "libvirt", {"uri": node(tmp_path, "ursa03", 8, 16)})
    store.templates.add("web", LOCAL)
    a, b = instantiate.create(store, "web", count=2, name="w%i")
    engine = Engine(store, interval=3600)  # one pass now, the next in an hour
    stop = threading.Event()
    runner = threading.Thread(target=engine.run, args=(stop,))
    runner.start()
    try:
        _until(lambda: {v.state for v in store.vms.by_ids([a, b])} == {"runn"},
               "both VMs running")
        driver = engine.drivers.host(host.id)
        assert isinstance(driver, LibvirtDriver)
        vm = store.vms.get(a)
        driver.conn.lookupByUUIDString(vm.deploy_id).destroy()  # behind onetui's back
        _until(lambda: store.vms.get(a).state == "done", "the event to reach VM a")
        gone = store.vms.get(a)
        events = [e.message for e in store.events.recent(limit=10, kind="vm", obj_id=a)]
        assert any("powered off from inside the guest" in e for e in events), events
        assert gone.stopped_at is not None
        assert store.vms.get(b).state == "runn"  # the other guest is left alone
        assert engine.passes == 1  # no second pass: only the event could have told
    finally:
        stop.set()
        runner.join(timeout=30)
