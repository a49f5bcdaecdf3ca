"""The grid as `qstat -f -xml -u '*'` (or a saved `qstat -xml`, without -f) and `qhost -xml`
report it, parsed into plain values, and printed back in `qstat -f`'s own layout (what
admins know from the seed)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any
from xml.parsers import expat

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
    """A queue instance and its running jobs. Read from `qstat` without -f, an instance is
    known only by its jobs' <queue_name>: its slots are None (not reported), type, arch
    and states empty, load None."""

    name: str  # queue@host
    qtype: str
    resv: int | None
    used: int | None
    total: int | None
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

    @classmethod
    def from_json(cls, data: Any) -> Grid:
        """The grid `to_json` made (what the API's `sge.qstat` answers), exactly: a client
        shows the grid the daemon read. Anything else is a GridError naming what is wrong."""
        try:
            queues = [QueueInstance(
                name=q["name"], qtype=q["qtype"], resv=q["resv"], used=q["used"],
                total=q["total"], load_avg=q["load_avg"], arch=q["arch"], states=q["states"],
                jobs=[Job(**j) for j in q["jobs"]]) for q in data["queues"]]
            pending = [Job(**j) for j in data["pending"]]
        except (KeyError, TypeError) as exc:
            raise GridError(f"the grid's JSON: {type(exc).__name__} {exc} (expected what "
                            "Grid.to_json writes: queues with their jobs, pending jobs)") \
                from None
        return cls(queues, pending)

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
    """`qstat -f -xml -u '*'`: queue instances with their running jobs, then pending jobs.
    A `qstat -xml` without -f (running jobs straight under <queue_info>) is read too:
    see _place_running.

    A busy grid's output is megabytes (10,000 jobs: 2.6 MB) and is parsed at every poll, so
    the layout qstat prints is read directly (see _Layout); anything else, and anything
    the XML parser refuses, goes through the element tree, whose results and errors the
    direct reading reproduces exactly."""
    if not text.strip():
        raise GridError("qstat -xml: empty output")
    layout = _Layout()
    grid = layout.read(text)
    if grid is not None and (layout.shows_well_formed(text) or _well_formed(text)):
        return grid
    return _parse_qstat_tree(text)


def _parse_qstat_tree(text: str) -> Grid:
    """Any document: the whole element tree, then find() per field. The reference the
    direct reading follows, and the source of every error message."""
    what = "qstat -xml"
    root = _root(text, what)
    if root.tag != "job_info":
        hint = " (qhost -xml output: see `onetui sge hosts --xml-file`)" \
            if root.tag == "qhost" else ""
        raise GridError(f"{what}: expected <job_info> as the root element, found "
                        f"<{root.tag}>{hint}")
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
    queue_info = root.find("queue_info")
    if queue_info is not None:
        _place_running(queues, [(_job(el, what), _text(el, "queue_name"))
                                for el in queue_info.findall("job_list")], what)
    pending_root = root.find("job_info")
    pending = [] if pending_root is None else [
        _job(j, what) for j in pending_root.findall("job_list")]
    return Grid(queues, pending)


def _place_running(queues: list[QueueInstance], running: list[tuple[Job, str]],
                   what: str) -> None:
    """`qstat -xml` without -f lists running jobs straight under <queue_info>, each with
    its <queue_name>: each goes to that instance (made, known only by name, if no
    <Queue-List> gave it), so no job of the file is left out. One without a queue name is
    refused rather than dropped."""
    made: dict[str, QueueInstance] = {}
    for job, name in running:
        if not name:
            raise GridError(f"{what}: job {job.number} under <queue_info> has no "
                            "<queue_name> (expected queue@host)")
        inst = next((q for q in queues if q.name == name), None) or made.get(name)
        if inst is None:
            inst = made[name] = QueueInstance(name, "", None, None, None, None, "", "")
        inst.jobs.append(job)
    queues += sorted(made.values(), key=lambda q: q.name)


def _well_formed(text: str) -> bool:
    """Expat's verdict with the element tree's settings (namespaces on), without building
    anything: what the tree would refuse is left to it, to refuse in its own words."""
    try:
        expat.ParserCreate(namespace_separator="}").Parse(text, True)
    except expat.ExpatError:
        return False
    return True


# The direct reading knows only the markup qstat prints: the XML declaration, the
# <job_info> root (attributes, but no default namespace), <queue_info> holding
# <Queue-List>s (or, as qstat without -f prints them, the running jobs themselves, each
# with its <queue_name>), the pending <job_info>, and <job_list>s whose children are plain text
# fields, <tag>text</tag>. It counts every "<" it accounts for; if the document holds one
# more (a comment, CDATA, a DTD, a nested, self-closing or misplaced element, ...) the
# counts differ and the tree parses instead. Fields are read as find() reads them: the
# first child of that tag, its text with character references decoded, stripped.
_ATTRS = r"""(?:\s+[^\s=<>/]+\s*=\s*(?:"[^"<]*"|'[^'<]*'))*\s*"""
_HEAD = re.compile(r"(?:<\?xml[^<>]*\?>)?\s*<job_info" + _ATTRS + r">")
_DEFAULT_NAMESPACE = re.compile(r"xmlns\s*=")
_SPACE = re.compile(r"\s*")
_QUEUE_OPEN = re.compile(r"[^<]*<Queue-List>")
_JOB_OPEN = re.compile(r"[^<]*<job_list" + _ATTRS + ">")
_FIELD = re.compile(r"<([^\s<>/]+)>([^<]*)</\1>")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_CONTROL = bytes(c for c in range(32) if c not in b"\t\n\r")


def _field(tag: str) -> str:
    return rf"<{tag}>([^<]*)</{tag}>\s*"


# A job as qstat prints it, fields in its order: one findall reads them all (16 "<" each,
# 18 with <tasks>, which array jobs have).
_QSTAT_JOB = re.compile(
    r"""<job_list(?:[ \t\n]+state=(?:"[^"<&]*"|'[^'<&]*'))?[ \t\n]*>\s*"""
    + _field("JB_job_number") + _field("JAT_prio") + _field("JB_name") + _field("JB_owner")
    + _field("state")
    + r"(?:<JAT_start_time>([^<]*)</JAT_start_time>"
    + r"|<JB_submission_time>([^<]*)</JB_submission_time>)\s*"
    + _field("slots") + r"(<tasks>([^<]*)</tasks>\s*)?</job_list>")
_REF = re.compile(r"&(?:#x([0-9a-fA-F]+)|#([0-9]+)|(amp|lt|gt|quot|apos));")
_NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}


class _Unexpected(Exception):
    """Not qstat's own layout, or a value the tree would refuse: the tree parses it."""


def _decoded(raw: str) -> str:
    try:
        return _REF.sub(lambda m: chr(int(m[1], 16)) if m[1] else chr(int(m[2])) if m[2]
                        else _NAMED[m[3]], raw)
    except (ValueError, OverflowError):  # &#x110000; and the like: not well-formed
        raise _Unexpected from None


class _Layout:
    """One direct reading of a document: `marks` counts the "<" accounted for, `strict`
    says whether only the plainest forms were met (see shows_well_formed), `names` are
    the field tags met outside the jobs' fixed layout."""

    def __init__(self) -> None:
        self.marks = 0
        self.strict = True
        self.names: set[str] = set()
        self.head = ""

    def read(self, text: str) -> Grid | None:
        """The grid, or None if the document is not in qstat's layout. On a document
        that is not well-formed the result means nothing: see shows_well_formed."""
        try:
            return self.grid(text)
        except _Unexpected:
            return None

    def shows_well_formed(self, text: str) -> bool:
        """Whether the reading itself proves the document well-formed, so the parse by
        expat (a quarter of the time) can be spared. It does when every "<" was in a form
        the reading matched exactly (plain fields named plainly, <job_list> with at most
        a state="..."), the declaration and root tag pass expat on their own, and the
        text is ASCII without characters XML forbids, "&" or "]]>"."""
        if not (self.strict and text.isascii() and "&" not in text and "]]>" not in text):
            return False
        data = text.encode("ascii")
        return (len(data.translate(None, _CONTROL)) == len(data)
                and all(_NAME.fullmatch(name) for name in self.names)
                and _well_formed(self.head + "</job_info>"))

    def grid(self, text: str) -> Grid:
        head = _HEAD.match(text)
        # no "<!" or "<?" check: a comment, CDATA, DTD or instruction brings a "<" of its
        # own. Line ends and a default namespace do not, so they are looked for.
        if head is None or "\r" in text or _DEFAULT_NAMESPACE.search(text):
            raise _Unexpected
        self.head = head[0]
        self.marks = 2 + text.startswith("<?")
        space = _SPACE.match(text, head.end())
        queue_info, pos = self.section(text, space.end() if space else head.end(),
                                       "queue_info")
        pending, pos = self.section(text, pos, "job_info")
        if text[pos:].rstrip(" \t\n") != "</job_info>":  # only XML's spaces after the root
            raise _Unexpected
        *queues, rest = queue_info.split("</Queue-List>")
        instances = [self.queue(q) for q in queues]
        if "<" in rest:  # qstat without -f: the running jobs, each with its queue_name
            running = [(job, f.get("queue_name", "")) for job, f in self.each_job(rest)]
            if not all(name for _, name in running):
                raise _Unexpected  # the tree refuses it, in its words
            _place_running(instances, running, "")
        grid = Grid(instances, self.jobs(pending))
        if self.marks != text.count("<"):
            raise _Unexpected
        return grid

    def section(self, text: str, pos: int, tag: str) -> tuple[str, int]:
        """What <tag>...</tag> at pos holds ("" if it is not there), and where the markup
        after it starts."""
        if not text.startswith(f"<{tag}>", pos):
            return "", pos
        start = pos + len(tag) + 2
        end = text.find(f"</{tag}>", start)
        if end < 0:
            raise _Unexpected
        self.marks += 2
        space = _SPACE.match(text, end + len(tag) + 3)
        return text[start:end], space.end() if space else len(text)

    def queue(self, chunk: str) -> QueueInstance:
        start = _QUEUE_OPEN.match(chunk)
        if start is None:
            raise _Unexpected
        body = chunk[start.end():]
        split = body.find("<job_list")
        f = self.fields(body if split < 0 else body[:split])
        jobs = [] if split < 0 else self.jobs(body[split:])
        load = f.get("load_avg", "")
        try:
            load_avg = float(load) if load else None
        except ValueError:
            load_avg = None
        try:
            resv, used, total = (int(f.get(tag, "0"))
                                 for tag in ("slots_resv", "slots_used", "slots_total"))
        except ValueError:
            raise _Unexpected from None
        self.marks += 2
        return QueueInstance(f.get("name", ""), f.get("qtype", ""), resv, used, total,
                             load_avg, f.get("arch", ""), f.get("state", ""), jobs)

    def fields(self, body: str) -> dict[str, str]:
        found = _FIELD.findall(body)
        self.marks += 2 * len(found)
        # reversed: of repeated tags the first one is kept, as find() finds it
        fields = {tag: (_decoded(raw) if "&" in raw else raw).strip()
                  for tag, raw in reversed(found)}
        self.names.update(fields)
        return fields

    def jobs(self, chunk: str) -> list[Job]:
        """The <job_list>s in chunk: in one findall if they are all laid out as qstat
        prints them, else one by one."""
        found = _QSTAT_JOB.findall(chunk)
        marks = 16 * len(found) + 2 * sum(1 for job in found if job[8])
        if marks != chunk.count("<") or "&" in chunk:
            return self.odd_jobs(chunk)
        self.marks += marks
        # Each Job is given its __dict__ whole: a frozen dataclass's __init__ sets its
        # fields one object.__setattr__ at a time, and a dict literal handed over once is
        # cheaper still than update() with keywords. The object is the same (the tests
        # compare them with ==).
        jobs: list[Job] = []
        add = jobs.append
        new = object.__new__
        give = object.__setattr__
        try:
            for number, prio, name, owner, state, start, submit, slots, _, tasks in found:
                job = new(Job)
                give(job, "__dict__", {
                    "number": int(number), "priority": float(prio.strip() or 0),
                    "name": name.strip(), "owner": owner.strip(), "state": state.strip(),
                    "time": start.strip() or submit.strip(), "slots": int(slots),
                    "tasks": tasks.strip()})
                add(job)
        except ValueError:
            raise _Unexpected from None
        return jobs

    def odd_jobs(self, chunk: str) -> list[Job]:
        return [job for job, _ in self.each_job(chunk)]

    def each_job(self, chunk: str) -> list[tuple[Job, dict[str, str]]]:
        """The <job_list>s in chunk one by one, each with all its fields."""
        self.strict = False
        *bodies, rest = chunk.split("</job_list>")
        if "<" in rest:
            raise _Unexpected
        jobs = []
        for body in bodies:
            start = _JOB_OPEN.match(body)
            if start is None:
                raise _Unexpected
            f = self.fields(body[start.end():])
            try:
                number = int(f.get("JB_job_number", "0"))
                priority = float(f.get("JAT_prio", "0") or 0)
                slots = int(f.get("slots", "0"))
            except ValueError:
                raise _Unexpected from None
            jobs.append((Job(number, priority, f.get("JB_name", ""), f.get("JB_owner", ""),
                             f.get("state", ""),
                             f.get("JAT_start_time") or f.get("JB_submission_time", ""),
                             slots, f.get("tasks", "")), f))
        self.marks += 2 * len(bodies)
        return jobs


def parse_qhost(text: str) -> list[dict[str, str]]:
    """`qhost -xml`: one dict per exec host (the `global` pseudo-host left out)."""
    root = _root(text, "qhost -xml")
    if root.tag != "qhost":
        hint = " (qstat -xml output: see `onetui sge qstat --xml-file`)" \
            if root.tag == "job_info" else ""
        raise GridError(f"qhost -xml: expected <qhost> as the root element, found "
                        f"<{root.tag}>{hint}")
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


QUEUE_WIDTH = 30  # qstat -f's queuename column; longer instance names widen it


def render_qstat(grid: Grid) -> str:
    """The grid in `qstat -f`'s layout: queue rows, their jobs beneath, then PENDING JOBS.
    As SGE 6.2 and later do, the queuename column (and the rules) widen to the longest
    instance name, so a row with `all.q@ip-10-0-0-166.eu-west-1.compute.internal` stays in
    line. Values a `qstat` without -f does not report are -NA-."""
    width = max([QUEUE_WIDTH, *(len(q.name) for q in grid.queues)])
    rule = "-" * (81 + width - QUEUE_WIDTH)
    lines = [f"{'queuename':<{width}} qtype resv/used/tot. load_avg arch          states"]
    for q in grid.queues:
        load = f"{q.load_avg:.2f}" if q.load_avg is not None else "-NA-"
        slots = "-NA-" if q.total is None else f"{q.resv}/{q.used}/{q.total}"
        lines.append(rule)
        lines.append(f"{q.name:<{width}} {q.qtype:<5} {slots:<14} {load:<8} "
                     f"{q.arch or '-NA-':<13} {q.states}".rstrip())
        lines += [_job_line(j) for j in q.jobs]
    if grid.pending:
        lines += ["", "#" * 76,
                  " - PENDING JOBS - PENDING JOBS - PENDING JOBS - PENDING JOBS - PENDING JOBS",
                  "#" * 76]
        lines += [_job_line(j) for j in grid.pending]
    return "\n".join(lines)
