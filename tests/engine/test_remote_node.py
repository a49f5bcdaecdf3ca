"""Real guests on a second hypervisor node reached over SSH: the engine drives the node's
own libvirtd through libvirt's SSH transport, with the node's host key pinned by onetui
(`onetui ssh trust --known-hosts`), the per-VM overlay made in the node's storage pool, the
serial console read on the node over SSH, HTTP over the route to the node. And the node
going away (its sshd stopped, its link down) and coming back by itself.

Needs the virt and node test beds (scripts/testbed/virt.sh install guest; node.sh up),
which the test command starts; elsewhere these tests skip and say why.
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import libvirt
import pytest

from onetui.drivers.virt import connect_uri
from onetui.engine.loop import Engine
from onetui.ops import instantiate
from onetui.ops import vm_actions as actions
from onetui.remote.hostkeys import pinned_keys
from onetui.remote.ssh import Connection, resolve
from onetui.store import Store
from tests.beds.node import Node
from tests.conftest import ROOT, env_with_state
from tests.engine.test_qemu import wait_for

pytestmark = pytest.mark.qemu


def pin(state_dir: Path, node: Node) -> Path:
    """The node's host key pinned the way an admin does it: `onetui ssh trust`, into the
    known_hosts file next to onetui's store."""
    known = pinned_keys(state_dir).path
    out = subprocess.run(
        [sys.executable, "-m", "onetui", "ssh", "trust", node.addr, "--known-hosts",
         str(known), "--yes"], env=env_with_state(state_dir), cwd=ROOT,
        capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    kind, data = Path(node.host_key).read_text().split()[:2]
    assert pinned_keys(state_dir).get(node.addr, 22) == [(kind, data)]
    return known


def node_template(tmp_path: Path, node: Node, name: str, port: int) -> tuple[Path, str]:
    """The test guest as the node sees it: kernel, initrd and master disk in the node's
    image directory, the serial console logged on the node, HTTP forwarded from the node's
    address (reachable from here over the route to the node)."""
    log = f"/var/log/libvirt/qemu/{name}-serial.log"  # on the node
    raw = (f"<devices><serial type='file'><source path='{log}'/></serial>"
           "<memballoon model='none'/></devices><qemu:commandline>"
           "<qemu:arg value='-netdev'/>"
           f"<qemu:arg value='user,id=hn0,hostfwd=tcp:{node.addr}:{port}-:80'/>"
           "<qemu:arg value='-device'/><qemu:arg value='e1000,netdev=hn0,bus=pci.0,addr=0x10'/>"
           "</qemu:commandline>")
    tpl = tmp_path / f"{name}.template"
    tpl.write_text(
        f"NAME = {name}\nCPU = 1\nMEMORY = 192\n"
        f'OS = [ kernel = "{node.images}/vmlinuz", initrd = "{node.images}/initrd.img",\n'
        f'       kernel_cmd = "console=ttyS0 hostname={name} quiet panic=-1", machine = pc ]\n'
        f'DISK = [ source = "{node.images}/disk.qcow2", target = vda, clone = overlay ]\n'
        f'RAW = [ type = qemu, data = "{raw}" ]\n')
    return tpl, log


@pytest.fixture
def on_node(remote_node: Node, store: Store, state_dir: Path) -> Iterator[tuple[Node, Path]]:
    """The node added as host `node1` (its key pinned first); the node is brought back
    whatever a test did to it."""
    known = pin(state_dir, remote_node)
    store.hosts.add("node1", "libvirt", {"uri": remote_node.uri(known, no_verify="0"),
                                         "domain_type": "qemu"})
    try:
        yield remote_node, known
    finally:
        remote_node.script("up")


def test_a_real_guest_boots_on_the_remote_node_serves_and_shuts_down(
        on_node: tuple[Node, Path], store: Store, tmp_path: Path) -> None:
    node, known = on_node
    tpl, log = node_template(tmp_path, node, "far1", 8081)
    (vid,) = instantiate.create(store, str(tpl))
    engine = Engine(store)
    ssh = Connection(resolve(node.addr, user="root", key_file=node.key,
                             known_hosts=(str(known),)))
    nodeconn = libvirt.open(connect_uri(node.uri(known)))
    try:
        assert engine.lead()
        started = time.monotonic()
        engine.run_pass()
        vm = store.vms.get(vid)
        assert (vm.state, vm.host_name) == ("runn", "node1")
        assert store.hosts.get("node1").stat == "on"
        # the domain is the node's, its overlay in the node's pool; the front-end has neither
        dom = nodeconn.lookupByUUIDString(vm.deploy_id)
        assert dom.isActive() and dom.name() == f"one-{vid}"
        overlay = nodeconn.storagePoolLookupByName(node.pool).storageVolLookupByName(
            f"one-{vid}-disk0")
        assert overlay.path() == f"{node.images}/one-{vid}-disk0"
        assert overlay.path() in dom.XMLDesc()
        assert not Path(overlay.path()).exists()  # not on this machine: only on the node

        # the serial console lives on the node: read there, over SSH with the pinned key
        def console() -> str:
            return ssh.run(["cat", log]).out
        wait_for("the guest's boot marker on the node", lambda: "ONETUI-GUEST-UP" in console(),
                 timeout=180)
        print(f"\nboot to marker on the remote node: {time.monotonic() - started:.1f} s")
        assert "hostname=far1" in console() and "disk=master" in console()
        # and the engine reads the console libvirt logs for the domain on the node the
        # same way (over its own SSH connection to the node), as labs need for host keys
        assert "ONETUI-GUEST-UP hostname=far1" in engine.console(store.vms.get(vid))
        page = urllib.request.urlopen(f"http://{node.addr}:8081/", timeout=10).read().decode()
        assert page.strip() == "onetui guest far1 disk=master"

        actions.shutdown(store, vid)
        wait_for("ACPI shutdown", lambda: store.vms.get(vid).state == "done",
                 timeout=120, step=engine.run_pass)
        with pytest.raises(libvirt.libvirtError):
            nodeconn.lookupByUUIDString(vm.deploy_id)
        pool = nodeconn.storagePoolLookupByName(node.pool)
        pool.refresh(0)
        assert f"one-{vid}-disk0" not in [v.name() for v in pool.listAllVolumes()]
    finally:
        if store.vms.get(vid).state != "done":
            actions.delete(store, vid)
        engine.run_pass()
        engine.close()
        ssh.close()
        nodeconn.close()


@pytest.mark.parametrize("outage", ["stop-sshd", "link-down"])
def test_the_node_going_away_marks_it_err_and_it_comes_back_by_itself(
        on_node: tuple[Node, Path], store: Store, tmp_path: Path, outage: str) -> None:
    node, _known = on_node
    tpl, _ = node_template(tmp_path, node, "far2", 8082)
    (vid,) = instantiate.create(store, str(tpl))
    engine = Engine(store)
    try:
        assert engine.lead()
        engine.run_pass()
        assert store.vms.get(vid).state == "runn"

        node.script(outage)  # the guest's QEMU on the node lives on
        # err with libvirt's reason, naming the node (a call that merely hangs would say
        # "no answer in 15 s" and never more)
        wait_for("the node to be seen gone", lambda: store.hosts.get("node1").stat == "err"
                 and node.addr in store.hosts.get("node1").error,
                 timeout=90, step=engine.run_pass)
        print(f"\n{outage}: node1 err: {store.hosts.get('node1').error}")
        assert store.vms.get(vid).state == "unkn"
        events = [e.message for e in store.events.recent(kind="vm", obj_id=vid)]
        assert any("host node1 unreachable" in m for m in events)

        node.script("up")  # the node returns; nobody touches onetui
        wait_for("the VM to be seen running again", lambda: store.vms.get(vid).state == "runn",
                 timeout=90, step=engine.run_pass)
        assert store.hosts.get("node1").stat == "on"
        events = [e.message for e in store.events.recent(kind="vm", obj_id=vid)]
        assert any("unkn → runn (host node1 reachable again)" in m for m in events)
    finally:
        node.script("up")
        actions.delete(store, vid)
        engine.run_pass()
        engine.close()


def test_a_node_whose_key_is_not_pinned_is_err_with_how_to_pin_it(
        remote_node: Node, store: Store, state_dir: Path) -> None:
    known = state_dir / "empty_known_hosts"
    state_dir.mkdir(parents=True, exist_ok=True)
    known.write_text("")
    store.hosts.add("node1", "libvirt", {"uri": remote_node.uri(known), "domain_type": "qemu"})
    engine = Engine(store)
    try:
        assert engine.lead()
        engine.run_pass()
        host = store.hosts.get("node1")
        assert host.stat == "err"
        assert (f"the host key of {remote_node.addr} is not pinned in {known}" in host.error
                and f"onetui ssh trust {remote_node.addr} --known-hosts {known}" in host.error)
        assert known.read_text() == ""  # nothing was added behind the admin's back
    finally:
        engine.close()
