"""The match-maker: which pending VM goes to which host, and why the others wait.

Pure: it gets plain views of hosts and requests and returns decisions, so it is fast to test
and to benchmark. A VM may go to a host that is usable, runs a driver that can run its
template, satisfies its REQUIREMENTS and has room for its CPU and MEMORY; among those the
one with the highest RANK wins (default: pack, i.e. the host running most VMs).

Speed (bench/scheduler.py: 10,000 VMs on 1,000 hosts): REQUIREMENTS are evaluated once per
distinct expression and host, against the state at the start of the pass. Requests with the
same REQUIREMENTS, kind, pinned host and RANK share their candidate hosts, best first, in
one heap; a host leaves it for a heap per request size only once it turns out too full for
some size. Each RANK is compiled once into a function of a host, and a host's key under it
is computed once per placement on that host for every heap ranked by it. A heap re-ranks
lazily the hosts that surface at its top; a placement that can make a host better (a RANK
that rises, as packing's does: see Rank.trend) is pushed at once into every heap holding
it, so no heap keeps a host buried under worse ones.
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
    then a lower host id; each computed once per placement on its host and shared by every
    heap ranked by it. A key ends with the host's version (placements so far) and its
    index."""

    def __init__(self, rank: Rank | None, hosts: list[HostView]) -> None:
        self.value = rank.compile(_variable) if rank else _running_vms
        # Whether a placement can make a host better: then every heap must hear of it.
        self.may_rise = rank is None or rank.trend(_RISING, _FALLING) not in (0, -1)
        self.hosts = hosts
        self.keys: list[tuple | None] = [None] * len(hosts)
        self.members: list[_Candidates] = []  # those with requests still to place

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
        for cands in self.members:
            key = cands.held[idx]
            if key is not None:
                if new < key:
                    cands.held[idx] = new
                    if cands.heap[0] is key:  # a better key for the best: still the best
                        cands.heap[0] = new
                    else:
                        push(cands.heap, new)
                continue
            if idx in cands.moved:
                cands.improved(idx, new, free_cpu, free_mem)


class _Candidates:
    """The hosts that requests with one REQUIREMENTS, kind, pinned host and RANK may go to,
    best first. A host waits in one shared heap (`heap`, `held`) until a request finds it
    without room for its size; it then moves to a heap per size of these requests that it
    still fits (`spare`), so a placement re-ranks a host in one heap while it has room to
    spare and in a few once it is nearly full.

    In every heap, `held[idx]` is the key the host has there (never worse than its true
    key), or None/absent when it is not there; entries not held are left over from before
    a better key and are dropped when they surface."""

    def __init__(self, ranking: _Ranking, matches: set[int], sizes: set[tuple[float, int]],
                 count: int) -> None:
        self.ranking = ranking
        self.hosts = ranking.hosts
        self.matches = matches
        self.left = count  # requests still to place
        self.held: list[tuple | None] = [None] * len(self.hosts)
        for idx in matches:
            self.held[idx] = ranking.key(idx)
        self.heap = [key for key in self.held if key is not None]
        heapq.heapify(self.heap)
        self.spare: dict[tuple[float, int], tuple[dict[int, tuple], list[tuple]]] = {
            size: ({}, []) for size in sorted(sizes)}
        self.spares = [(held, heap, cpu * 100, mem)
                       for (cpu, mem), (held, heap) in self.spare.items()]
        self.moved: set[int] = set()  # hosts that left the shared heap for the spare ones
        ranking.members.append(self)

    def pick(self, cpu: float, memory: int) -> int | None:
        """The best host with room for the next of these requests (`cpu`, `memory`), or
        None. Stale entries are re-ranked on the way."""
        self.left -= 1
        if not self.left:  # nothing more to place: no more updates
            self.ranking.members.remove(self)
        need_cpu, need_mem = cpu * 100, memory
        shared = self._shared(need_cpu, need_mem)
        held, heap = self.spare[cpu, memory]
        spare = self._spare(held, heap, need_cpu, need_mem)
        if shared is None or (spare is not None and spare < shared):
            return None if spare is None else spare[4]
        return shared[4]

    def _shared(self, need_cpu: float, need_mem: int) -> tuple | None:
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
            free_cpu, free_mem = host.tcpu - host.used_cpu, host.tmem - host.used_mem
            if free_cpu < need_cpu or free_mem < need_mem:
                pop(heap)
                held[idx] = None
                self._move(idx, entry, free_cpu, free_mem)
                continue
            return entry
        return None

    def _move(self, idx: int, entry: tuple, free_cpu: float, free_mem: int) -> None:
        """Host `idx` lacks room for some size: into the spare heap of each size it still
        fits (capacity only shrinks within a pass: it never comes back)."""
        self.moved.add(idx)
        for held, heap, need_cpu, need_mem in self.spares:
            if free_cpu >= need_cpu and free_mem >= need_mem:
                held[idx] = entry
                heapq.heappush(heap, entry)

    def improved(self, idx: int, new: tuple, free_cpu: float, free_mem: int) -> None:
        """Host `idx`, in spare heaps, got the better key `new`."""
        for held, heap, need_cpu, need_mem in self.spares:
            key = held.get(idx)
            if key is None or new >= key:
                continue
            if free_cpu < need_cpu or free_mem < need_mem:
                del held[idx]  # no longer fits: its entry is dropped on surfacing
            elif heap[0] is key:  # a better key for the best: still the best
                held[idx] = heap[0] = new
            else:
                held[idx] = new
                heapq.heappush(heap, new)

    def _spare(self, held: dict[int, tuple], heap: list[tuple], need_cpu: float,
               need_mem: int) -> tuple | None:
        hosts, keys = self.hosts, self.ranking.keys
        pop, replace = heapq.heappop, heapq.heapreplace
        while heap:
            entry = heap[0]
            idx = entry[4]
            if held.get(idx) is not entry:
                pop(heap)
                continue
            host = hosts[idx]
            if entry[3] != host.version:
                entry = keys[idx]
                if entry is None or entry[3] != host.version:
                    entry = self.ranking.key(idx)
                held[idx] = entry
                replace(heap, entry)
                continue
            if host.tcpu - host.used_cpu < need_cpu or host.tmem - host.used_mem < need_mem:
                pop(heap)
                del held[idx]
                continue
            return entry
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
    ordered = [(req, _kinship(req)) for req in sorted(requests, key=lambda r: r.vm_id)]
    sizes: dict[tuple, set[tuple[float, int]]] = {}
    for req, kin in ordered:
        sizes.setdefault(kin, set()).add((req.cpu, req.memory))
    counts = Counter(kin for _, kin in ordered)
    match_cache: dict[tuple[str, str, int | None], set[int]] = {}
    rankings: dict[tuple[bool, str], _Ranking] = {}
    rising: list[_Ranking] = []  # the rankings a placement may improve a host in
    candidates: dict[tuple, _Candidates] = {}
    reports: dict[tuple, tuple[list[dict[str, str]], str]] = {}
    for req, kin in ordered:
        cands = candidates.get(kin)
        if cands is None:
            cands = candidates[kin] = _candidates(req, hosts, static, match_cache, rankings,
                                                  sizes[kin], counts[kin])
            if cands.ranking.may_rise and cands.ranking not in rising:
                rising.append(cands.ranking)
        idx = cands.pick(req.cpu, req.memory)
        if idx is None:
            if req.shape not in reports:
                reports[req.shape] = _report(req, hosts, static, cands.matches)
            decision.pending[req.vm_id], decision.summary[req.vm_id] = reports[req.shape]
            continue
        host = hosts[idx]
        host.used_cpu += req.cpu * 100
        host.used_mem += req.memory
        host.rvm += 1
        host.version += 1
        for ranking in rising:
            ranking.placed(idx)
        decision.placements[req.vm_id] = host.id
        decision.why[req.vm_id] = _why(req, host, len(cands.matches), hosts)
    return decision


def _kinship(req: Request) -> tuple:
    """What requests must share to share candidates: REQUIREMENTS, kind, pinned host, RANK."""
    return (req.requirements.text if req.requirements else "", req.kind, req.host,
            req.rank is None, req.rank.text if req.rank else "")


def _candidates(req: Request, hosts: list[HostView], static: list[dict[str, Any]],
                match_cache: dict[tuple[str, str, int | None], set[int]],
                rankings: dict[tuple[bool, str], _Ranking], sizes: set[tuple[float, int]],
                count: int) -> _Candidates:
    """The candidates for `req` and its kin: hosts that match (shared by every RANK with the
    same REQUIREMENTS, kind and pinned host), ranked by its RANK (shared by all with it)."""
    key = (req.requirements.text if req.requirements else "", req.kind, req.host)
    if key not in match_cache:
        match_cache[key] = {i for i, h in enumerate(hosts) if req.matches(h, static[i])}
    rank = (req.rank is None, req.rank.text if req.rank else "")
    if rank not in rankings:
        rankings[rank] = _Ranking(req.rank, hosts)
    return _Candidates(rankings[rank], match_cache[key], sizes, count)


def _why(req: Request, host: HostView, matched: int, hosts: list[HostView]) -> str:
    if req.host is not None:
        return f"placed on {host.name}: deployed there by the admin (`vm deploy`)"
    text = f"placed on {host.name}: {matched} of {len(hosts)} host(s) matched"
    if req.rank:
        text += f", best RANK ({req.rank.text})"
    else:
        text += ", packed (most running VMs)"
    if req.kind == HYBRID:
        text += ("; no local host had room, so it burst to EC2" if host.is_ec2
                 else "; local hosts come before EC2")
    return text
