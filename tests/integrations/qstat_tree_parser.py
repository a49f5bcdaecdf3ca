"""`parse_qstat` as it was before it was made fast (ElementTree builds the whole tree, then
`find` per field), frozen here as the reference the new parser must match value for value
and error for error. Only the tests use it; it builds onetui's own Grid, Job and
QueueInstance so the two outputs compare with ==."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from onetui.integrations.sge.grid import Grid, GridError, Job, QueueInstance


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


def parse_qstat_tree(text: str) -> Grid:
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
