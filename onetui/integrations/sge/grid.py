"""The grid as `qstat -f -xml -u '*'` and `qhost -xml` report it, parsed into plain values,
and printed back in `qstat -f`'s own layout (what admins know from the seed)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from onetui.errors import UserError


class GridError(UserError):
    """Output of an SGE command that is not what it should be (truncated, garbled)."""


@dataclass(frozen=True)
class Job:
    number: int
    priority: float
    name: str
    owner: str
    state: str
    time: str  # start time if running, else submission time (ISO, as SGE gives it)
    slots: int
    tasks: str = ""


@dataclass(frozen=True)
class QueueInstance:
    name: str  # queue@host
    qtype: str
    resv: int
    used: int
    total: int
    load_avg: float | None
    arch: str
    states: str
    jobs: list[Job] = field(default_factory=list)

    @property
    def queue(self) -> str:
        return self.name.partition("@")[0]

    @property
    def host(self) -> str:
        return self.name.partition("@")[2]


@dataclass(frozen=True)
class Grid:
    queues: list[QueueInstance]
    pending: list[Job]

    def to_json(self) -> dict[str, Any]:
        return {"queues": [{**asdict(q), "queue": q.queue, "host": q.host}
                           for q in self.queues],
                "pending": [asdict(j) for j in self.pending]}

    def instance(self, name: str) -> QueueInstance | None:
        return next((q for q in self.queues if q.name == name), None)


def _root(text: str, what: str) -> ET.Element:
    if not text.strip():
        raise GridError(f"{what}: empty output")
    try:
        return ET.fromstring(text)
    except ET.ParseError as exc:
        line, col = exc.position
        raise GridError(f"{what}: malformed XML at line {line}, column {col + 1} "
                        "(truncated output?)") from None


def _text(el: ET.Element, tag: str, default: str = "") -> str:
    found = el.find(tag)
    return (found.text or "").strip() if found is not None else default


def _int(el: ET.Element, tag: str, what: str) -> int:
    value = _text(el, tag, "0")
    try:
        return int(value)
    except ValueError:
        raise GridError(f"{what}: <{tag}> is {value!r}, expected a whole number") from None


def _job(el: ET.Element, what: str) -> Job:
    try:
        priority = float(_text(el, "JAT_prio", "0") or 0)
    except ValueError:
        raise GridError(f"{what}: job priority {_text(el, 'JAT_prio')!r} is not a number")\
            from None
    return Job(
        number=_int(el, "JB_job_number", what), priority=priority, name=_text(el, "JB_name"),
        owner=_text(el, "JB_owner"), state=_text(el, "state"),
        time=_text(el, "JAT_start_time") or _text(el, "JB_submission_time"),
        slots=_int(el, "slots", what), tasks=_text(el, "tasks"))


def parse_qstat(text: str) -> Grid:
    """`qstat -f -xml -u '*'`: queue instances with their running jobs, then pending jobs."""
    what = "qstat -f -xml"
    root = _root(text, what)
    if root.tag != "job_info":
        raise GridError(f"{what}: expected <job_info>, found <{root.tag}>")
    queues = []
    for q in root.iter("Queue-List"):
        load = _text(q, "load_avg")
        try:
            load_avg = float(load) if load else None
        except ValueError:
            load_avg = None
        queues.append(QueueInstance(
            name=_text(q, "name"), qtype=_text(q, "qtype"), resv=_int(q, "slots_resv", what),
            used=_int(q, "slots_used", what), total=_int(q, "slots_total", what),
            load_avg=load_avg, arch=_text(q, "arch"), states=_text(q, "state"),
            jobs=[_job(j, what) for j in q.findall("job_list")]))
    pending_root = root.find("job_info")
    pending = [] if pending_root is None else [
        _job(j, what) for j in pending_root.findall("job_list")]
    return Grid(queues, pending)


def parse_qhost(text: str) -> list[dict[str, str]]:
    """`qhost -xml`: one dict per exec host (the `global` pseudo-host left out)."""
    root = _root(text, "qhost -xml")
    hosts = []
    for h in root.findall("host"):
        if h.get("name") == "global":
            continue
        values = {v.get("name", ""): (v.text or "").strip() for v in h.findall("hostvalue")}
        hosts.append({"name": h.get("name", ""), **values})
    return hosts


def _stamp(iso: str) -> str:
    try:
        return datetime.fromisoformat(iso).strftime("%m/%d/%Y %H:%M:%S")
    except ValueError:
        return iso


def _job_line(job: Job) -> str:
    line = (f"{job.number:>7} {job.priority:.5f} {job.name[:10]:<10} {job.owner[:12]:<12} "
            f"{job.state:<5} {_stamp(job.time):<19} {job.slots:>5} {job.tasks}")
    return line.rstrip()


RULE = "-" * 81


def render_qstat(grid: Grid) -> str:
    """The grid in `qstat -f`'s layout: queue rows, their jobs beneath, then PENDING JOBS."""
    lines = [f"{'queuename':<30} qtype resv/used/tot. load_avg arch          states"]
    for q in grid.queues:
        load = f"{q.load_avg:.2f}" if q.load_avg is not None else "-NA-"
        slots = f"{q.resv}/{q.used}/{q.total}"
        lines.append(RULE)
        lines.append(f"{q.name:<30} {q.qtype:<5} {slots:<14} {load:<8} "
                     f"{q.arch or '-NA-':<13} {q.states}".rstrip())
        lines += [_job_line(j) for j in q.jobs]
    if grid.pending:
        lines += ["", "#" * 76,
                  " - PENDING JOBS - PENDING JOBS - PENDING JOBS - PENDING JOBS - PENDING JOBS",
                  "#" * 76]
        lines += [_job_line(j) for j in grid.pending]
    return "\n".join(lines)
