"""The verbs `onevm` users reach for beyond the basics, on libvirt's test driver: reboot,
poweroff (and on again), deploy to a host of the admin's choice, migrate and resched (which
the test driver refuses in its own words: the VM stays where it was)."""

from __future__ import annotations

from pathlib import Path

import libvirt
import pytest

from onetui.engine.loop import Engine
from onetui.errors import Conflict, UserError
from onetui.ops import instantiate
from onetui.ops import vm_actions as actions
from onetui.store import Store
from tests.engine.test_engine import LOCAL, _domains, node


@pytest.fixture
def engine(store: Store):
    eng = Engine(store, interval=0.05)
    assert eng.lead()
    yield eng
    eng.close()


def _events(store: Store, vid: int) -> list[str]:
    return [e.message for e in store.events.recent(limit=50, kind="vm", obj_id=vid)]


def _running(store: Store, engine: Engine, tmp_path: Path, hosts: int = 1) -> int:
    for i in range(hosts):
        store.hosts.add(f"ursa0{3 + i}", "libvirt",
                        {"uri": node(tmp_path, f"ursa0{3 + i}", 8, 16)})
    store.templates.add("web", LOCAL)
    (vid,) = instantiate.create(store, "web")
    engine.run_pass()
    assert store.vms.get(vid).state == "runn"
    return vid


def test_reboot_keeps_the_vm_running_where_it_was(store: Store, engine: Engine,
                                                  tmp_path: Path) -> None:
    vid = _running(store, engine, tmp_path)
    before = store.vms.get(vid)
    assert actions.reboot(store, vid) == f"VM {vid}: reboot requested"
    engine.run_pass()
    assert actions.reboot(store, vid, hard=True) == f"VM {vid}: reboot --hard requested"
    engine.run_pass()
    after = store.vms.get(vid)
    assert (after.state, after.host_id, after.deploy_id, after.intent) == \
        ("runn", before.host_id, before.deploy_id, "")
    events = _events(store, vid)
    assert any(e.endswith("rebooted (ACPI)") for e in events)
    assert any(e.endswith("rebooted (reset)") for e in events)
    (dom,) = _domains(engine, before.host_id or 0)
    assert dom.isActive()


def test_reboot_of_a_pending_vm_is_refused_with_the_states_that_allow_it(store: Store) -> None:
    store.templates.add("web", LOCAL)
    (vid,) = instantiate.create(store, "web")
    with pytest.raises(UserError, match="is pend: cannot reboot \\(needs runn\\)"):
        actions.reboot(store, vid)


def test_poweroff_keeps_the_guest_and_its_place_and_resume_boots_it(
        store: Store, engine: Engine, tmp_path: Path) -> None:
    vid = _running(store, engine, tmp_path)
    host_id = store.vms.get(vid).host_id or 0
    actions.poweroff(store, vid)
    engine.run_pass()  # ACPI asked; the test driver's guest goes off at once
    engine.run_pass()
    vm = store.vms.get(vid)
    assert (vm.state, vm.vm_state, vm.host_id) == ("poff", "POWEROFF", host_id)
    (dom,) = _domains(engine, host_id)
    assert dom.isPersistent() and not dom.isActive()  # defined, disks and all, but off
    assert store.hosts.get(host_id).monitor["ACPU"] == 700  # its CPU stays reserved
    actions.resume(store, vid)
    engine.run_pass()
    engine.run_pass()
    assert store.vms.get(vid).state == "runn" and dom.isActive()
    # the hard way is at once, and a powered-off VM can be deleted for good
    actions.poweroff(store, vid, hard=True)
    engine.run_pass()
    assert store.vms.get(vid).state == "poff" and not dom.isActive()
    actions.delete(store, vid)
    engine.run_pass()
    assert store.vms.get(vid).state == "done"
    assert _domains(engine, host_id) == []


def test_deploy_puts_a_pending_vm_on_the_admins_host_past_requirements(
        store: Store, engine: Engine, tmp_path: Path) -> None:
    store.hosts.add("ursa03", "libvirt", {"uri": node(tmp_path, "ursa03", 8, 16)})
    store.hosts.add("ursa04", "libvirt", {"uri": node(tmp_path, "ursa04", 8, 16)})
    store.templates.add("web", LOCAL + 'REQUIREMENTS = "HOSTNAME = \\"ursa03\\""\n')
    held, pending = instantiate.create(store, "web", count=2, name="w%i", hold=True)
    store.vms.transition(pending, "pend", expect={"hold"})
    assert actions.deploy(store, pending, "ursa04") == \
        f"VM {pending}: deploy on ursa04 requested"
    assert actions.deploy(store, held, "ursa04") == f"VM {held}: deploy on ursa04 requested"
    engine.run_pass()
    for vid in (held, pending):
        vm = store.vms.get(vid)
        assert (vm.state, vm.host_name, vm.intent) == ("runn", "ursa04", "")
    assert "deployed there by the admin" in _events(store, pending)[-1] or \
        any("placed on ursa04" in e for e in _events(store, pending))


def test_a_vm_deployed_to_a_full_host_waits_and_says_so(store: Store, engine: Engine,
                                                         tmp_path: Path) -> None:
    store.hosts.add("ursa03", "libvirt", {"uri": node(tmp_path, "ursa03", 8, 16)})
    store.hosts.add("tiny", "libvirt", {"uri": node(tmp_path, "tiny", 1, 0)})
    store.templates.add("web", LOCAL)
    (vid,) = instantiate.create(store, "web", host="tiny")
    engine.run_pass()
    vm = store.vms.get(vid)
    assert vm.state == "pend"
    reasons = {r["host"]: r["reason"] for r in vm.sched}
    assert reasons["ursa03"].startswith("deployed by the admin to host")
    assert reasons["tiny"].startswith("not enough memory")


def test_create_with_host_places_every_vm_there(store: Store, engine: Engine,
                                                tmp_path: Path) -> None:
    store.hosts.add("ursa03", "libvirt", {"uri": node(tmp_path, "ursa03", 8, 16)})
    store.hosts.add("ursa04", "libvirt", {"uri": node(tmp_path, "ursa04", 8, 16)})
    store.templates.add("web", LOCAL)
    ids = instantiate.create(store, "web", count=3, name="w%i", host="ursa04",
                             overrides={"CPU": "0.5", "MEMORY": "256"})
    engine.run_pass()
    vms = store.vms.by_ids(ids)
    assert {(v.state, v.host_name, v.cpu, v.memory) for v in vms} == \
        {("runn", "ursa04", 0.5, 256)}
    with pytest.raises(UserError, match="no host"):
        instantiate.create(store, "web", host="nosuch")


def test_migrate_the_test_driver_refuses_and_the_vm_stays(store: Store, engine: Engine,
                                                          tmp_path: Path) -> None:
    vid = _running(store, engine, tmp_path, hosts=2)
    source = store.vms.get(vid)
    assert actions.migrate(store, vid, "ursa04", live=True) == \
        f"VM {vid}: migrate --live to ursa04 requested"
    engine.run_pass()
    vm = store.vms.get(vid)
    assert (vm.state, vm.host_id, vm.intent) == ("runn", source.host_id, "")
    assert "migrate --live failed: this function is not supported by the connection driver" \
        in vm.message
    (dom,) = _domains(engine, source.host_id or 0)
    assert dom.state()[0] == libvirt.VIR_DOMAIN_RUNNING
    with pytest.raises(Conflict, match="runs on ursa03 already"):
        actions.migrate(store, vid, "ursa03")


def test_migrate_between_kinds_is_refused_before_anything_is_asked(
        store: Store, engine: Engine, tmp_path: Path) -> None:
    vid = _running(store, engine, tmp_path)
    store.hosts.add("ec2", "ec2", {"region": "us-east-1"})
    with pytest.raises(Conflict, match="only libvirt hosts migrate guests"):
        actions.migrate(store, vid, "ec2")
    assert store.vms.get(vid).intent == ""


def test_resched_without_another_host_says_why_and_stays(store: Store, engine: Engine,
                                                         tmp_path: Path) -> None:
    vid = _running(store, engine, tmp_path)
    actions.resched(store, vid)
    engine.run_pass()
    vm = store.vms.get(vid)
    assert (vm.state, vm.host_name, vm.intent) == ("runn", "ursa03", "")
    assert vm.message == "resched: no other host can take it: no hosts"
    store.hosts.add("ursa04", "libvirt", {"uri": node(tmp_path, "ursa04", 8, 16)})
    engine.run_pass()
    actions.resched(store, vid)
    engine.run_pass()  # the scheduler picks ursa04; the test driver cannot migrate
    vm = store.vms.get(vid)
    assert (vm.state, vm.host_name) == ("runn", "ursa03")
    assert "resched failed: this function is not supported" in vm.message
