"""The engine on libvirt's own test driver: VMs walk their life cycle for real."""

from __future__ import annotations

from pathlib import Path

import libvirt
import pytest

from onetui.drivers.virt import LibvirtDriver
from onetui.engine.loop import Engine
from onetui.engine.placement import identity
from onetui.errors import UserError
from onetui.ops import instantiate
from onetui.ops import vm_actions as actions
from onetui.store import Store

LOCAL = ('CPU = 1\nMEMORY = 512\nOS = [kernel="/boot/vmlinuz", initrd="/boot/initrd", '
         'root="sda1"]\nDISK = [source="/images/local01.disk", target="sda", readonly="no"]\n')

NODE = """<node>
  <cpu><mhz>2400</mhz><model>x86_64</model><active>{cpus}</active><nodes>1</nodes>
  <sockets>1</sockets><cores>{cpus}</cores><threads>1</threads></cpu>
  <memory>{kib}</memory>
  {domains}
</node>"""

FOREIGN = """<domain type='test'><name>foreign</name><memory unit='GiB'>2</memory>
  <vcpu>2</vcpu><os><type arch='x86_64'>hvm</type></os></domain>"""


def node(tmp_path: Path, name: str, cpus: int, gib: int, domains: str = "") -> str:
    path = tmp_path / f"{name}.xml"
    path.write_text(NODE.format(cpus=cpus, kib=gib * 1024 * 1024, domains=domains))
    return f"test://{path}"


@pytest.fixture
def engine(store: Store):
    eng = Engine(store, interval=0.05)
    assert eng.lead()
    yield eng
    eng.close()


def _domains(engine: Engine, host_id: int) -> list[libvirt.virDomain]:
    driver = engine.drivers.host(host_id)
    assert isinstance(driver, LibvirtDriver)
    return [d for d in driver.conn.listAllDomains() if d.name().startswith("one-")]


def test_a_vm_walks_from_pend_to_runn_and_its_domain_is_real(store: Store, engine: Engine,
                                                              tmp_path: Path) -> None:
    host = store.hosts.add("ursa03", "libvirt", {"uri": node(tmp_path, "ursa03", 8, 16)})
    store.templates.add("web", LOCAL)
    (vid,) = instantiate.create(store, "web", name="web-0")
    engine.run_pass()
    vm = store.vms.get(vid)
    assert (vm.state, vm.host_name) == ("runn", "ursa03")
    assert vm.deploy_id == identity(store.store_id, vid)
    (dom,) = _domains(engine, host.id)
    assert dom.UUIDString() == vm.deploy_id and dom.isActive()
    states = [e.message.split(": ", 1)[1] for e in
              reversed(store.events.recent(kind="vm", obj_id=vid)) if "→" in e.message]
    assert [s.split(" (")[0] for s in states] == ["pend → prol", "prol → boot", "boot → runn"]
    mon = store.hosts.get("ursa03").monitor
    assert (mon["TCPU"], mon["ACPU"], mon["TMEM"], mon["RVM"]) == (800, 700, 16384, 1)


def test_shutdown_and_delete_clean_up_the_domain(store: Store, engine: Engine,
                                                 tmp_path: Path) -> None:
    host = store.hosts.add("ursa03", "libvirt", {"uri": node(tmp_path, "ursa03", 8, 16)})
    store.templates.add("web", LOCAL)
    a, b = instantiate.create(store, "web", count=2, name="web-%i")
    engine.run_pass()
    assert len(_domains(engine, host.id)) == 2
    actions.shutdown(store, a)
    actions.delete(store, b)
    engine.run_pass()
    engine.run_pass()
    assert store.vms.get(a).state == "done"
    assert store.vms.get(b).state == "done"
    assert _domains(engine, host.id) == []
    assert store.hosts.get("ursa03").monitor["ACPU"] == 800


def test_why_pending_then_placed_when_a_host_appears(store: Store, engine: Engine,
                                                      tmp_path: Path) -> None:
    store.hosts.add("small", "libvirt", {"uri": node(tmp_path, "small", 2, 1)})
    store.templates.add("big", "CPU = 1\nMEMORY = 4096\n")
    (vid,) = instantiate.create(store, "big")
    engine.run_pass()
    vm = store.vms.get(vid)
    assert vm.state == "pend"
    assert vm.sched == [{"host": "small",
                         "reason": "not enough memory: needs 4096 MB, free 1024 of 1024 MB"}]
    store.hosts.add("large", "libvirt", {"uri": node(tmp_path, "large", 8, 16)})
    engine.run_pass()  # monitors the new host
    engine.run_pass()
    vm = store.vms.get(vid)
    assert (vm.state, vm.host_name) == ("runn", "large")
    assert vm.sched == []


def test_foreign_domains_count_against_capacity(store: Store, engine: Engine,
                                                tmp_path: Path) -> None:
    store.hosts.add("busy", "libvirt",
                    {"uri": node(tmp_path, "busy", 4, 3, domains=FOREIGN)})
    store.templates.add("one", "CPU = 1\nMEMORY = 1536\n")
    (vid,) = instantiate.create(store, "one")
    engine.run_pass()
    mon = store.hosts.get("busy").monitor
    assert (mon["FOREIGN_CPU"], mon["FOREIGN_MEM"]) == (200, 2048)
    vm = store.vms.get(vid)
    assert vm.state == "pend"
    assert "free 1024 of 3072 MB" in vm.sched[0]["reason"]


def test_hold_and_release(store: Store, engine: Engine, tmp_path: Path) -> None:
    store.hosts.add("ursa03", "libvirt", {"uri": node(tmp_path, "ursa03", 8, 16)})
    store.templates.add("web", LOCAL)
    (vid,) = instantiate.create(store, "web", hold=True)
    engine.run_pass()
    engine.run_pass()
    assert store.vms.get(vid).state == "hold"
    actions.release(store, vid)
    engine.run_pass()
    assert store.vms.get(vid).state == "runn"


def test_disabled_host_gets_nothing_new(store: Store, engine: Engine, tmp_path: Path) -> None:
    store.hosts.add("ursa03", "libvirt", {"uri": node(tmp_path, "ursa03", 8, 16)})
    store.hosts.set_enabled("ursa03", False)
    store.templates.add("web", LOCAL)
    (vid,) = instantiate.create(store, "web")
    engine.run_pass()
    vm = store.vms.get(vid)
    assert vm.state == "pend"
    assert vm.sched == [{"host": "ursa03", "reason": "host is disabled"}]


def test_unreachable_host_is_err_and_recovers_by_itself(store: Store, engine: Engine,
                                                        tmp_path: Path) -> None:
    missing = tmp_path / "later.xml"
    store.hosts.add("later", "libvirt", {"uri": f"test://{missing}"})
    engine.run_pass()
    host = store.hosts.get("later")
    assert host.stat == "err"
    assert str(missing) in host.error
    node(tmp_path, "later", 4, 8)
    engine.run_pass()
    host = store.hosts.get("later")
    assert (host.stat, host.error) == ("on", "")


def test_a_half_deployed_vm_is_adopted_not_deployed_twice(store: Store, tmp_path: Path) -> None:
    """The engine died after the domain was made but before `boot` was recorded: the next
    engine finds the domain by its UUID and records it, and no second domain appears."""
    host = store.hosts.add("shared", "libvirt", {"uri": "test:///default"})
    store.templates.add("web", LOCAL)
    (vid,) = instantiate.create(store, "web")
    first = Engine(store)
    assert first.lead()
    first.run_pass()  # monitors; places it (prol) and deploys it
    assert store.vms.get(vid).state == "runn"
    # Rewind the store to the moment before `boot` was committed, as a crash would leave it.
    store.db.conn.execute("UPDATE vms SET state = 'prol', deploy_id = '' WHERE id = ?", (vid,))
    keep = first.drivers.host(host.id).conn  # test:///default lives as long as a connection
    second = Engine(store)
    second.run_pass()
    vm = store.vms.get(vid)
    assert (vm.state, vm.deploy_id) == ("runn", identity(store.store_id, vid))
    doms = [d for d in keep.listAllDomains() if d.UUIDString() == vm.deploy_id]
    assert len(doms) == 1
    actions.delete(store, vid)
    second.run_pass()
    first.close()
    second.close()


def test_suspend_stop_and_resume(store: Store, engine: Engine, tmp_path: Path) -> None:
    host = store.hosts.add("ursa03", "libvirt", {"uri": node(tmp_path, "ursa03", 8, 16)})
    store.templates.add("web", LOCAL)
    (vid,) = instantiate.create(store, "web")
    engine.run_pass()
    actions.suspend(store, vid)
    engine.run_pass()
    assert store.vms.get(vid).state == "susp"
    (dom,) = _domains(engine, host.id)
    assert dom.state()[0] == libvirt.VIR_DOMAIN_PAUSED
    actions.resume(store, vid)
    engine.run_pass()
    assert store.vms.get(vid).state == "runn"
    actions.stop(store, vid)
    engine.run_pass()
    engine.run_pass()
    assert store.vms.get(vid).state == "stop"
    assert dom.hasManagedSaveImage(0) and not dom.isActive()
    assert store.hosts.get("ursa03").monitor["ACPU"] == 800  # a stopped VM frees its host
    actions.resume(store, vid)
    engine.run_pass()
    assert store.vms.get(vid).state == "boot"  # restoring; the next look sees it run
    engine.run_pass()
    assert store.vms.get(vid).state == "runn" and dom.isActive()
    with pytest.raises(UserError, match="is runn: cannot resume"):
        actions.resume(store, vid)


def test_nics_on_onetui_networks_lease_ip_and_mac(store: Store, engine: Engine,
                                                   tmp_path: Path) -> None:
    host = store.hosts.add("ursa03", "libvirt", {"uri": node(tmp_path, "ursa03", 8, 16)})
    store.networks.add("lab", "10.2.0.10", "10.2.0.11", "seat%i", {"bridge": "br-lab"})
    tpl = tmp_path / "seat.template"
    tpl.write_text('CPU = 1\nMEMORY = 256\nNIC = [ NETWORK = "lab", MODEL = "virtio" ]\n')
    a, b, c = instantiate.create(store, str(tpl), count=3, name="seat-%i")
    engine.run_pass()
    vm_a = store.vms.get(a)
    assert (vm_a.state, vm_a.ip, vm_a.mac) == ("runn", "10.2.0.10", "02:00:0a:02:00:0a")
    dom = next(d for d in _domains(engine, host.id) if d.UUIDString() == vm_a.deploy_id)
    xml = dom.XMLDesc()
    assert "02:00:0a:02:00:0a" in xml and "br-lab" in xml and "virtio" in xml
    assert store.vms.get(b).ip == "10.2.0.11"
    vm_c = store.vms.get(c)  # the range has two addresses: the third seat says why
    assert vm_c.state == "fail" and "all 2 addresses are leased" in vm_c.message
    actions.delete(store, a)
    engine.run_pass()
    assert [x.ip for x in store.networks.leases("lab")] == ["10.2.0.11"]
