"""The records onetui keeps: hosts, templates, VMs and events, with OpenNebula's state names.

These are plain values read from the store; changing one means asking the store, which
writes the change, its event and its change-sequence entry in one transaction.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

from onetui.errors import UserError

# VM states by their short names (what `onevm list` shows), mapped to OpenNebula's
# VM STATE and LCM STATE, which `vm show` prints.
VM_STATES: dict[str, tuple[str, str]] = {
    "pend": ("PENDING", "LCM_INIT"),
    "hold": ("HOLD", "LCM_INIT"),
    "prol": ("ACTIVE", "PROLOG"),
    "boot": ("ACTIVE", "BOOT"),
    "runn": ("ACTIVE", "RUNNING"),
    "shut": ("ACTIVE", "SHUTDOWN"),
    "stop": ("STOPPED", "LCM_INIT"),
    "poff": ("POWEROFF", "LCM_INIT"),
    "susp": ("SUSPENDED", "LCM_INIT"),
    "done": ("DONE", "LCM_INIT"),
    "fail": ("FAILED", "LCM_INIT"),
    "unkn": ("ACTIVE", "UNKNOWN"),
}
# States in which a VM holds resources on its host (a powered-off VM keeps its place, as
# in OpenNebula; a stopped one gave it back).
ACTIVE_STATES = frozenset({"prol", "boot", "runn", "shut", "unkn", "susp", "poff"})
FINAL_STATES = frozenset({"done"})
# States with a live guest, which the monitor looks at on every pass.
MONITORED_STATES = frozenset({"boot", "runn", "susp", "shut", "unkn"})

HOST_STATES = ("init", "on", "off", "err", "dsbl")


@dataclass(frozen=True)
class Host:
    id: int
    name: str
    driver: str
    config: dict[str, Any]
    attrs: dict[str, str]
    state: str
    enabled: bool
    monitor: dict[str, Any]
    error: str
    monitored_at: float | None
    created_at: float

    @property
    def stat(self) -> str:
        """The STAT column: a disabled host shows `dsbl` whatever its monitoring says."""
        return "dsbl" if not self.enabled else self.state


@dataclass(frozen=True)
class TemplateRecord:
    id: int
    name: str
    body: str
    created_at: float


@dataclass(frozen=True)
class VM:
    id: int
    name: str
    template_id: int | None
    body: str
    state: str
    intent: str  # what the admin asked and the engine has yet to do: shutdown, cancel, …
    host_id: int | None
    deploy_id: str
    cpu: float
    memory: int
    ip: str
    mac: str
    message: str
    sched: list[dict[str, Any]]
    info: dict[str, Any]
    created_at: float
    started_at: float | None
    stopped_at: float | None
    state_at: float
    polled_at: float | None
    host_name: str = ""

    @property
    def vm_state(self) -> str:
        return VM_STATES[self.state][0]

    @property
    def lcm_state(self) -> str:
        return VM_STATES[self.state][1]


# What the admin asked for, in their words ("delete", not the engine's "cancel"). An intent
# may carry one argument after a colon (`migrate:3`: to host 3), so the engine reads the
# whole request from the one field the admin wrote.
_WORD = {"cancel": "delete", "reboot-hard": "reboot --hard",
         "poweroff-hard": "poweroff --hard", "migrate-live": "migrate --live"}


def intent_word(intent: str) -> str:
    """An intent as the admin would have typed it: `migrate-live:3` → `migrate --live`."""
    name = intent.split(":", 1)[0]
    return _WORD.get(name, name)


@dataclass(frozen=True)
class Event:
    id: int
    at: float
    kind: str
    obj_id: int | None
    level: str
    message: str
    user: str = ""  # the unix user whose request caused it ("" for the engine's own)
    pid: int | None = None  # that request's client process


@dataclass(frozen=True)
class Changes:
    """What changed after a sequence number: ids per kind, or `complete=False` when the
    change log no longer reaches back that far and the reader must reload everything."""

    seq: int
    ids: dict[str, set[int]] = field(default_factory=dict)
    complete: bool = True


_PATTERN = re.compile(r"%(0?\d*)i")
MAX_PAD = 8  # %08i: the widest index padding a name pattern may ask for


def expand_name(pattern: str, index: int) -> str:
    """`web-%i` → `web-0`; `lab-%02i` → `lab-01` (OpenNebula's %i, with zero padding of at
    most MAX_PAD digits; space padding would put blanks into names and /etc/hosts)."""
    check_pattern(pattern)
    return _PATTERN.sub(lambda m: f"{index:{m.group(1) or ''}d}", pattern)


def check_pattern(pattern: str) -> str:
    """A name pattern's %i parts are `%i` or `%0Ni` with N ≤ MAX_PAD; else UserError."""
    for m in _PATTERN.finditer(pattern):
        pad = m.group(1)
        if pad and (not pad.startswith("0") or len(pad) > 3 or int(pad) > MAX_PAD):
            raise UserError(f"name pattern {pattern[:80]!r}: {m.group(0)[:20]!r} — expected "
                            f"%i or %0Ni with N from 1 to {MAX_PAD} (zero padding)")
    return pattern


def has_index(pattern: str) -> bool:
    return bool(_PATTERN.search(pattern))


def vm_time(vm: VM, now: float | None = None) -> str:
    """OpenNebula's TIME column, `DD HH:MM:SS` since the VM was created (frozen once done)."""
    end = vm.stopped_at if vm.state in FINAL_STATES and vm.stopped_at else (now or time.time())
    return age(end - vm.created_at)


def age(seconds: float) -> str:
    """`DD HH:MM:SS`, OpenNebula's way of writing a duration."""
    secs = max(0, int(seconds))
    days, rest = divmod(secs, 86400)
    hours, rest = divmod(rest, 3600)
    mins, secs = divmod(rest, 60)
    return f"{days:02d} {hours:02d}:{mins:02d}:{secs:02d}"
