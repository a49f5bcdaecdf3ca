"""A lab whose seats run on the remote hypervisor node: the seats' addresses are on the
node's own loopback (QEMU forwards their SSH there), so only the node reaches them. onetui
reads each seat's host key from its serial console log on the node (over SSH to the node),
pins it, makes the accounts through the node (ProxyJump) and checks the logins; a student's
client, going through the node too, logs in with the handed-out password.

Needs the virt and node test beds; elsewhere it skips and says why.
"""

from __future__ import annotations

import socket
from pathlib import Path

import paramiko
import pytest

from onetui.ops import labs
from onetui.remote.hostkeys import pinned_keys
from onetui.runtime.compose import build_engine
from onetui.store import Store
from onetui.view import handout
from tests.beds.cli import onetui
from tests.beds.node import Node
from tests.engine.test_remote_node import pin
from tests.managers.test_labs_qemu import ADMIN_KEY, run_until


def seat_template(node: Node) -> str:
    return ("NAME = linux-master\nCPU = 0.5\nMEMORY = 192\n"
            f'OS = [ kernel = "{node.images}/vmlinuz", initrd = "{node.images}/initrd.img",\n'
            '       kernel_cmd = "console=ttyS0 quiet panic=-1", machine = pc ]\n'
            f'DISK = [ source = "{node.images}/lab.qcow2", target = vda, clone = overlay ]\n'
            'NIC = [ NETWORK = "nodenet", HOSTFWD = "2200-:22" ]\n')


def login_via(node: Node, known: Path, seat: dict, password: str) -> str:
    """A student's login through the node, as `ssh -J root@NODE -p 2200 USER@SEAT` makes
    it: both host keys checked against the pinned file, the seat's with the password only."""
    jump = paramiko.SSHClient()
    jump.load_host_keys(str(known))
    jump.set_missing_host_key_policy(paramiko.RejectPolicy())
    client = paramiko.SSHClient()
    client.load_host_keys(str(known))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    try:
        jump.connect(node.addr, 22, "root", key_filename=node.key, look_for_keys=False,
                     allow_agent=False, timeout=20)
        transport = jump.get_transport()
        assert transport is not None
        channel = transport.open_channel("direct-tcpip", (seat["ip"], seat["port"]),
                                         ("127.0.0.1", 0))
        client.connect(seat["ip"], seat["port"], seat["user"], password=password, sock=channel,
                       look_for_keys=False, allow_agent=False, timeout=20)
        _, out, _ = client.exec_command("id -un; hostname")
        return out.read().decode()
    finally:
        client.close()
        jump.close()


@pytest.mark.skipif(not ADMIN_KEY.exists(),
                    reason="no lab admin key: run scripts/testbed/virt.sh guest")
def test_a_lab_on_the_remote_node_hands_out_logins_that_work_through_it(
        remote_node: Node, store: Store, state_dir: Path) -> None:
    node = remote_node
    known = pin(state_dir, node)  # the node's key and, later, the seats' in one file
    store.hosts.add("node1", "libvirt", {"uri": node.uri(known), "domain_type": "qemu"})
    store.networks.add("nodenet", "127.0.4.10", "127.0.4.30")
    store.templates.add("linux-master", seat_template(node))
    engine = build_engine(store, {})
    assert engine.lead()
    try:
        engine.run_pass()  # the node is monitored: the lab's capacity check needs it
        assert store.hosts.get("node1").stat == "on"
        lab = labs.create(store, labs.LabSpec("far", "linux-master", 2,
                                              admin_key=str(ADMIN_KEY), ssh_timeout=240))
        run_until(engine, store, "both seats ready",
                  lambda: [s.state for s in store.labs.seats(lab.id)] == ["ready"] * 2,
                  timeout=420)
        rows = handout.seat_rows(store, store.labs.get("far"), passwords=True)
        assert [r["ip"] for r in rows] == ["127.0.4.10", "127.0.4.11"]
        assert all(store.vms.get(r["vm_id"]).host_name == "node1" for r in rows)

        # the seats' keys were read from their consoles on the node: one each, pinned
        pinned = pinned_keys(store.path.parent)
        keys = [tuple(pinned.get(r["ip"], 2200)) for r in rows]
        assert all(keys) and len(set(keys)) == 2

        # only the node reaches the seats
        for r in rows:
            with pytest.raises(OSError):
                socket.create_connection((r["ip"], r["port"]), timeout=5).close()
        # a student's login through the node: the handed-out password works, another not
        for r in rows:
            assert login_via(node, known, r, r["password"]).split()[0] == r["user"]
            with pytest.raises(paramiko.AuthenticationException):
                login_via(node, known, r, r["password"] + "x")
        # the admin's system ssh goes through the node too, both keys checked
        said = onetui("lab", "ssh", "far", "2", "--admin", "--", "id", "-un",
                      state=store.path.parent)
        assert said.stdout.strip() == "root"
        events = " ".join(e.message for e in store.events.recent(200))
        assert "seat 1: ready, student01@127.0.4.10:2200 (login checked)" in events

        labs.destroy(store, "far")
        run_until(engine, store, "the lab gone", lambda: store.labs.list() == [])
        assert known.read_text().split()[0] == node.addr  # the node's own pin stays
    finally:
        for vm in store.vms.list(include_done=False):
            store.vms.update(vm.id, intent="cancel")
        engine.run_pass()
        engine.close()
