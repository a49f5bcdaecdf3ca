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


def test_the_safety_net_looks_at_hosts_a_few_at_a_time_not_all_in_one_pass(
        store: Store, tmp_path: Path) -> None:
    """Hosts that report their changes are still looked at every `look_every` seconds.
    Forty hosts up in the same first pass do not all fall due together again: each is
    looked at once in the next `look_every`, spread over the passes in between (a pass
    that looks at a thousand hosts takes seconds, and libvirt's events wait for it)."""
    for i in range(40):
        store.hosts.add(f"n{i:02d}", "libvirt", {"uri": node(tmp_path, f"n{i:02d}", 8, 16)})
    engine = Engine(store, look_every=30)
    assert engine.lead()
    try:
        engine.run_pass()  # connects to every host, which then reports by events
        hosts = engine.seen.hosts()
        _until(lambda: all(engine.drivers.host(h.id).watching for h in hosts),
               "every host's events to be watched")
        # from here on the passes are made at chosen times: the first looks at every
        # host (none looked at yet), the next, at the same time, at none
        engine._looked.clear()
        start = time.monotonic()
        assert len(engine._due(hosts, set(), now=start)) == len(hosts)
        assert engine._due(hosts, set(), now=start) == []  # all just looked at
        looked: dict[int, int] = {}
        when: dict[int, int] = {}
        per_pass = []
        for second in range(2, 31, 2):  # a pass every 2 s, as `onetui serve` makes them
            due = engine._due(hosts, set(), now=start + second)
            per_pass.append(len(due))
            for host in due:
                looked[host.id] = looked.get(host.id, 0) + 1
                when[host.id] = second
        assert looked == {h.id: 1 for h in hosts}  # each once in the 30 s
        assert max(per_pass) <= 8  # 40 hosts over 15 passes: a few each, never all
        # a host that reported a change is looked at at once, one second after its look
        first = hosts[0].id
        again = engine._due(hosts, {first}, now=start + when[first] + 1)
        assert first in [h.id for h in again]
    finally:
        engine.close()
