"""Rows for hosts and VMs, as OpenNebula's `onehost list` and `onevm list` show them.

One place decides what a cell says, so the CLI's tables and the console's panes agree.
"""

from __future__ import annotations

import re
import time
from collections.abc import Collection, Sequence
from typing import Any

from onetui.model import VM, Host, vm_time
from onetui.model.services import Service

SERVICE_COLUMNS = ("ID", "NAME", "MIN", "MAX", "DESIRED", "RUNNING", "VMS")
HOST_COLUMNS = ("HID", "NAME", "DRIVER", "RVM", "TCPU", "FCPU", "ACPU", "TMEM", "FMEM", "STAT")
VM_COLUMNS = ("ID", "NAME", "STAT", "CPU", "MEM", "HOSTNAME", "TIME")
LAB_COLUMNS = ("ID", "LAB", "READY", "EXPIRES")
SEAT_COLUMNS = ("SEAT", "VM", "VM STATE", "ADDRESS", "USER", "PASSWORD", "READY", "STATE")
NUMERIC = frozenset({"HID", "ID", "RVM", "TCPU", "FCPU", "ACPU", "TMEM", "FMEM", "CPU", "MEM",
                     "MIN", "MAX", "DESIRED", "RUNNING", "VMS", "SEAT", "VM"})


_AMOUNT = re.compile(r"(-?\d+(?:\.\d+)?)([MG]?)")
_DURATION = re.compile(r"(\d+) (\d\d):(\d\d):(\d\d)")


def sort_key(column: str, value: str) -> tuple[int, float, str]:
    """How a cell sorts when a pane is sorted by its column: numbers as numbers (in NUMERIC
    columns with `human_mb`'s units too: `128M` before `1.7G`), a duration (`DD HH:MM:SS`) as
    seconds, anything else as text without case; `-` and empty cells first."""
    text = value.strip()
    if text in ("", "-"):
        return (0, 0.0, "")
    amount = _AMOUNT.fullmatch(text)
    if amount and (column in NUMERIC or not amount[2]):  # a plain number in any column
        return (1, float(amount[1]) * (1024 if amount[2] == "G" else 1), "")
    if duration := _DURATION.fullmatch(text):
        days, hours, mins, secs = map(int, duration.groups())
        return (1, float(((days * 24 + hours) * 60 + mins) * 60 + secs), "")
    return (2, 0.0, text.lower())


def human_mb(mb: float | int | None) -> str:
    """Memory for people: 512M, 1.7G, 16G (MB in, binary units)."""
    if mb is None or mb == "":
        return "-"
    mb = float(mb)
    if abs(mb) < 1024:
        return f"{mb:.0f}M"
    gb = mb / 1024
    return f"{gb:.0f}G" if gb >= 100 or gb == int(gb) else f"{gb:.1f}G"


def _num(value: Any) -> str:
    return "-" if value is None or value == "" else f"{float(value):.0f}"


def host_row(host: Host) -> tuple[str, ...]:
    mon = host.monitor
    return (
        str(host.id), host.name, host.driver, _num(mon.get("RVM", 0)), _num(mon.get("TCPU")),
        _num(mon.get("FCPU")), _num(mon.get("ACPU")), human_mb(mon.get("TMEM")),
        human_mb(mon.get("FMEM")), host.stat,
    )


def vm_row(vm: VM, now: float | None = None) -> tuple[str, ...]:
    """CPU is the guest's use in percent of one core, MEM its memory, as onevm list."""
    live = vm.state in ("runn", "susp", "shut", "unkn")
    cpu = vm.info.get("cpu_usage", 0) if vm.state in ("runn", "shut") else 0  # paused: idle
    mem = vm.info.get("mem_usage", vm.memory) if live else 0
    return (str(vm.id), vm.name, vm.state, f"{cpu:.0f}", human_mb(mem) if mem else "0",
            vm.host_name, vm_time(vm, now))


def stamp(t: float | None) -> str:
    """OpenNebula's `07/21 15:42:47`, or '-' for never."""
    return time.strftime("%m/%d %H:%M:%S", time.localtime(t)) if t else "-"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]],
          right: Collection[str] = ()) -> str:
    """Columns padded to their widest cell; the columns named in `right` align right
    (numbers), as `onevm list` and `onehost list` print them."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]

    def line(row: Sequence[str]) -> str:
        parts = [
            cell.rjust(w) if head in right else cell.ljust(w)
            for cell, w, head in zip(row, widths, headers, strict=True)
        ]
        return " ".join(parts).rstrip()

    return "\n".join([line(list(headers)), *(line(r) for r in cells)])


def pairs(items: Sequence[tuple[str, Any]]) -> str:
    """`KEY : value` lines with the colons aligned, as `onevm show` prints them."""
    width = max((len(k) for k, _ in items), default=0)
    return "\n".join(f"{k.ljust(width)} : {v}" for k, v in items)


def service_counts(services: Sequence[Service], vms: Sequence[VM]) -> dict[int, tuple[int, int]]:
    """Service id → (running, members), from one pass over the VMs."""
    counts = {svc.id: [0, 0] for svc in services}
    for vm in vms:
        count = counts.get(int(vm.info.get("service") or 0))
        if count is not None and vm.state != "done":
            count[0] += vm.state == "runn"
            count[1] += 1
    return {sid: (running, members) for sid, (running, members) in counts.items()}


def service_row(svc: Service, running: int, members: int) -> tuple[str, ...]:
    """SERVICE_COLUMNS of a service, as `service list` and the Services pane show it."""
    return (str(svc.id), svc.name, str(svc.min_size), str(svc.max_size), str(svc.desired),
            str(running), str(members))

