"""Real guests: the engine boots a tiny Linux under libvirtd + QEMU (software emulation)
through the same driver, and the guest answers over a 127.0.0.1 port forward.

Needs the virt test bed (scripts/testbed/virt.sh install guest up), which the test command
starts; elsewhere these tests skip and say why.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import libvirt
import pytest

from onetui.engine.loop import Engine
from onetui.ops import instantiate
from onetui.ops import vm_actions as actions
from onetui.store import Store
from tests.beds.virt import GUEST, POOL, TESTBED
from tests.conftest import ROOT

pytestmark = pytest.mark.qemu


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def guest_template(tmp_path: Path, name: str, port: int) -> tuple[Path, Path]:
    """A template for the test guest: its master disk as a per-VM qcow2 overlay, its serial
    console in a log file, and HTTP forwarded from 127.0.0.1:port (RAW, as an admin would)."""
    log = tmp_path / f"{name}-serial.log"
    raw = (f"<devices><serial type='file'><source path='{log}'/></serial>"
           "<memballoon model='none'/></devices><qemu:commandline>"
           "<qemu:arg value='-netdev'/>"
           f"<qemu:arg value='user,id=hn0,hostfwd=tcp:127.0.0.1:{port}-:80'/>"
           "<qemu:arg value='-device'/><qemu:arg value='e1000,netdev=hn0,bus=pci.0,addr=0x10'/>"
           "</qemu:commandline>")
    tpl = tmp_path / f"{name}.template"
    tpl.write_text(
        f"NAME = {name}\nCPU = 1\nMEMORY = 192\n"
        f'OS = [ kernel = "{GUEST}/vmlinuz", initrd = "{GUEST}/initrd.img",\n'
        f'       kernel_cmd = "console=ttyS0 hostname={name} quiet panic=-1", machine = pc ]\n'
        f'DISK = [ source = "{GUEST}/disk.qcow2", target = vda, clone = overlay ]\n'
        f'RAW = [ type = qemu, data = "{raw}" ]\n')
    return tpl, log


def wait_for(what: str, check: Callable[[], bool], timeout: float = 120,
             step: Callable[[], object] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        if step:
            step()
        time.sleep(0.3)


def test_a_real_guest_boots_serves_and_shuts_down(qemu: libvirt.virConnect, store: Store,
                                                  tmp_path: Path) -> None:
    store.hosts.add("kvm1", "libvirt", {"uri": "qemu:///system", "domain_type": "qemu"})
    port = _free_port()
    tpl, log = guest_template(tmp_path, "web1", port)
    (vid,) = instantiate.create(store, str(tpl))
    engine = Engine(store)
    try:
        assert engine.lead()
        engine.run_pass()
        vm = store.vms.get(vid)
        assert (vm.state, vm.host_name) == ("runn", "kvm1")
        dom = qemu.lookupByUUIDString(vm.deploy_id)
        assert dom.isActive() and dom.name() == f"one-{vid}"
        overlay = qemu.storagePoolLookupByName(POOL).storageVolLookupByName(f"one-{vid}-disk0")
        assert overlay.path() in dom.XMLDesc()

        wait_for("the guest's boot marker",
                 lambda: "ONETUI-GUEST-UP" in (log.read_text(errors="replace")
                                               if log.exists() else ""))
        # the per-VM overlay shows the master's contents, and the guest answers on its port
        assert "disk=master" in log.read_text(errors="replace")
        page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10).read().decode()
        assert page.strip() == "onetui guest web1 disk=master"

        actions.shutdown(store, vid)
        wait_for("ACPI shutdown", lambda: store.vms.get(vid).state == "done",
                 timeout=90, step=engine.run_pass)
        with pytest.raises(libvirt.libvirtError):
            qemu.lookupByUUIDString(vm.deploy_id)
        pool = qemu.storagePoolLookupByName(POOL)
        pool.refresh(0)
        assert f"one-{vid}-disk0" not in [v.name() for v in pool.listAllVolumes()]
        messages = [e.message for e in store.events.recent(kind="vm", obj_id=vid)]
        assert any("runn → shut" in m for m in messages)
        assert any("shut → done" in m for m in messages)
    finally:
        if store.vms.get(vid).state != "done":
            actions.delete(store, vid)
        engine.run_pass()
        engine.close()


def test_vms_go_unknown_while_libvirtd_is_down_and_come_back(qemu: libvirt.virConnect,
                                                             store: Store,
                                                             tmp_path: Path) -> None:
    store.hosts.add("kvm1", "libvirt", {"uri": "qemu:///system", "domain_type": "qemu"})
    tpl, _ = guest_template(tmp_path, "db1", _free_port())
    (vid,) = instantiate.create(store, str(tpl))
    engine = Engine(store)
    pidfile = TESTBED / "libvirtd.pid"
    try:
        assert engine.lead()
        engine.run_pass()
        assert store.vms.get(vid).state == "runn"
        os.kill(int(pidfile.read_text()), signal.SIGTERM)  # the guest's QEMU lives on
        wait_for("libvirtd to stop", lambda: subprocess.run(
            ["virsh", "-q", "-c", "qemu:///system", "version"], capture_output=True
        ).returncode != 0, timeout=30)
        engine.run_pass()
        host = store.hosts.get("kvm1")
        assert host.stat == "err" and host.error
        assert store.vms.get(vid).state == "unkn"
        subprocess.run(["bash", str(ROOT / "scripts/testbed/virt.sh"), "up"], check=True,
                       capture_output=True)
        wait_for("the VM to be seen running again", lambda: store.vms.get(vid).state == "runn",
                 timeout=60, step=engine.run_pass)
        assert store.hosts.get("kvm1").stat == "on"
        events = [e.message for e in store.events.recent(kind="vm", obj_id=vid)]
        assert any("unkn → runn (host kvm1 reachable again)" in m for m in events)
    finally:
        subprocess.run(["bash", str(ROOT / "scripts/testbed/virt.sh"), "up"],
                       capture_output=True)
        actions.delete(store, vid)
        engine.run_pass()
        engine.close()

