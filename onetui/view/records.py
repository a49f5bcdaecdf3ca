"""The API's records (onetui's JSON shapes, as `--json` prints them) made from the model's
values (`vm_record`, `host_record`: what the API answers) and as the model's values
again, so that a client's rows come from the same view.rows functions as the store's: one
way to say what a cell shows, whether the record came over the daemon's socket or from
the store in this process."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from onetui.model import VM, Event, Host
from onetui.store.history import Point

if TYPE_CHECKING:
    from onetui.model.services import Service

_VM_FIELDS = tuple(f.name for f in dataclasses.fields(VM))
_HOST_FIELDS = tuple(f.name for f in dataclasses.fields(Host))
_EVENT_FIELDS = tuple(f.name for f in dataclasses.fields(Event))
_new = object.__new__


def vm_record(v: VM) -> dict[str, Any]:
    """A VM as `vm list --json` prints it: its fields and OpenNebula's two state names.
    (Shallow: the record goes straight to JSON; dataclasses.asdict's deep copy was a
    third of a 1,000-VM list's time; its __dict__, which holds exactly the fields of the
    frozen dataclass in their order, is half the cost of a getattr per field.)"""
    return {**vars(v), "vm_state": v.vm_state, "lcm_state": v.lcm_state}


def host_record(h: Host) -> dict[str, Any]:
    """A host as `host list --json` prints it: its fields and the STAT column's word."""
    return {**{f: getattr(h, f) for f in _HOST_FIELDS}, "stat": h.stat}


def vm_of(record: dict[str, Any]) -> VM:
    """A `vm list --json` record as the model's VM. Filled in directly (as grid.py's jobs):
    a frozen dataclass's __init__ sets its fields one object.__setattr__ at a time, twice
    the cost of filling its __dict__ at once, and the console's full read makes ten
    thousand of them. The object is the same (== to the one __init__ makes); a record
    that lacks a field is a KeyError either way."""
    vm = _new(VM)
    vm.__dict__.update({f: record[f] for f in _VM_FIELDS})
    return vm


def vms_of(records: Iterable[dict[str, Any]]) -> list[VM]:
    return [vm_of(r) for r in records]


def host_of(record: dict[str, Any]) -> Host:
    """A `host list --json` record as the model's Host."""
    return Host(**{f: record[f] for f in _HOST_FIELDS})


def event_of(record: dict[str, Any]) -> Event:
    """An event as `events --json` prints it."""
    return Event(**{f: record[f] for f in _EVENT_FIELDS if f in record})


def service_of(record: dict[str, Any]) -> Service:
    """A `service list --json` record as the model's Service (what its row shows: the
    template, burst template and config are not in the list). Services' module loads
    here, when a service is shown, not with every command that imports records."""
    from onetui.model.services import Service

    return Service(record["id"], record["name"], None, None, record["min"], record["max"],
                   record["desired"], {})


def point_of(record: dict[str, Any]) -> Point:
    """A history point as `history.read` answers it ({at, field: value, …})."""
    return Point(record["at"], {k: v for k, v in record.items() if k != "at"})
