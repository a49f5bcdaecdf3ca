"""Lab operations: create, list, show, credentials and hand-out slips (the only answers
that carry passwords: "lab.creds", "lab.handout"), the ssh command into a seat, reset a
password or a seat, extend, destroy. Files (a hand-out, a template) are written and read
by the client, with its own rights."""

from __future__ import annotations

from typing import Any

from onetui import config
from onetui.access import ADMIN, Caller
from onetui.api.registry import BadRequest, granted, operation, optional, required
from onetui.model.labs import Lab
from onetui.ops import labs
from onetui.store import Store
from onetui.view import handout


def _lab(store: Store, ref: str | int) -> Lab:
    """The lab the request was authorized on (read again by its id: a lab renamed or
    made again under the name meanwhile is not the one the caller may act on)."""
    lab = granted().lab
    return labs.lab_of(store, lab if lab is not None else ref)


@operation("lab.create", name=required(str), template=required(str),
           seats=required(int), network=optional(None, str),
           user=optional(labs.DEFAULT_USER, str), expires=optional(None, str),
           admin_user=optional(None, str), admin_key=optional(None, str),
           ssh_timeout=optional(None, float, int), owner=optional(None, str),
           text=optional(None, str))
def lab_create(store: Store, caller: Caller, name: str, template: str, seats: int,
               network: str | None, user: str, expires: str | None, admin_user: str | None,
               admin_key: str | None, ssh_timeout: float | None, owner: str | None,
               text: str | None) -> str:
    """The lab's seats written; `owner` the unix user it belongs to (default: the caller,
    as the kernel names them: `lab create --owner USER` is for someone else)."""
    if owner == "":
        raise BadRequest("lab.create: 'owner' must be a unix user's name")
    spec = labs.LabSpec(name, template, seats, network, user, expires, admin_user, admin_key,
                        ssh_timeout, owner=caller.user if owner is None else owner,
                        template_text=text, files=False)
    made = labs.create(store, spec, config.load_config())
    return (f"lab {made.name}: {made.seats} seat(s) created (ID {made.id}); "
            f"`onetui lab show {made.name}` follows them")


@operation("lab.list")
def lab_list(store: Store, caller: Caller) -> list[dict[str, Any]]:
    rows = []
    with store.db.snapshot():
        for item in store.labs.list():
            seats = store.labs.seats(item.id)
            rows.append({"id": item.id, "name": item.name, "owner": item.owner,
                         "state": item.state,
                         "seats": item.seats, "ready": sum(s.state == "ready" for s in seats),
                         "failed": sum(s.state == "failed" for s in seats),
                         "expires": handout.when(item.expires_at)})
    return rows


@operation("lab.show", ref=required(str, int))
def lab_show(store: Store, caller: Caller, ref: str | int) -> dict[str, Any]:
    """The lab and its seats, without passwords."""
    return handout.lab_dict(store, _lab(store, ref))


@operation("lab.creds", ref=required(str, int), format=optional("text", str))
def lab_creds(store: Store, caller: Caller, ref: str | int, format: str) -> str:
    """The students' user names and passwords, as text, csv, json or md."""
    if format not in handout.FORMATS:
        raise BadRequest(f"lab.creds: format {format!r}; expected one of: "
                         f"{', '.join(handout.FORMATS)}")
    return handout.creds(store, _lab(store, ref), format)


@operation("lab.handout", ref=required(str, int), format=optional("text", str))
def lab_handout(store: Store, caller: Caller, ref: str | int,
                format: str) -> dict[str, str]:
    """Printable slips (text or md) and the lab's name (for the default file name)."""
    if format not in ("text", "md"):
        raise BadRequest(f"lab.handout: format {format!r}; expected text or md")
    item = _lab(store, ref)
    return {"name": item.name, "text": handout.slips(store, item, format)}


@operation("lab.reveal", ref=required(str, int), seats=optional(None, list))
def lab_reveal(store: Store, caller: Caller, ref: str | int,
               seats: list[Any] | None) -> dict[str, str]:
    """The passwords of these seats of the lab (None: every seat), by seat number: the
    console's Labs screen opens only the rows the admin revealed or copies one login. A
    credential hand-out, like `lab.creds`: nothing else is in the answer."""
    if seats is not None and not all(isinstance(n, int) and not isinstance(n, bool)
                                     for n in seats):
        raise BadRequest("lab.reveal: field 'seats' must be a list of seat numbers")
    item = _lab(store, ref)
    clear = store.labs.passwords(item.id, None if seats is None else set(seats))
    return {str(number): password for number, password in clear.items()}


@operation("lab.ssh_argv", ref=required(str, int), seat=required(str, int),
           admin=optional(False, bool))
def lab_ssh_argv(store: Store, caller: Caller, ref: str | int, seat: str | int,
                 admin: bool) -> dict[str, Any]:
    """The system ssh's argv into a seat and the seat's pinned host keys (the client
    writes them to a known_hosts of its own and runs the argv: onetui.client.seats)."""
    item = _lab(store, ref)
    return handout.ssh_argv(store, item, labs.seat_number(item, seat), admin=admin,
                            through_node=granted().role == ADMIN)


@operation("lab.reset_password", ref=required(str), seat=required(str, int))
def lab_reset_password(store: Store, caller: Caller, ref: str, seat: str | int) -> str:
    return labs.reset_password(store, _lab(store, ref), seat)


@operation("lab.reset_seat", ref=required(str), seat=required(str, int))
def lab_reset_seat(store: Store, caller: Caller, ref: str, seat: str | int) -> str:
    return labs.reset_seat(store, _lab(store, ref), seat)


@operation("lab.extend", ref=required(str), until=required(str))
def lab_extend(store: Store, caller: Caller, ref: str, until: str) -> str:
    item = labs.extend(store, _lab(store, ref), until)
    return f"lab {item.name}: expires {handout.when(item.expires_at)}"


@operation("lab.destroy", ref=required(str))
def lab_destroy(store: Store, caller: Caller, ref: str) -> str:
    lab = granted().lab
    if lab is None:  # gone when authorized: never a lab made under its name since
        return labs.gone(store, ref)
    return labs.destroy(store, lab)
