"""What an admin does to a lab: create, reset a password or a seat, extend, destroy.

The CLI and the console both call these, so a key in the console and a command do the same
thing. They only write the store (nothing here talks to a guest): the engine's lab manager
deploys, makes the accounts and checks them.
"""

from __future__ import annotations

import datetime as dt
import pwd
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from onetui.drivers.domxml import parse_hostfwd
from onetui.engine.placement import host_views, request_for
from onetui.engine.scheduler import schedule
from onetui.errors import Conflict, NotFound, UserError
from onetui.integrations.accounts import check_user
from onetui.model import expand_name, has_index
from onetui.model.labs import ACCOUNT, FAILED, READY, Lab
from onetui.ops import passwords
from onetui.ops import vm_actions as actions
from onetui.ops.instantiate import Source, resolve, specs
from onetui.remote.hostkeys import pinned_keys
from onetui.store import Store
from onetui.store.records import check_object_name, is_id
from onetui.template import Template, TemplateError, Vector, parse, sizes

MAX_SEATS = 500
DEFAULT_USER = "student%02i"
DEFAULT_SSH_TIMEOUT = 600.0  # software-emulated guests on a busy host boot slowly


@dataclass(frozen=True)
class LabSpec:
    """What `lab create` and the console's form ask for."""

    name: str
    template: str  # a stored template's name/id, or a template file
    seats: int
    network: str | None = None
    user: str = DEFAULT_USER
    expires: str | None = None  # see parse_expiry
    admin_user: str | None = None
    admin_key: str | None = None
    ssh_timeout: float | None = None
    owner: str = ""  # the unix user it belongs to (labstaff act only on their own labs)
    template_text: str | None = None  # the template file's text, read by the client
    files: bool = True  # may `template` be opened as a file here (not in the daemon)


# -- expiry ----------------------------------------------------------------------------------

_RELATIVE = re.compile(r"\+?(\d+)([dhm])")
MAX_LAB_DAYS = 3660  # a lab lasts at most ten years from now


def parse_expiry(text: str, now: float | None = None) -> float:
    """`2026-12-18` (the end of that day, local time), `2026-12-18T16:00`, or relative:
    `+5d`, `+12h`, `+90m`."""
    now = time.time() if now is None else now
    m = _RELATIVE.fullmatch(text.strip())
    if m:  # capped before it becomes a float: +99999999999999999999d must not overflow
        count = min(int(m.group(1)), MAX_LAB_DAYS * 1440 + 1)
        return _bounded(text, now + count * {"d": 86400, "h": 3600, "m": 60}[m.group(2)], now)
    try:
        if len(text.strip()) == 10:
            day = dt.date.fromisoformat(text.strip())
            when = dt.datetime.combine(day, dt.time(23, 59, 59))
        else:
            when = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise UserError(f"--expires {text!r}: expected a date (2026-12-18), a date and time "
                        "(2026-12-18T16:00) or a duration (+5d, +12h, +90m)") from None
    stamp = when.timestamp()
    if stamp <= now:
        raise UserError(f"--expires {text!r}: that is in the past")
    return _bounded(text, stamp, now)


def _bounded(text: str, stamp: float, now: float) -> float:
    if stamp - now > MAX_LAB_DAYS * 86400:
        shown = text if len(text) <= 30 else text[:30] + "…"
        raise UserError(f"--expires {shown!r}: at most {MAX_LAB_DAYS} days ahead")
    return stamp


# -- create ----------------------------------------------------------------------------------

def _usernames(pattern: str, count: int) -> list[str]:
    if count > 1 and not has_index(pattern):
        raise UserError(f"--user {pattern!r}: {count} seats need a pattern with %i "
                        "(e.g. student%02i)")
    names = [check_user(expand_name(pattern, n)) for n in range(1, count + 1)]
    if len(set(names)) != len(names):
        raise UserError(f"--user {pattern!r} gives the same name to two seats")
    return names


def _seat_nic(tpl: Template, network: str | None, known: set[str]) -> tuple[Template, str]:
    """The template with its lab NIC on `network` (the first NIC, or a new one), and the
    network's name. Without --network, the first NIC on an onetui network is the lab's."""
    nics = tpl.get_all("NIC")
    if network is None:
        found = next((n.get("NETWORK") for n in nics if isinstance(n, Vector)
                      and n.get("NETWORK") in known), None)
        if found is None:
            names = ", ".join(sorted(known)) or "none; see `onetui net create`"
            raise UserError("a lab's seats need their own addresses: give --network NET, or "
                            "a NIC = [ NETWORK = NET ] on an onetui network in the template "
                            f"(networks: {names})")
        return tpl, found
    if network not in known:
        raise UserError(f"--network {network!r}: no such network (see `onetui net list`)")
    tpl = tpl.copy()
    tpl.remove("NIC")
    first = next((n for n in nics if isinstance(n, Vector)), None)
    lab_nic = Vector((*((k, v) for k, v in (first.items if first else ()) if k != "NETWORK"),
                      ("NETWORK", network)))
    tpl.add("NIC", lab_nic)
    for nic in nics:
        if nic is not first:
            tpl.add("NIC", nic)
    return tpl, network


def ssh_port(tpl: Template, network: str) -> int:
    """Where a seat's SSH server answers on its address: the host port a NIC HOSTFWD maps
    to the guest's 22 (guests reached over a user-mode NIC), else 22."""
    for nic in tpl.get_all("NIC"):
        if isinstance(nic, Vector) and nic.get("NETWORK") == network:
            try:
                forwards = parse_hostfwd(nic.get("HOSTFWD") or "")
            except ValueError:
                continue  # the driver refuses it, with the reason, at deploy
            return next((host for host, guest in forwards if guest == 22), 22)
    return 22


def _capacity(store: Store, tpl: Template, count: int, name: str) -> None:
    """Refuse, with the numbers, when the hosts cannot take every seat (after the VMs
    already waiting for a place)."""
    vms = store.vms.list(include_done=False)
    cpu, memory = sizes(tpl)
    views = host_views(store.hosts.list(), vms)
    free = ", ".join(  # as they are now: the schedule below books them
        f"{h.name} {max(0.0, (h.tcpu - h.used_cpu) / 100):g} CPU/{max(0, h.tmem - h.used_mem)} MB"
        + (f" ({h.unusable})" if h.unusable else "")
        for h in views) or "no hosts (see `onetui host add`)"
    waiting = []
    for vm in vms:
        if vm.state == "pend":
            try:
                waiting.append(request_for(vm.id, vm.cpu, vm.memory,
                                           parse(vm.body, f"VM {vm.id}")))
            except TemplateError:
                continue  # the engine fails it: it takes no room
    top = max((vm.id for vm in vms), default=0)
    seats = [request_for(top + n, cpu, memory, tpl) for n in range(1, count + 1)]
    decision = schedule(waiting + seats, views)
    placed = sum(1 for r in seats if r.vm_id in decision.placements)
    if placed == count:
        return
    raise UserError(f"lab {name}: {count} seat(s) need {cpu * count:g} CPU and "
                    f"{memory * count} MB ({cpu:g} CPU/{memory} MB each); the hosts have "
                    f"room for {placed}"
                    + (f" after {len(waiting)} VM(s) already waiting" if waiting else "")
                    + f": {free}")


def create(store: Store, spec: LabSpec, cfg: dict[str, Any] | None = None) -> Lab:
    """Check everything, then write the lab, its seats' VMs and leases in one transaction.
    Nothing is created when any check fails."""
    labs_cfg = (cfg or {}).get("labs", {})
    check_object_name("lab", spec.name)
    if not 1 <= spec.seats <= MAX_SEATS:
        raise UserError(f"--seats: expected 1 to {MAX_SEATS}, got {spec.seats}")
    if store.labs.find(spec.name) is not None:
        raise Conflict(f"lab {spec.name!r} exists already (see `onetui lab show {spec.name}`)")
    users = _usernames(spec.user, spec.seats)
    admin_user = check_user(spec.admin_user or labs_cfg.get("admin_user", "root"))
    taken = {"root", admin_user} & set(users)
    if taken:
        raise UserError(f"--user {spec.user!r} names {', '.join(sorted(taken))}: the seats' "
                        "own accounts must not be root's or the admin's")
    source = resolve(store, spec.template, spec.template_text, files=spec.files)
    known = {n.name for n in store.networks.list()}
    tpl, network = _seat_nic(source.template, spec.network, known)
    free = store.networks.free(network)
    if free < spec.seats:
        raise UserError(f"lab {spec.name}: {spec.seats} seat(s) need {spec.seats} address(es) "
                        f"on network {network}, but only {free} are free")
    _capacity(store, tpl, spec.seats, spec.name)
    port = ssh_port(tpl, network)
    seat_source = Source(tpl, source.template_id, source.label)
    seats = []
    for number, user in enumerate(users, start=1):
        (vm,) = specs(seat_source, 1, f"{spec.name}-{number:02d}")
        seats.append({**vm, "username": user, "password": passwords.generate(), "port": port})
    admin_key = spec.admin_key or labs_cfg.get("admin_key")
    if admin_key and not Path(admin_key).expanduser().is_file():
        raise UserError(f"--admin-key {admin_key}: no such file")
    config = {
        "admin_user": admin_user,
        "admin_key": str(Path(admin_key).expanduser()) if admin_key else "",
        "ssh_timeout": float(spec.ssh_timeout or labs_cfg.get("ssh_timeout",
                                                               DEFAULT_SSH_TIMEOUT)),
        "template": source.label,
    }
    expires = parse_expiry(spec.expires) if spec.expires else None
    owner, owner_uid = _owner(spec.owner)
    return store.labs.create(spec.name, source.template_id, store.networks.get(network), seats,
                             spec.user, expires, config, owner=owner, owner_uid=owner_uid)


def _owner(user: str) -> tuple[str, int | None]:
    """A lab's owner must be a unix user of this front-end: their name and uid (ownership
    is checked against the uid a request comes from)."""
    if not user:
        return "", None
    try:
        entry = pwd.getpwnam(user)
        return entry.pw_name, entry.pw_uid
    except (KeyError, ValueError):  # ValueError: a NUL in the name
        shown = user if len(user) <= 40 else user[:40] + "…"
        raise UserError(f"--owner {shown!r}: no such unix user on this host") from None


# -- the rest of a lab's life ----------------------------------------------------------------

def seat_number(lab: Lab, seat: str | int) -> int:
    text = str(seat)
    m = re.fullmatch(rf"(?:{re.escape(lab.name)}-)?0*(\d+)", text)
    if not m or not 1 <= int(m.group(1)) <= lab.seats:
        raise UserError(f"lab {lab.name}: seat {text!r}: expected a number 1-{lab.seats} "
                        f"(or {lab.name}-01)")
    return int(m.group(1))


LabRef = str | int | Lab  # an id, a name, or the lab a grant resolved (`Grant.lab`)


def lab_of(store: Store, ref: LabRef) -> Lab:
    """The lab as it is now: a `Lab` (what `authorize` resolved) is read again by its id,
    so an operation acts on the very lab that was authorized, never on a name looked up
    a second time."""
    return store.labs.get(ref.id if isinstance(ref, Lab) else ref)


def _active(store: Store, ref: LabRef) -> Lab:
    lab = lab_of(store, ref)
    if lab.state != "active":
        raise Conflict(f"lab {lab.name} is {lab.state}")
    return lab


def reset_password(store: Store, ref: LabRef, seat: str | int) -> str:
    """A new password for the seat; the manager sets it and checks the login again."""
    lab = _active(store, ref)
    number = seat_number(lab, seat)
    store.labs.set_password(lab.id, number, passwords.generate())
    current = store.labs.seat(lab.id, number)
    if current.state in (READY, FAILED, ACCOUNT):
        store.labs.set_seat(lab.id, number, ACCOUNT, event=f"seat {number} "
                            f"({current.username}): password reset by the admin")
    else:
        store.events.add("lab", lab.id, f"seat {number} ({current.username}): password reset "
                         "by the admin (set once the seat is up)")
    return f"lab {lab.name} seat {number}: new password for {current.username} " \
           "(see `onetui lab creds`)"


def reset_seat(store: Store, ref: LabRef, seat: str | int) -> str:
    """Back to the master disk: the seat gets a fresh VM (same address, same account and
    password), so the student's slip stays valid."""
    lab = _active(store, ref)
    number = seat_number(lab, seat)
    current = store.labs.seat(lab.id, number)
    if current.vm_id is None:
        raise UserError(f"lab {lab.name} seat {number} has no VM")
    old = store.vms.get(current.vm_id)
    vm_id = store.labs.replace_vm(lab.id, number, {
        "name": old.name, "body": old.body, "cpu": old.cpu, "memory": old.memory,
        "template_id": old.template_id})
    pinned_keys(store.path.parent).forget(current.ip, current.port)
    return f"lab {lab.name} seat {number}: reset to the master disk (new VM {vm_id})"


def extend(store: Store, ref: LabRef, until: str) -> Lab:
    lab = _active(store, ref)
    base = lab.expires_at if lab.expires_at and until.startswith("+") else None
    expires = parse_expiry(until, now=base)
    when = dt.datetime.fromtimestamp(expires).strftime("%Y-%m-%d %H:%M")
    return store.labs.update(lab.id, expires_at=expires,
                             event=f"lab {lab.name}: extended until {when}")


def destroy(store: Store, ref: LabRef, why: str = "by the admin") -> str:
    """Cancel every seat's VM (the engine removes disks; leases go when each VM is done),
    wipe the credentials at once. A lab that is gone already is not an error."""
    lab = store.labs.find(ref.id if isinstance(ref, Lab) else ref)
    if lab is None:
        return gone(store, ref.name if isinstance(ref, Lab) else ref)
    seats = store.labs.seats(lab.id)
    vm_ids = store.labs.start_destroy(lab.id, why)
    for vm_id in vm_ids:
        try:
            actions.delete(store, vm_id)
        except UserError:
            continue
    hosts = pinned_keys(store.path.parent)
    for seat in seats:
        hosts.forget(seat.ip, seat.port)
    finish(store, lab.id)
    return f"lab {lab.name}: destroying {len(vm_ids)} seat VM(s); credentials wiped"


def gone(store: Store, ref: str | int) -> str:
    """What destroying a lab that is not there says: destroyed already (a second destroy
    is no error), or NotFound when no lab of that name ever was."""
    if not is_id(ref) and store.labs.was_destroyed(str(ref)):
        return f"lab {ref}: destroyed already"
    raise NotFound(f"no lab {ref!r} (see `onetui lab list`)")


def finish(store: Store, lab_id: int) -> bool:
    """Remove a destroying lab's rows once none of its VMs is left; True when gone."""
    live = [vm for vm in store.vms.list(include_done=False) if vm.info.get("lab") == lab_id]
    if live:
        return False
    store.labs.delete(lab_id)
    return True
