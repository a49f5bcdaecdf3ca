"""Rows for hosts and VMs, as OpenNebula's `onehost list` and `onevm list` show them, and
what a script may ask of any table: some of its columns, some of its rows, as CSV.

One place decides what a cell says, so the CLI's tables and the console's panes agree; the
filters and CSV work on those same cells, as OpenNebula's `--filter` and `--csv` do.
"""

from __future__ import annotations

import csv
import io
import math
import re
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from onetui.errors import UserError
from onetui.model import VM, Event, Host, age, vm_time
from onetui.store.history import FIELDS, Point

if TYPE_CHECKING:  # services' rows are made from records their own commands read
    from onetui.model.services import Service

SERVICE_COLUMNS = ("ID", "NAME", "MIN", "MAX", "DESIRED", "RUNNING", "VMS")
HOST_COLUMNS = ("HID", "NAME", "DRIVER", "RVM", "TCPU", "FCPU", "ACPU", "TMEM", "FMEM", "STAT")
VM_COLUMNS = ("ID", "NAME", "STAT", "CPU", "MEM", "HOSTNAME", "TIME")
LAB_COLUMNS = ("ID", "LAB", "READY", "EXPIRES")
EVENT_COLUMNS = ("#", "TIME", "MESSAGE")
SEAT_COLUMNS = ("SEAT", "VM", "VM STATE", "ADDRESS", "USER", "PASSWORD", "READY", "STATE")
# `--history`: the time and each measured field of the kind (store.history.FIELDS' order)
HISTORY_COLUMNS: dict[str, tuple[str, ...]] = {
    "host": ("TIME", "CPU%", "MEM%", "RVM"),
    "vm": ("TIME", "CPU", "MEM"),
    "grid": ("TIME", "RUNNING", "PENDING", "OLDEST PENDING"),
    "service": ("TIME", "DESIRED", "RUNNING", "REQ/S"),
}
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


def vm_usage(vm: VM) -> tuple[float, float]:
    """What a VM uses now: CPU in percent of one core, memory in MB (0, 0 when not live)."""
    live = vm.state in ("runn", "susp", "shut", "unkn")
    cpu = vm.info.get("cpu_usage", 0) if vm.state in ("runn", "shut") else 0  # paused: idle
    mem = vm.info.get("mem_usage", vm.memory) if live else 0
    return float(cpu or 0), float(mem or 0)


def vm_row(vm: VM, now: float | None = None) -> tuple[str, ...]:
    """CPU is the guest's use in percent of one core, MEM its memory, as onevm list."""
    cpu, mem = vm_usage(vm)
    return (str(vm.id), vm.name, vm.state, f"{cpu:.0f}", human_mb(mem) if mem else "0",
            vm.host_name, vm_time(vm, now))


def stamp(t: float | None) -> str:
    """OpenNebula's `07/21 15:42:47`, or '-' for never."""
    return time.strftime("%m/%d %H:%M:%S", time.localtime(t)) if t else "-"


def event_row(event: Event) -> tuple[str, str, str]:
    """EVENT_COLUMNS of an event, as the Events pane and `onetui events` show it."""
    return str(event.id), stamp(event.at), event.message


def history_row(kind: str, point: Point) -> tuple[str, ...]:
    """HISTORY_COLUMNS of a history point: a field not measured then is `-`; a VM's
    memory as MEM is everywhere (512M), the oldest pending job's age as TIME is
    (`DD HH:MM:SS`)."""
    cells = [stamp(point.at)]
    for name in FIELDS[kind]:
        value = point.values.get(name)
        if value is None:
            cells.append("-")
        elif kind == "vm" and name == "mem":
            cells.append(human_mb(value))
        elif name == "oldest_pending_s":
            cells.append(age(value))
        else:
            cells.append(f"{value:.1f}" if name in ("cpu", "mem", "rps") else f"{value:.0f}")
    return tuple(cells)


def history_json(point: Point) -> dict[str, float]:
    """A point for scripts: `at` (seconds since the epoch) and the fields measured then."""
    return {"at": point.at, **point.values}


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



# --- what a script asks of a table: columns, rows (filters), CSV ------------------------

FILTER_OPS = ("!=", "<=", ">=", "=", "<", ">", "~")  # longest first: `!=` before `=`
_UNITS = {"K": 1 / 1024, "M": 1.0, "G": 1024.0, "T": 1024.0 ** 2}


def quantity(text: str) -> float | None:
    """A cell or a filter value as a number, memory in MB: `650`, `1.5G`, `512M` (as
    human_mb writes them); None for `-` or anything else that is not a number."""
    t = text.strip().upper()
    scale = 1.0
    if t[-1:] in _UNITS:
        t, scale = t[:-1], _UNITS[t[-1]]
    try:
        value = float(t) * scale
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _key(name: str) -> str:
    return name.strip().upper().replace("_", " ")


def column_index(headers: Sequence[str], name: str, what: str) -> int:
    """The position of the column a user named (any case; `_` for a space); UserError
    naming `what` (the option) and the valid names otherwise."""
    keys = [_key(h) for h in headers]
    if _key(name) in keys:
        return keys.index(_key(name))
    raise UserError(f"{what}: no column {name.strip()!r}; expected one of "
                    f"{', '.join(h.replace(' ', '_') for h in headers)}")


def pick_columns(headers: Sequence[str], spec: str) -> tuple[int, ...]:
    """`-l NAME,STAT` → the positions of those columns, in the order given."""
    names = [n for n in spec.split(",") if n.strip()]
    if not names:
        raise UserError(f"-l/--list {spec!r}: expected column names separated by commas, "
                        f"of {', '.join(h.replace(' ', '_') for h in headers)}")
    return tuple(column_index(headers, n, "-l/--list") for n in names)


@dataclass(frozen=True)
class RowFilter:
    """`KEY<op>VALUE` on one column's cell: `=`/`!=` exact, `~` contains, and `<`, `<=`,
    `>`, `>=` on numeric columns (memory cells like 1.5G compare as MB)."""

    text: str
    index: int
    op: str
    value: str
    number: float | None  # the value as a number, on a numeric column

    def keep(self, row: Sequence[Any]) -> bool:
        cell = str(row[self.index])
        if self.op == "~":
            return self.value in cell
        if self.number is not None:
            have = quantity(cell)
            if have is None:  # `-`: unknown, so neither equal nor ordered
                return self.op == "!="
            return _compare(have, self.op, self.number)
        return (cell == self.value) == (self.op == "=")


def _compare(have: float, op: str, want: float) -> bool:
    return {"=": have == want, "!=": have != want, "<": have < want, "<=": have <= want,
            ">": have > want, ">=": have >= want}[op]


def parse_filter(text: str, headers: Sequence[str], numeric: Collection[str]) -> RowFilter:
    """One `--filter` term (OpenNebula's operators); UserError saying what was expected."""
    where = f"--filter {text!r}"
    hits = [(text.find(op), op) for op in FILTER_OPS if text.find(op) > 0]
    if not hits:
        raise UserError(f"{where}: expected COLUMN=VALUE (or !=, ~, and <, <=, >, >= on "
                        f"numbers), e.g. STAT=runn")
    at = min(pos for pos, _ in hits)
    op = next(o for pos, o in hits if pos == at)  # FILTER_OPS order: `<=` before `<`
    key, value = text[:at], text[at + len(op):]
    index = column_index(headers, key, where)
    is_numeric = headers[index] in numeric
    number = quantity(value) if is_numeric and op != "~" else None
    if op in ("<", "<=", ">", ">=") and number is None:
        kinds = ", ".join(h for h in headers if h in numeric) or "none here"
        raise UserError(f"{where}: {op} compares numbers: expected a numeric column "
                        f"({kinds}) and a number such as 2, 650 or 1.5G")
    return RowFilter(text, index, op, value, number)


def csv_text(headers: Sequence[str], rows: Sequence[Sequence[Any]],
             header: bool = True) -> str:
    """RFC 4180 quoting (the csv module's), one record a line ending in a newline."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if header:
        writer.writerow(headers)
    writer.writerows(rows)
    return out.getvalue()
