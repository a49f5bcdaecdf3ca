"""The match-maker: which pending VM goes to which host, and why the others wait.

Pure: it gets plain views of hosts and requests and returns decisions, so it is fast to test
and to benchmark. A VM may go to a host that is usable, runs a driver that can run its
template, satisfies its REQUIREMENTS and has room for its CPU and MEMORY; among those the
one with the highest RANK wins (default: pack, i.e. the host running most VMs).

Speed (bench/scheduler.py: 10,000 VMs on 1,000 hosts): REQUIREMENTS are evaluated once per
distinct expression and host, against the state at the start of the pass. Requests with the
same shape (requirements, rank, kind, size, pinned host) share one heap of candidate hosts,
best first. Each RANK is compiled once into a function of a host and a host's key under it
is computed once per placement on that host, for every heap ranked by it. A heap re-ranks
lazily the hosts that surface at its top; a placement that made a host better (its RANK
rose, as packing's does) is pushed at once into every heap holding it, so no heap keeps a
host buried under a worse one.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from onetui.template import Rank, Requirement

# What a template can run on: libvirt-style hosts, EC2, or either (local first).
LOCAL, EC2, HYBRID = "local", "ec2", "hybrid"
REPORT_HOSTS = 50  # per-host reasons kept for one pending VM; the rest are counted


@dataclass
class HostView:
    id: int
    name: str
    driver: str
    tcpu: float  # percent, 100 per core
    tmem: int  # MB
    used_cpu: float = 0.0  # percent allocated (onetui VMs + foreign guests)
    used_mem: int = 0
    rvm: int = 0
    unusable: str = ""  # why nothing may go here ("host is disabled"), or ""
    attrs: dict[str, Any] = field(default_factory=dict)  # admin attributes + monitoring
    version: int = 0

    @property
    def is_ec2(self) -> bool:
        return self.driver == "ec2"

    def variables(self) -> dict[str, Any]:
        """What REQUIREMENTS and RANK see, under our short names and OpenNebula's long ones."""
        return {**self.attrs, **{name: get(self) for name, get in _VARIABLES.items()}}


def _free_cpu(host: HostView) -> float:
    return host.attrs.get("FCPU", host.tcpu - host.used_cpu)  # monitoring's figure if any


def _free_mem(host: HostView) -> Any:
    return host.attrs.get("FMEM", host.tmem - host.used_mem)


# A host's variables besides its attributes (which they override), each read straight from
# the view: a compiled RANK reads only the ones it names.
_VARIABLES: dict[str, Callable[[HostView], Any]] = {
    "HOSTNAME": lambda h: h.name, "NAME": lambda h: h.name, "HID": lambda h: h.id,
    "DRIVER": lambda h: h.driver, "TCPU": lambda h: h.tcpu,
    "ACPU": lambda h: h.tcpu - h.used_cpu, "TMEM": lambda h: h.tmem,
    "FMEM_ALLOC": lambda h: h.tmem - h.used_mem, "RVM": lambda h: h.rvm,
    "RUNNING_VMS": lambda h: h.rvm, "TOTALCPU": lambda h: h.tcpu,
    "TOTALMEMORY": lambda h: h.tmem, "FREECPU": _free_cpu, "FREEMEMORY": _free_mem,
    "FCPU": _free_cpu, "FMEM": _free_mem,
}


def _variable(name: str) -> Callable[[HostView], Any]:
    return _VARIABLES.get(name) or (lambda h: h.attrs.get(name))


def _running_vms(host: HostView) -> float:
    return host.rvm  # no RANK: pack


# How a placement moves a host's variables: the running VMs go up, the free CPU and memory
# down (or stay, when monitoring gives them); nothing else changes within a pass.
_RISING = frozenset({"RVM", "RUNNING_VMS"})
_FALLING = frozenset({"ACPU", "FMEM_ALLOC", "FREECPU", "FREEMEMORY", "FCPU", "FMEM"})


@dataclass
class Request:
    vm_id: int
    cpu: float  # share of a core, as in the template (CPU = 0.5)
    memory: int  # MB
    kind: str = LOCAL
    requirements: Requirement | None = None
    rank: Rank | None = None
    host: int | None = None  # pinned by the admin (`vm deploy`): this host or none

    @property
    def shape(self) -> tuple:
        return (
            self.requirements.text if self.requirements else "",
            self.rank.text if self.rank else "",
            self.kind, self.cpu, self.memory, self.host,
        )

    def matches(self, host: HostView, variables: dict[str, Any]) -> bool:
        """May this VM go to `host` at all (room aside)? A pinned VM skips REQUIREMENTS:
        the admin chose its host."""
        if host.unusable or not _kind_allows(self.kind, host):
            return False
        if self.host is not None:
            return host.id == self.host
        return self.requirements is None or self.requirements.evaluate(variables)


@dataclass
class Decision:
    placements: dict[int, int] = field(default_factory=dict)  # vm id -> host id
    why: dict[int, str] = field(default_factory=dict)  # vm id -> how it was placed
    pending: dict[int, list[dict[str, str]]] = field(default_factory=dict)  # vm -> reasons
    summary: dict[int, str] = field(default_factory=dict)  # vm id -> one line


class _Ranking:
    """The hosts' keys under one RANK, best first: local before EC2, then a higher RANK,
    then a lower host id; each computed once per placement on its host and shared by the
    heaps of every shape ranked by it. A key ends with the host's version (placements so
    far) and its index."""

    def __init__(self, rank: Rank | None, hosts: list[HostView]) -> None:
        self.value = rank.compile(_variable) if rank else _running_vms
        # Whether a placement can make a host better: then every heap must hear of it.
        self.may_rise = rank is None or rank.trend(_RISING, _FALLING) not in (0, -1)
        self.hosts = hosts
        self.keys: list[tuple | None] = [None] * len(hosts)
        # (held, heap, CPU, memory) of each shape that still has requests to place
        self.members: list[tuple[list[tuple | None], list[tuple], float, int]] = []

    def key(self, idx: int) -> tuple:
        key = self.keys[idx]
        host = self.hosts[idx]
        if key is None or key[3] != host.version:
            key = self.keys[idx] = (host.driver == "ec2", -self.value(host), host.id,
                                    host.version, idx)
        return key

    def placed(self, idx: int) -> None:
        """A VM went to host `idx`. If that made the host better, every heap holding it
        takes the new key now; if worse, each heap re-ranks it when it surfaces."""
        old = self.keys[idx]
        if old is None:  # no heap holds it
            return
        new = self.key(idx)
        if new >= old:
            return
        host = self.hosts[idx]
        free_cpu, free_mem = host.tcpu - host.used_cpu, host.tmem - host.used_mem
        push = heapq.heappush
        for held, heap, need_cpu, need_mem in self.members:
            key = held[idx]
            if key is None or new >= key:
                continue
            if free_cpu < need_cpu or free_mem < need_mem:
                held[idx] = None  # no longer a candidate: its entry is dropped on surfacing
            elif heap[0] is key:  # a better key for the best host: still the best
                held[idx] = heap[0] = new
            else:
                held[idx] = new
                push(heap, new)


class _Group:
    """Requests of one shape: their candidate hosts in a heap, best first. `held[idx]` is
    the key a host has in the heap (never worse than its true key), or None once it is not
    a candidate; entries that are not held are left over from before a better key and are
    dropped when they surface."""

    def __init__(self, sample: Request, ranking: _Ranking, matches: set[int],
                 count: int) -> None:
        self.sample = sample
        self.need_cpu, self.need_mem = sample.cpu * 100, sample.memory
        self.left = count  # requests of this shape still to place
        self.ranking = ranking
        self.hosts = ranking.hosts
        self.matches = matches
        self.held: list[tuple | None] = [None] * len(self.hosts)
        for idx in matches:
            self.held[idx] = ranking.key(idx)
        self.heap = [key for key in self.held if key is not None]
        heapq.heapify(self.heap)
        self.report: tuple[list[dict[str, str]], str] | None = None
        self.member = (self.held, self.heap, self.need_cpu, self.need_mem)
        ranking.members.append(self.member)

    def pick(self) -> int | None:
        """The best host with room for the next request of this shape, or None. Stale
        entries are re-ranked on the way."""
        self.left -= 1
        if not self.left:  # nothing more to place: no more updates
            members = self.ranking.members
            del members[next(i for i, m in enumerate(members) if m is self.member)]
        need_cpu, need_mem = self.need_cpu, self.need_mem
        heap, held, hosts, keys = self.heap, self.held, self.hosts, self.ranking.keys
        pop, replace = heapq.heappop, heapq.heapreplace
        while heap:
            entry = heap[0]
            idx = entry[4]
            if held[idx] is not entry:  # left over from before a better key
                pop(heap)
                continue
            host = hosts[idx]
            if entry[3] != host.version:  # placed on since: re-rank (shared by its ranking)
                entry = keys[idx]
                if entry is None or entry[3] != host.version:
                    entry = self.ranking.key(idx)
                held[idx] = entry
                replace(heap, entry)
                continue
            if host.tcpu - host.used_cpu < need_cpu or host.tmem - host.used_mem < need_mem:
                pop(heap)  # capacity only shrinks within a pass
                held[idx] = None
                continue
            return idx
        return None


def _kind_allows(kind: str, host: HostView) -> bool:
    return kind == HYBRID or (kind == EC2) == host.is_ec2


def _rejection(req: Request, host: HostView, base: dict[str, Any], matched: bool,
               brief: bool) -> str:
    """Why `req` cannot go to `host`; `matched`: the host passed the pin, usability, kind and
    REQUIREMENTS (so only room is missing). `brief`: the reason's kind (the text before a
    colon) is enough, for the hosts counted but not listed."""
    if not matched:
        if req.host is not None and host.id != req.host:
            return f"deployed by the admin to host {req.host} (`vm deploy`)"
        if host.unusable:
            return host.unusable
        if not _kind_allows(req.kind, host):
            return ("an EC2 template runs only on an ec2 host" if req.kind == EC2
                    else "a template without an EC2 section cannot run on ec2")
        if brief or req.requirements is None:
            return "REQUIREMENTS false"
        clauses = req.requirements.explain(base)
        return "REQUIREMENTS false: " + " & ".join(clauses or [req.requirements.text])
    need_cpu, free_cpu = req.cpu * 100, host.tcpu - host.used_cpu
    if free_cpu < need_cpu:
        if brief:
            return "not enough CPU"
        return f"not enough CPU: needs {need_cpu:g}, free {max(free_cpu, 0):g} of {host.tcpu:g}"
    if brief:
        return "not enough memory"
    free_mem = host.tmem - host.used_mem
    return f"not enough memory: needs {req.memory} MB, free {max(free_mem, 0)} of {host.tmem} MB"


def _report(req: Request, hosts: list[HostView], static: list[dict[str, Any]],
            matches: set[int]) -> tuple[list[dict[str, str]], str]:
    if not hosts:
        return [], "no hosts"
    kept: list[dict[str, str]] = []
    counts: dict[str, int] = {}
    for i, h in enumerate(hosts):
        reason = _rejection(req, h, static[i], i in matches, brief=i >= REPORT_HOSTS)
        if i < REPORT_HOSTS:
            kept.append({"host": h.name, "reason": reason})
        key = reason.split(":")[0]
        counts[key] = counts.get(key, 0) + 1
    ordered = sorted(counts.items(), key=lambda kv: -kv[1])
    summary = "; ".join(f"{n} host(s): {k}" for k, n in ordered)
    if len(hosts) > REPORT_HOSTS:
        kept.append({"host": "…", "reason": f"{len(hosts) - REPORT_HOSTS} more host(s)"})
    return kept, summary


def schedule(requests: Iterable[Request], hosts: list[HostView]) -> Decision:
    """Place `requests` (in order: lower VM ids first) on `hosts`, updating the hosts'
    allocations as it goes."""
    decision = Decision()
    static = [h.variables() for h in hosts]  # REQUIREMENTS see the state at pass start
    match_cache: dict[tuple[str, str, int | None], set[int]] = {}
    rankings: dict[str | None, _Ranking] = {}
    rising: list[_Ranking] = []  # the rankings a placement may improve a host in
    groups: dict[tuple, _Group] = {}
    ordered = [(req, req.shape) for req in sorted(requests, key=lambda r: r.vm_id)]
    counts = Counter(shape for _, shape in ordered)
    for req, shape in ordered:
        group = groups.get(shape)
        if group is None:
            group = groups[shape] = _group(req, hosts, static, match_cache, rankings,
                                           counts[shape])
            if group.ranking.may_rise and group.ranking not in rising:
                rising.append(group.ranking)
        idx = group.pick()
        if idx is None:
            if group.report is None:
                group.report = _report(req, hosts, static, group.matches)
            decision.pending[req.vm_id], decision.summary[req.vm_id] = group.report
            continue
        host = hosts[idx]
        host.used_cpu += req.cpu * 100
        host.used_mem += req.memory
        host.rvm += 1
        host.version += 1
        for ranking in rising:
            ranking.placed(idx)
        decision.placements[req.vm_id] = host.id
        decision.why[req.vm_id] = _why(req, host, group, hosts)
    return decision


def _group(req: Request, hosts: list[HostView], static: list[dict[str, Any]],
           match_cache: dict[tuple[str, str, int | None], set[int]],
           rankings: dict[str | None, _Ranking], count: int) -> _Group:
    """The heap for `req`'s shape: its candidate hosts (shared by every shape with the same
    REQUIREMENTS, kind and pinned host), ranked by its RANK (shared by every shape with it)."""
    key = (req.requirements.text if req.requirements else "", req.kind, req.host)
    if key not in match_cache:
        match_cache[key] = {i for i, h in enumerate(hosts) if req.matches(h, static[i])}
    rank = req.rank.text if req.rank is not None else None
    if rank not in rankings:
        rankings[rank] = _Ranking(req.rank, hosts)
    return _Group(req, rankings[rank], match_cache[key], count)


def _why(req: Request, host: HostView, group: _Group, hosts: list[HostView]) -> str:
    if req.host is not None:
        return f"placed on {host.name}: deployed there by the admin (`vm deploy`)"
    matched = len(group.matches)
    text = f"placed on {host.name}: {matched} of {len(hosts)} host(s) matched"
    if req.rank:
        text += f", best RANK ({req.rank.text})"
    else:
        text += ", packed (most running VMs)"
    if req.kind == HYBRID:
        text += ("; no local host had room, so it burst to EC2" if host.is_ec2
                 else "; local hosts come before EC2")
    return text
