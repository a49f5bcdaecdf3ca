"""Labs on libvirt's test driver: what `lab create` makes and refuses, the seat life cycle
up to the SSH wait (nothing answers SSH on a test-driver guest), hand-outs, resets, expiry
and destroy. The real-guest path (accounts made and logged into) is in test_lab_qemu.py."""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from pathlib import Path

import pytest

from onetui.engine.loop import Engine
from onetui.errors import UserError
from onetui.integrations.accounts import make_account
from onetui.ops import labs
from onetui.ops.passwords import ALPHABET
from onetui.runtime.compose import build_engine
from onetui.store import Store
from onetui.view import handout
from tests.beds.cli import onetui
from tests.engine.test_engine import node

MASTER = ('NAME = master\nCPU = 1\nMEMORY = 512\nOS = [ kernel = "/boot/vmlinuz" ]\n'
          'DISK = [ source = "/images/master.qcow2", target = vda ]\n'
          'NIC = [ NETWORK = "labnet" ]\n')


@pytest.fixture
def lab_env(store: Store, tmp_path: Path):
    """One test-driver host with 4 CPUs and 4 GiB, a lab network of 6 addresses on
    loopback, the master template, and an engine with the lab manager that has
    monitored the host once."""
    store.hosts.add("ursa03", "libvirt", {"uri": node(tmp_path, "ursa03", 4, 4)})
    store.networks.add("labnet", "127.0.4.10", "127.0.4.15")
    store.templates.add("master", MASTER)
    engine = build_engine(store, {}, interval=0.05)
    assert engine.lead()
    engine.run_pass()
    yield engine
    engine.close()


def spec(name: str = "os1", seats: int = 3, **kw) -> labs.LabSpec:  # type: ignore[no-untyped-def]
    return labs.LabSpec(name, "master", seats, **kw)


def nothing_made(store: Store) -> None:
    assert store.labs.list() == [] and store.vms.list() == []
    assert store.networks.leases("labnet") == []


def test_create_makes_one_vm_lease_and_account_per_seat(store: Store, lab_env: Engine) -> None:
    lab = labs.create(store, spec(expires="+3d"))
    seats = store.labs.seats(lab.id)
    assert [s.username for s in seats] == ["student01", "student02", "student03"]
    assert [s.ip for s in seats] == ["127.0.4.10", "127.0.4.11", "127.0.4.12"]
    assert all(s.state == "deploying" and s.port == 22 for s in seats)
    vms = [store.vms.get(s.vm_id) for s in seats]
    assert [v.name for v in vms] == ["os1-01", "os1-02", "os1-03"]
    assert [v.mac for v in vms] == ["02:00:7f:00:04:0a", "02:00:7f:00:04:0b",
                                    "02:00:7f:00:04:0c"]
    passwords = [store.labs.password(lab.id, s.seat) for s in seats]
    assert len(set(passwords)) == 3
    for password in passwords:
        assert len(password) == 14 and password.count("-") == 2
        assert set(password.replace("-", "")) <= set(ALPHABET)
    assert 3 * 86400 - 60 < lab.expires_at - time.time() <= 3 * 86400

    lab_env.run_pass()
    assert [store.vms.get(v.id).state for v in vms] == ["runn"] * 3
    lab_env.run_pass()  # the manager sees them running: waiting for their SSH servers
    assert [s.state for s in store.labs.seats(lab.id)] == ["waiting for ssh"] * 3


def test_refusals_name_the_numbers_and_leave_nothing_behind(store: Store,
                                                            lab_env: Engine) -> None:
    with pytest.raises(UserError, match=r"7 seat\(s\) need 7 address\(es\) on network labnet, "
                                        r"but only 6 are free"):
        labs.create(store, spec(seats=7))
    nothing_made(store)
    with pytest.raises(UserError, match=r"5 seat\(s\) need 5 CPU and 2560 MB \(1 CPU/512 MB "
                                        r"each\); the hosts have room for 4: ursa03 4 CPU/"):
        labs.create(store, spec(seats=5))
    nothing_made(store)
    with pytest.raises(UserError, match="--user 'pupil': 3 seats need a pattern with %i"):
        labs.create(store, spec(user="pupil"))
    with pytest.raises(UserError, match="user name 'Bad Name01'"):
        labs.create(store, spec(user="Bad Name%02i"))
    with pytest.raises(UserError, match="names root: the seats' own accounts must not be"):
        labs.create(store, spec(seats=1, user="root"))
    with pytest.raises(UserError, match="--seats: expected 1 to 500, got 0"):
        labs.create(store, spec(seats=0))
    with pytest.raises(UserError, match="--network 'nope': no such network"):
        labs.create(store, spec(network="nope"))
    with pytest.raises(UserError, match="--expires 'next week': expected a date"):
        labs.create(store, spec(expires="next week"))
    store.templates.add("nonic", MASTER.replace('NIC = [ NETWORK = "labnet" ]\n', ""))
    with pytest.raises(UserError, match="give --network NET"):
        labs.create(store, labs.LabSpec("os2", "nonic", 1))
    nothing_made(store)
    labs.create(store, spec(seats=2))
    with pytest.raises(UserError, match="lab 'os1' exists already"):
        labs.create(store, spec(seats=1))
    assert len(store.vms.list()) == 2


def test_a_seat_whose_ssh_never_answers_fails_with_the_reason(store: Store,
                                                               lab_env: Engine) -> None:
    lab = labs.create(store, spec(seats=2, ssh_timeout=2))
    deadline = time.monotonic() + 30
    while {s.state for s in store.labs.seats(lab.id)} != {"failed"}:
        assert time.monotonic() < deadline, store.labs.seats(lab.id)
        lab_env.run_pass()
        time.sleep(0.2)
    for seat in store.labs.seats(lab.id):
        assert seat.status.startswith("failed: no SSH after 2 s (")
        assert "Connection refused" in seat.message or "cannot connect" in seat.message
    events = " ".join(e.message for e in store.events.recent(200))
    assert "lab os1 seat 1 (student01): failed: no SSH after 2 s" in events
    assert not any(store.labs.password(lab.id, n) in events for n in (1, 2))


@pytest.mark.slow
def test_show_creds_and_handouts_from_the_command_line(store: Store, lab_env: Engine,
                                                       state_dir: Path, tmp_path: Path) -> None:
    expires = (dt.date.today() + dt.timedelta(days=400)).isoformat()
    labs.create(store, spec(seats=2, expires=expires))
    shown = json.loads(onetui("lab", "show", "os1", "--json", state=state_dir).stdout)
    seat = shown["seat_list"][0]
    assert {"seat", "vm_id", "vm_state", "state", "ip", "port", "mac", "user",
            "ready"} <= set(seat)
    assert "password" not in seat and (seat["ip"], seat["user"]) == ("127.0.4.10", "student01")
    creds = json.loads(onetui("lab", "creds", "os1", "--json", state=state_dir).stdout)
    assert [s["password"] for s in creds["seats"]] == [store.labs.password(1, n) for n in (1, 2)]
    assert creds["seats"][1]["mac"] == "02:00:7f:00:04:0b"

    text = onetui("lab", "show", "os1", state=state_dir).stdout
    assert "student02" in text and "deploying" in text
    assert store.labs.password(1, 1) not in text

    out = tmp_path / "creds.csv"
    onetui("lab", "creds", "os1", "--csv", "-o", str(out), state=state_dir)
    assert os.stat(out).st_mode & 0o777 == 0o600
    lines = out.read_text().splitlines()
    assert lines[0].startswith("seat,user,password,ip,port,ssh")
    assert lines[1].startswith(f"1,student01,{store.labs.password(1, 1)},127.0.4.10,22,")

    slips = tmp_path / "slips.md"
    onetui("lab", "handout", "os1", "--md", "-o", str(slips), state=state_dir)
    assert os.stat(slips).st_mode & 0o777 == 0o600
    body = slips.read_text()
    assert body.count("## Lab os1, seat") == 2
    assert f"`{store.labs.password(1, 2)}`" in body and "`ssh student02@127.0.4.11`" in body
    assert f"{expires} 23:59" in body

    listed = json.loads(onetui("lab", "list", "--json", state=state_dir).stdout)
    assert listed[0]["name"] == "os1" and listed[0]["seats"] == 2


def test_reset_password_and_seat_keep_the_slip_valid(store: Store, lab_env: Engine) -> None:
    lab = labs.create(store, spec(seats=2))
    lab_env.run_pass()
    before = store.labs.seat(lab.id, 1)
    old_password = store.labs.password(lab.id, 1)
    assert "reset to the master disk" in labs.reset_seat(store, "os1", "os1-01")
    after = store.labs.seat(lab.id, 1)
    assert after.vm_id != before.vm_id and after.state == "deploying"
    assert (after.ip, store.vms.get(after.vm_id).mac) == (before.ip, "02:00:7f:00:04:0a")
    assert store.labs.password(lab.id, 1) == old_password  # the slip stays valid
    assert store.vms.get(before.vm_id).intent == "cancel"
    lab_env.run_pass()
    assert store.vms.get(before.vm_id).state == "done"
    assert [lease.vm_id for lease in store.networks.leases("labnet")] == [
        after.vm_id, store.labs.seat(lab.id, 2).vm_id]
    labs.reset_password(store, "os1", "2")
    assert store.labs.password(lab.id, 2) != old_password
    with pytest.raises(UserError, match=r"seat '9': expected a number 1-2"):
        labs.reset_password(store, "os1", "9")


def test_destroy_wipes_credentials_at_once_and_twice_is_no_error(store: Store, lab_env: Engine,
                                                                 state_dir: Path) -> None:
    lab = labs.create(store, spec(seats=3))
    lab_env.run_pass()
    vm_ids = [s.vm_id for s in store.labs.seats(lab.id)]
    onetui("lab", "destroy", "os1", state=state_dir)
    assert [store.labs.password(lab.id, n) for n in (1, 2, 3)] == ["", "", ""]
    assert store.labs.get("os1").state == "destroying"
    lab_env.run_pass()
    lab_env.run_pass()
    assert store.labs.find("os1") is None and store.labs.seats(lab.id) == []
    assert [store.vms.get(v).state for v in vm_ids] == ["done"] * 3
    assert store.networks.leases("labnet") == []
    again = onetui("lab", "destroy", "os1", state=state_dir)
    assert "destroyed already" in again.stdout


def test_a_lab_that_expires_is_destroyed_and_extend_moves_it(store: Store,
                                                            lab_env: Engine) -> None:
    lab = labs.create(store, spec(seats=1, expires="+1d"))
    first = lab.expires_at
    lab = labs.extend(store, "os1", "+2d")
    assert lab.expires_at == pytest.approx(first + 2 * 86400)
    store.labs.update(lab.id, expires_at=time.time() - 1)
    lab_env.run_pass()
    lab_env.run_pass()
    assert store.labs.find("os1") is None
    assert any("destroying (it expired)" in e.message for e in store.events.recent(50))


def test_a_wiped_password_is_never_set_as_an_empty_one() -> None:
    with pytest.raises(UserError, match="no password to set for student01"):
        make_account(None, "student01", "")  # type: ignore[arg-type]  # refused before SSH


def test_passwords_are_sealed_in_the_store(store: Store, lab_env: Engine) -> None:
    lab = labs.create(store, spec(seats=2))
    passwords = [store.labs.password(lab.id, n) for n in (1, 2)]
    data = store.path.read_bytes() + Path(f"{store.path}-wal").read_bytes()
    assert not any(p.encode() in data for p in passwords)
    key = store.path.parent / "secrets.key"
    assert os.stat(key).st_mode & 0o777 == 0o600
    # a sealed value moved to another seat's row does not open there
    row = store.db.read("SELECT password FROM seats WHERE seat = 1")[0][0]
    with store.db.transaction() as cur:
        cur.execute("UPDATE seats SET password = ? WHERE seat = 2", (row,))
    with pytest.raises(UserError, match="cannot be opened"):
        store.labs.password(lab.id, 2)
    assert handout.ssh_command("student01", "10.0.0.5", 22) == "ssh student01@10.0.0.5"


def test_expiry_has_a_bound_for_create_and_extend() -> None:
    now = 1_800_000_000.0
    assert labs.parse_expiry("+5d", now) == now + 5 * 86400
    for text in ("+999999999999d", "+99999999999999999999d", "9999-12-31"):
        with pytest.raises(UserError, match="at most 3660 days ahead"):
            labs.parse_expiry(text, now)


@pytest.mark.slow
def test_a_seat_reset_while_waiting_for_ssh_keeps_its_new_vm(store: Store,
                                                             lab_env: Engine) -> None:
    """The old VM's job (still waiting for SSH) sees its VM done after the reset; what it
    learned must not land on the seat, which has a fresh VM by then."""
    lab = labs.create(store, spec(seats=2))
    lab_env.run_pass()
    lab_env.run_pass()
    assert [s.state for s in store.labs.seats(lab.id)] == ["waiting for ssh"] * 2
    old = store.labs.seat(lab.id, 1).vm_id
    labs.reset_seat(store, "os1", 1)
    until = time.monotonic() + 8  # the old job looks at its VM every 2 s
    while time.monotonic() < until:
        lab_env.run_pass()
        time.sleep(0.2)
    seat = store.labs.seat(lab.id, 1)
    assert store.vms.get(old).state == "done"
    assert seat.vm_id != old and store.vms.get(seat.vm_id).state == "runn"
    assert seat.state == "waiting for ssh", seat.status
