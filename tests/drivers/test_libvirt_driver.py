"""The libvirt driver against libvirt's own test driver: the XML libvirt really holds."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import libvirt
import pytest

from onetui.data import TEMPLATES, node_uri
from onetui.drivers.base import (
    GUEST_OFF,
    GUEST_PAUSED,
    GUEST_RUNNING,
    DriverError,
    HostUnreachable,
    Placement,
)
from onetui.drivers.domxml import QEMU_NS, build_domain_xml
from onetui.drivers.virt import LibvirtDriver
from onetui.template import load, parse


@pytest.fixture
def driver():
    d = LibvirtDriver(node_uri("ursa04"))  # a private 4-CPU, 8 GiB node per connection
    yield d
    d.close()


def placement(tpl_text_or_file: str | Path, vm_id: int = 1, name: str = "vm") -> Placement:
    path = Path(tpl_text_or_file)
    tpl = load(path) if path.suffix != ".txt" and path.exists() else parse(str(tpl_text_or_file))
    return Placement(vm_id, name, tpl, str(uuid.uuid4()))


def held_xml(driver: LibvirtDriver, deploy_id: str) -> ET.Element:
    return ET.fromstring(driver.conn.lookupByUUIDString(deploy_id).XMLDesc())


def test_sgehost01_as_libvirt_holds_it(driver: LibvirtDriver) -> None:
    p = placement(TEMPLATES / "sgehost01.template", 5, "sgehost01")
    did = driver.deploy(p)
    dom = held_xml(driver, did)
    assert did == p.identity == dom.findtext("uuid")
    assert dom.findtext("name") == "one-5" and dom.findtext("title") == "sgehost01"
    assert dom.findtext("memory") == str(64 * 1024)  # KiB
    assert dom.findtext("vcpu") == "1"
    assert dom.findtext("os/kernel") == "/boot/vmlinuz-2.6.18-4-xen-amd64"
    assert dom.findtext("os/initrd") == "/boot/initrd.img-2.6.18-4-xen-amd64"
    assert dom.findtext("os/cmdline") == "root=/dev/sda1"
    assert dom.find("os/boot").get("dev") == "hd"
    disks = dom.findall("devices/disk")
    assert [(d.find("source").get("file"), d.find("target").get("dev")) for d in disks] == [
        ("/local/xen/domains/xen/domains/sgehost/disk.img", "sda"),
        ("/local/xen/domains/xen/domains/sgehost/swap.img", "sdb")]
    assert all(d.find("readonly") is None for d in disks)
    assert dom.find("devices/interface/mac").get("address") == "00:16:3e:01:01:03"


@pytest.mark.parametrize("name", ["xen.local01", "xen.loadbalancer"])
def test_web_tier_templates(driver: LibvirtDriver, name: str) -> None:
    p = placement(TEMPLATES / name, 2, name)
    dom = held_xml(driver, driver.deploy(p))
    assert dom.findtext("memory") == str(128 * 1024)
    assert dom.findtext("vcpu") == "1"  # CPU = 0.5 is a share of one vcpu
    assert dom.findtext("cputune/shares") == "512"
    assert dom.findtext("os/cmdline") == "root=/dev/sda1"
    (disk,) = dom.findall("devices/disk")
    source = "/images/local01.disk" if name == "xen.local01" else "/images/loadbalancer.disk"
    assert disk.find("source").get("file") == source
    assert disk.find("target").get("dev") == "sda"


def test_life_cycle_and_crash_safe_deploy(driver: LibvirtDriver) -> None:
    p = placement(TEMPLATES / "xen.local01")
    did = driver.deploy(p)
    assert driver.guests()[did].state == GUEST_RUNNING
    assert driver.deploy(p) == did  # deploying again adopts, never duplicates
    assert len([d for d in driver.conn.listAllDomains() if d.UUIDString() == did]) == 1
    assert driver.find(p) == did
    driver.suspend(did)
    assert driver.guests()[did].state == GUEST_PAUSED
    driver.resume(did)
    driver.shutdown(did)
    assert driver.guests()[did].state == GUEST_OFF
    driver.cancel(did)
    assert did not in driver.guests()
    assert driver.find(p) is None
    driver.cancel(did)  # gone already: no error


def test_monitor_counts_foreign_guests(tmp_path: Path) -> None:
    node = tmp_path / "busy.xml"
    node.write_text(
        "<node><cpu><mhz>2400</mhz><model>x86_64</model><active>4</active><nodes>1</nodes>"
        "<sockets>1</sockets><cores>4</cores><threads>1</threads></cpu>"
        "<memory>8388608</memory>"
        "<domain type='test'><name>admin-vm</name><memory unit='GiB'>2</memory>"
        "<vcpu>2</vcpu><os><type arch='x86_64'>hvm</type></os></domain></node>")
    d = LibvirtDriver(f"test://{node}")
    info = d.monitor()
    assert (info.tcpu, info.tmem, info.hypervisor) == (400, 8192, "TEST")
    assert (info.foreign_cpu, info.foreign_mem, info.fcpu, info.fmem) == (200, 2048, 200, 6144)
    assert d.guests() == {}  # the admin's own domain is not ours
    d.deploy(placement(TEMPLATES / "xen.local01"))
    info = d.monitor()
    assert (info.foreign_cpu, info.fcpu, info.fmem) == (200, 100, 6144 - 128)
    d.close()


def test_unreachable_hosts_and_bad_values() -> None:
    with pytest.raises(HostUnreachable, match=r"qemu\+tcp://127\.0\.0\.1:1/system"):
        LibvirtDriver("qemu+tcp://127.0.0.1:1/system").monitor()
    d = LibvirtDriver("test:///default")
    with pytest.raises(DriverError, match="MEMORY: expected a positive whole number of MB, "
                                          "found 'lots'"):
        d.deploy(placement("CPU=1\nMEMORY=lots\n"))
    with pytest.raises(DriverError, match="DISK 1 READONLY: expected yes or no, found 'maybe'"):
        d.deploy(placement('MEMORY=64\nDISK=[source=/x, target=vda, readonly=maybe]\n'))
    d.close()


@pytest.mark.parametrize("skip", ["no_verify=1", "known_hosts_verify=auto",
                                  "known_hosts_verify=ignore"])
def test_a_pinned_host_key_cannot_be_skipped_at_the_same_time(skip: str) -> None:
    uri = f"qemu+ssh://root@node1/system?keyfile=/k&known_hosts=/kh&{skip}"
    with pytest.raises(DriverError, match=r"known_hosts= pins the host key, but no_verify / "
                                          r"known_hosts_verify ask not to check it: expected "
                                          r"no_verify=0"):
        LibvirtDriver(uri)


def test_per_vm_copies_and_overlays_are_made_and_removed() -> None:
    d = LibvirtDriver("test:///default")
    pool = d.conn.storagePoolLookupByName("default-pool")
    master = pool.createXML("<volume><name>lab-master.qcow2</name><capacity>1048576"
                            "</capacity><target><format type='qcow2'/></target></volume>", 0)
    p = placement(f'MEMORY=64\nDISK=[source="{master.path()}", target=vda, clone=overlay]\n'
                  f'DISK=[source="{master.path()}", target=vdb, clone=yes]\n'
                  'DISK=[source="/shared/data.img", target=vdc, readonly=yes]\n', 31)
    ready = Placement(p.vm_id, p.name, d.prolog(p), p.identity)
    disks = ready.template.get_all("DISK")
    assert [x.get("SOURCE") for x in disks] == [
        "/default-pool/one-31-disk0", "/default-pool/one-31-disk1", "/shared/data.img"]
    assert disks[0].get("FORMAT") == "qcow2"
    overlay = pool.storageVolLookupByName("one-31-disk0")
    assert ET.fromstring(overlay.XMLDesc()).findtext("backingStore/path") == master.path()
    assert d.prolog(p) == ready.template  # idempotent after a crash
    dom = held_xml(d, d.deploy(ready))
    assert [x.find("source").get("file") for x in dom.findall("devices/disk")][:2] == [
        "/default-pool/one-31-disk0", "/default-pool/one-31-disk1"]
    d.cancel(p.identity)
    d.epilog(p)
    names = [v.name() for v in pool.listAllVolumes()]
    assert "one-31-disk0" not in names and "one-31-disk1" not in names
    assert "lab-master.qcow2" in names
    d.epilog(p)  # twice is fine
    bad = placement('MEMORY=64\nDISK=[source="/nowhere/master.img", clone=yes]\n', 32)
    with pytest.raises(DriverError, match=r"/nowhere/master\.img: not a volume in any libvirt"):
        d.prolog(bad)
    master.delete(0)
    d.close()


def test_raw_sections_are_merged_for_their_domain_type() -> None:
    p = placement('MEMORY=64\nRAW=[type=qemu, data="<devices><watchdog model=\'i6300esb\'/>'
                  "</devices><qemu:commandline><qemu:arg value='-netdev'/>"
                  '</qemu:commandline>"]\nRAW=[type=xen, data="<bootloader>pygrub</bootloader>"]\n')
    dom = ET.fromstring(build_domain_xml(p, domain_type="qemu"))
    assert dom.find("devices/watchdog").get("model") == "i6300esb"
    assert dom.find(f"{{{QEMU_NS}}}commandline/{{{QEMU_NS}}}arg").get("value") == "-netdev"
    assert dom.find("bootloader") is None
    assert dom.find("devices/serial").get("type") == "pty"
    broken = placement('MEMORY=64\nRAW=[data="<devices>"]\n')
    with pytest.raises(DriverError, match="RAW DATA: not valid XML"):
        build_domain_xml(broken, domain_type="qemu")


def test_values_are_escaped_not_pasted() -> None:
    p = placement('MEMORY=64\nDISK=[source="/a/b\'><evil/>.img", target=vda]\n', name="x<y")
    dom = ET.fromstring(build_domain_xml(p, domain_type="test"))
    assert dom.find("devices/disk/source").get("file") == "/a/b'><evil/>.img"
    assert dom.find("evil") is None and dom.findtext("title") == "x<y"
    assert libvirt.getVersion() > 0
