"""A lab on real guests: three seats boot under libvirtd + QEMU from the test bed's lab
master (busybox + dropbear, the admin's key on its disk), each a qcow2 overlay with its own
leased address. onetui learns each seat's host key from its serial console, makes the
accounts over SSH as the admin, and the handed-out passwords log in (a wrong one does not).
One seat is paused before its SSH server starts: it fails on its own, the others go on.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import libvirt
import paramiko
import pytest

from onetui.engine.loop import Engine
from onetui.ops import labs
from onetui.ops import vm_actions as actions
from onetui.remote.hostkeys import pinned_keys
from onetui.runtime.compose import build_engine
from onetui.store import Store
from onetui.view import handout
from tests.beds.cli import onetui
from tests.beds.virt import GUEST, POOL, TESTBED

ADMIN_KEY = TESTBED / "admin" / "id_ed25519"
SEAT_TEMPLATE = (
    "NAME = linux-master\nCPU = 0.5\nMEMORY = 192\n"
    f'OS = [ kernel = "{GUEST}/vmlinuz", initrd = "{GUEST}/initrd.img",\n'
    '       kernel_cmd = "console=ttyS0 quiet panic=-1", machine = pc ]\n'
    f'DISK = [ source = "{GUEST}/lab.qcow2", target = vda, clone = overlay ]\n'
    'NIC = [ NETWORK = "labnet", HOSTFWD = "2200-:22" ]\n')


def login(seat: dict, password: str, known_hosts: Path) -> str:
    """A student's login, as any SSH client makes it: password only, host key checked."""
    client = paramiko.SSHClient()
    client.load_host_keys(str(known_hosts))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    try:
        client.connect(seat["ip"], seat["port"], seat["user"], password=password,
                       look_for_keys=False, allow_agent=False, timeout=20)
        _, out, _ = client.exec_command("id -un; echo work > ~/mywork; ls ~")
        return out.read().decode()
    finally:
        client.close()


def run_until(engine: Engine, store: Store, what: str, check, timeout: float = 300) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check():
        lab = store.labs.list()
        seats = [(s.seat, s.status, s.vm_id) for s in store.labs.seats()] if lab else []
        assert time.monotonic() < deadline, (
            f"timed out waiting for {what}: seats {seats}; "
            f"{[e.message for e in store.events.recent(8)]}")
        engine.run_pass()
        time.sleep(0.5)


def seat_rows(store: Store) -> list[dict]:
    return handout.seat_rows(store, store.labs.get("os1"), passwords=True)


@pytest.mark.skipif(not ADMIN_KEY.exists(),
                    reason="no lab admin key: run scripts/testbed/virt.sh guest")
def test_a_lab_of_real_seats_hands_out_logins_that_work(qemu, store: Store) -> None:
    store.hosts.add("kvm1", "libvirt", {"uri": "qemu:///system", "domain_type": "qemu"})
    store.networks.add("labnet", "127.0.3.10", "127.0.3.30")
    store.templates.add("linux-master", SEAT_TEMPLATE)
    engine = build_engine(store, {})
    assert engine.lead()
    known = pinned_keys(store.path.parent).path
    try:
        engine.run_pass()  # the host is monitored: the lab's capacity check needs it
        lab = labs.create(store, labs.LabSpec("os1", "linux-master", 3, admin_key=str(ADMIN_KEY),
                                              ssh_timeout=100))
        seats = {s.seat: s for s in store.labs.seats(lab.id)}
        assert [s.ip for s in seats.values()] == ["127.0.3.10", "127.0.3.11", "127.0.3.12"]
        assert {s.port for s in seats.values()} == {2200}

        # seat 3 hangs (paused) before its SSH server starts: it must fail alone
        run_until(engine, store, "seat 3 running",
                  lambda: store.vms.get(seats[3].vm_id).state == "runn")
        actions.suspend(store, seats[3].vm_id)
        run_until(engine, store, "seats 1 and 2 ready",
                  lambda: [s.state for s in store.labs.seats(lab.id)][:2] == ["ready"] * 2)

        rows = seat_rows(store)
        for row in rows[:2]:
            assert login(row, row["password"], known).split()[0] == row["user"]
            with pytest.raises(paramiko.AuthenticationException):
                login(row, row["password"] + "x", known)
        # the system ssh, as the admin, trusts exactly the key pinned from the console
        said = onetui("lab", "ssh", "os1", "2", "--admin", "--", "id", "-un",
                      state=store.path.parent)
        assert said.stdout.strip() == "root"
        # each seat has its own host key, learned from its own console
        pinned = pinned_keys(store.path.parent)
        assert len({tuple(pinned.get(r["ip"], 2200)) for r in rows[:2]}) == 2
        # the MAC comes from the address (OpenNebula's rule), so no two seats share one
        assert [r["mac"] for r in rows] == ["02:00:7f:00:03:0a", "02:00:7f:00:03:0b",
                                            "02:00:7f:00:03:0c"]

        # a new password for seat 2: set on the guest and checked; the old one stops working
        old2 = rows[1]["password"]
        labs.reset_password(store, "os1", "2")
        run_until(engine, store, "seat 2 ready again",
                  lambda: store.labs.seat(lab.id, 2).state == "ready")
        new2 = store.labs.password(lab.id, 2)
        assert new2 != old2
        assert login(rows[1], new2, known).split()[0] == "student02"
        with pytest.raises(paramiko.AuthenticationException):
            login(rows[1], old2, known)

        # seat 1 back to the master disk: same address and login, the student's file gone
        assert "mywork" in login(rows[0], rows[0]["password"], known)
        old_vm = rows[0]["vm_id"]
        labs.reset_seat(store, "os1", "1")
        run_until(engine, store, "seat 1 ready after its reset",
                  lambda: store.labs.seat(lab.id, 1).state == "ready"
                  and store.vms.get(old_vm).state == "done")
        first_ls = login(rows[0], rows[0]["password"], known)  # this login writes it anew
        assert first_ls.split()[0] == "student01" and store.labs.seat(lab.id, 1).vm_id != old_vm
        assert f"one-{old_vm}-disk0" not in [v.name() for v in _volumes(qemu)]

        # an account on the seat that onetui did not make is never touched: the guest's
        # own words fail the seat
        other = labs.create(store, labs.LabSpec("os2", "linux-master", 1, user="daemon",
                                                admin_key=str(ADMIN_KEY)))
        run_until(engine, store, "the seat of os2 to fail",
                  lambda: store.labs.seat(other.id, 1).state == "failed")
        assert store.labs.seat(other.id, 1).message == (
            "creating account daemon: user daemon exists on the seat and was not made by "
            "onetui (uid 1); refusing to change its password")

        run_until(engine, store, "seat 3 to fail",
                  lambda: store.labs.seat(lab.id, 3).state == "failed")
        assert store.labs.seat(lab.id, 3).message.startswith("no SSH after 100 s")

        # no password ever reaches the event log or the store file in clear
        secrets = [r["password"] for r in seat_rows(store)] + [old2]
        events = " ".join(e.message for e in store.events.recent(1000))
        assert not any(p in events for p in secrets)
        data = store.path.read_bytes() + Path(f"{store.path}-wal").read_bytes()
        assert not any(p.encode() in data for p in secrets)
        assert os.stat(store.path.parent / "secrets.key").st_mode & 0o777 == 0o600

        # destroy: every VM, disk and lease goes; destroying twice is no error
        vm_ids = [s.vm_id for s in store.labs.seats(lab.id)]
        labs.destroy(store, "os1")
        labs.destroy(store, "os2")
        run_until(engine, store, "the labs gone", lambda: store.labs.list() == [])
        assert all(store.vms.get(v).state == "done" for v in vm_ids)
        assert store.networks.leases("labnet") == []
        assert not any(v.name().startswith(tuple(f"one-{i}-" for i in vm_ids))
                       for v in _volumes(qemu))
        assert known.read_text().strip() == ""
        assert "destroyed already" in labs.destroy(store, "os1")
    finally:
        for vm in store.vms.list(include_done=False):
            store.vms.update(vm.id, intent="cancel")
        engine.run_pass()
        engine.close()


def _volumes(conn: libvirt.virConnect) -> list[libvirt.virStorageVol]:
    pool = conn.storagePoolLookupByName(POOL)
    pool.refresh(0)
    return pool.listAllVolumes()
