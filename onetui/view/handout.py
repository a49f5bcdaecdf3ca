"""What a lab hands out: the seat table (`lab show`), the credentials (`lab creds`, the only
output with passwords besides the console's pane) and printable slips, one per student.
Files holding passwords are written 0600."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import secrets
import shlex
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any

from onetui.client.paths import private_dir
from onetui.errors import UserError
from onetui.model.labs import READY, Lab, Seat
from onetui.remote.hostkeys import pinned_keys
from onetui.store import Store

if TYPE_CHECKING:  # a name for the type only: paramiko loads with a connection, not here
    from onetui.remote.ssh import Target

FORMATS = ("text", "csv", "json", "md")


def when(stamp: float | None) -> str:
    return dt.datetime.fromtimestamp(stamp).strftime("%Y-%m-%d %H:%M") if stamp else "never"


def ssh_command(user: str, ip: str, port: int) -> str:
    return f"ssh {user}@{ip}" if port == 22 else f"ssh -p {port} {user}@{ip}"


KNOWN_HOSTS = "{known_hosts}"  # what ssh_argv's argv names until the caller's file is there


def ssh_argv(store: Store, lab: Lab, number: int, admin: bool = False, *,
             through_node: bool = True) -> dict[str, Any]:
    """The system `ssh` into a seat, as the student (who types the password) or as the
    lab's admin (with its key), checking the host key onetui pinned from the console:
    {"argv": …, "known_hosts": the seat's pinned lines}. The argv names its known_hosts
    file as KNOWN_HOSTS: the caller writes the lines to a file of its own and puts that
    there (`seat_login`), since the daemon's known_hosts is not theirs to read. A seat on a
    node reached over SSH goes through it with the daemon's key: `through_node` False
    (whoever is not an admin) refuses that, naming the node."""
    seat = store.labs.seat(lab.id, number)
    user = lab.config.get("admin_user", "root") if admin else seat.username
    pinned = pinned_keys(store.path.parent)
    name = pinned.name(seat.ip, seat.port)
    lines = "".join(f"{name} {kind} {data}\n" for kind, data in pinned.get(seat.ip, seat.port))
    argv = ["ssh", "-p", str(seat.port), "-o", f"UserKnownHostsFile={KNOWN_HOSTS}",
            "-o", "StrictHostKeyChecking=yes"]
    if admin and lab.config.get("admin_key"):
        argv += ["-i", lab.config["admin_key"]]
    node = _node(store, seat)
    if node is not None and not through_node:
        raise UserError(f"seat {number} of lab {lab.name} runs on the hypervisor node "
                        f"{node.hostname}, which onetui reaches with the daemon's own SSH "
                        f"key: only an admin's `lab ssh` goes through it (others: `ssh -J` "
                        f"with an account on {node.hostname})")
    if node is not None:  # through the hypervisor node, as onetui itself reaches the seat
        known_node = " ".join(node.known_hosts)
        hop = ["ssh", "-p", str(node.port), "-o", f"UserKnownHostsFile={known_node}",
               "-o", "StrictHostKeyChecking=yes", *(a for k in node.key_files for a in ("-i", k)),
               "-W", "%h:%p", f"{node.user}@{node.hostname}" if node.user else node.hostname]
        argv += ["-o", f"ProxyCommand={shlex.join(hop)}"]
    return {"argv": [*argv, f"{user}@{seat.ip}"], "known_hosts": lines}


def seat_login(answer: dict[str, Any]) -> list[str]:
    """`lab.ssh_argv`'s answer as an argv to run, in the caller's process: the seat's host
    keys written to `seats_known_hosts` in the caller's private directory (write_private:
    never through a link), that file in the argv. So the seat's key is checked against what
    onetui pinned from its console, and nothing else, by whoever runs the ssh."""
    path = write_private(private_dir() / "seats_known_hosts", str(answer["known_hosts"]))
    return [str(arg).replace(KNOWN_HOSTS, str(path)) for arg in answer["argv"]]


def _node(store: Store, seat: Seat) -> Target | None:
    """The node a seat runs on when onetui reaches that node over SSH (see `host_node`)."""
    if seat.vm_id is None:
        return None
    from onetui.drivers.virt import host_node  # libvirt is loaded only when asked

    vm = store.vms.get(seat.vm_id)
    return host_node(store.hosts.get(vm.host_id)) if vm.host_id is not None else None


def seat_rows(store: Store, lab: Lab, passwords: bool = False,
              seats: list[Seat] | None = None) -> list[dict[str, Any]]:
    """Every seat field: seat, VM id and state, the seat's state, address, MAC, user, ready
    (and the password, only when asked). `seats`: the lab's seats, when read already."""
    seats = store.labs.seats(lab.id) if seats is None else seats
    clear = store.labs.passwords(lab.id) if passwords else {}
    vms = {vm.id: vm for vm in store.vms.by_ids([s.vm_id for s in seats if s.vm_id])}
    rows = []
    for seat in seats:
        vm = vms.get(seat.vm_id) if seat.vm_id is not None else None
        row: dict[str, Any] = {
            "seat": seat.seat, "vm_id": seat.vm_id, "vm_name": vm.name if vm else "",
            "vm_state": vm.state if vm else "", "state": seat.state, "message": seat.message,
            "ip": seat.ip, "port": seat.port, "mac": vm.mac if vm else "",
            "user": seat.username, "ready": seat.state == READY,
            "ssh": ssh_command(seat.username, seat.ip, seat.port),
        }
        if passwords:
            row["password"] = clear.get(seat.seat, "")
        rows.append(row)
    return rows


def lab_dict(store: Store, lab: Lab, passwords: bool = False) -> dict[str, Any]:
    network = store.networks.get(lab.network_id).name if lab.network_id else ""
    return {"id": lab.id, "name": lab.name, "owner": lab.owner, "state": lab.state,
            "seats": lab.seats,
            "template": lab.config.get("template", ""), "network": network,
            "user_pattern": lab.user_pattern, "expires_at": lab.expires_at,
            "admin_user": lab.config.get("admin_user", "root"),
            "seat_list": seat_rows(store, lab, passwords)}


def creds(store: Store, lab: Lab, fmt: str) -> str:
    rows = seat_rows(store, lab, passwords=True)
    if fmt == "json":
        return json.dumps({"lab": lab.name, "expires_at": lab.expires_at, "seats": rows},
                          indent=2) + "\n"
    if fmt == "csv":
        out = io.StringIO()
        fields = ["seat", "user", "password", "ip", "port", "ssh", "state", "vm_id", "mac"]
        writer = csv.DictWriter(out, fields, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return out.getvalue()
    if fmt == "md":
        lines = [f"# Lab {lab.name}: credentials", "",
                 "| seat | user | password | address | connect | state |",
                 "|---:|---|---|---|---|---|"]
        lines += [f"| {r['seat']} | {r['user']} | `{r['password']}` | {r['ip']}:{r['port']} | "
                  f"`{r['ssh']}` | {r['state']} |" for r in rows]
        return "\n".join(lines) + "\n"
    width = max([len(r["user"]) for r in rows] + [4])
    lines = [f"{'SEAT':>4}  {'USER':<{width}}  {'PASSWORD':<14}  {'ADDRESS':<21}  STATE"]
    lines += [f"{r['seat']:>4}  {r['user']:<{width}}  {r['password']:<14}  "
              f"{r['ip'] + ':' + str(r['port']):<21}  {r['state']}" for r in rows]
    return "\n".join(lines) + "\n"


def slips(store: Store, lab: Lab, fmt: str = "text") -> str:
    """One slip per student: lab, seat, address, user name, password, how to connect."""
    rows = seat_rows(store, lab, passwords=True)
    out = []
    for r in rows:
        fields = [("Lab", f"{lab.name}, seat {r['seat']:02d}"),
                  ("Address", r["ip"] + ("" if r["port"] == 22 else f" (SSH port {r['port']})")),
                  ("Username", r["user"]), ("Password", r["password"]),
                  ("Connect", r["ssh"]), ("Available until", when(lab.expires_at))]
        if fmt == "md":
            out.append(f"## Lab {lab.name}, seat {r['seat']:02d}\n\n"
                       + "\n".join(f"- **{k}:** `{v}`" if k in ("Password", "Connect", "Username")
                                   else f"- **{k}:** {v}" for k, v in fields)
                       + "\n\nType the password exactly as printed (it has no 0/O or 1/l/I).\n")
        else:
            rule = "-" * 64
            out.append("\n".join([rule, *(f"  {k + ':':<17}{v}" for k, v in fields),
                                  "  Type the password exactly as printed.", rule]) + "\n")
    joiner = "\n---\n\n" if fmt == "md" else "\n\n"
    return joiner.join(out)


def write_private(path: str | os.PathLike[str], text: str) -> Path:
    """Write a file only its owner can read (0600), replacing one of ours that was there.

    Passwords go into it, so nothing is written through a link someone placed there, and a
    file that belongs to someone else is left alone: the text goes to a new file (O_EXCL,
    O_NOFOLLOW) beside the target, which then replaces the target in one rename."""
    target = Path(path)
    try:
        info = target.lstat()
    except FileNotFoundError:
        info = None
    if info is not None and stat.S_ISLNK(info.st_mode):
        raise UserError(f"{target}: is a symbolic link; not written (give another path)")
    if info is not None and (not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid()):
        raise UserError(f"{target}: exists and is not a file of yours; not written")
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(text)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target
