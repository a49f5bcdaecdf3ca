"""The match-maker: which pending VM goes to which host, and why the others wait.

Pure: it gets plain views of hosts and requests and returns decisions, so it is fast to test
and to benchmark. A VM may go to a host that is usable, runs a driver that can run its
template, satisfies its REQUIREMENTS and has room for its CPU and MEMORY; among those the
one with the highest RANK wins (default: pack, i.e. the host running most VMs).

Speed: requests with the same shape (requirements, rank, kind, size) share one candidate
heap; REQUIREMENTS are evaluated once per distinct expression and host, and a host a VM was
placed on is re-ranked in every heap that holds it (its RANK may have risen: packing). 10,000 VMs on 1,000 hosts take
well under a second (see bench/scheduler.py).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
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
        free_cpu = self.tcpu - self.used_cpu
        free_mem = self.tmem - self.used_mem
        return {
            **self.attrs,
            "HOSTNAME": self.name, "NAME": self.name, "HID": self.id, "DRIVER": self.driver,
            "TCPU": self.tcpu, "ACPU": free_cpu, "TMEM": self.tmem, "FMEM_ALLOC": free_mem,
            "RVM": self.rvm, "RUNNING_VMS": self.rvm, "TOTALCPU": self.tcpu,
            "TOTALMEMORY": self.tmem, "FREECPU": self.attrs.get("FCPU", free_cpu),
            "FREEMEMORY": self.attrs.get("FMEM", free_mem),
            "FCPU": self.attrs.get("FCPU", free_cpu), "FMEM": self.attrs.get("FMEM", free_mem),
        }


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


class _Group:
    """Requests of one shape: their candidate hosts in a heap, best first."""

    def __init__(self, sample: Request, hosts: list[HostView], matches: set[int]) -> None:
        self.sample = sample
        self.hosts = hosts
        self.matches = matches
        self.heap: list[tuple] = []
        for idx in sorted(matches):
            self.push(idx)
        self.report: tuple[list[dict[str, str]], str] | None = None

    def _key(self, host: HostView, idx: int) -> tuple:
        rank = self.sample.rank.evaluate(host.variables()) if self.sample.rank else host.rvm
        # Local hosts first for hybrid templates; then higher rank; then lower host id.
        return (host.is_ec2, -rank, host.id, host.version, idx)

    def push(self, idx: int) -> None:
        heapq.heappush(self.heap, self._key(self.hosts[idx], idx))

    def pick(self) -> int | None:
        """The best host with room, or None. Stale entries are re-ranked on the way."""
        need_cpu, need_mem = self.sample.cpu * 100, self.sample.memory
        while self.heap:
            entry = self.heap[0]
            idx = entry[-1]
            host = self.hosts[idx]
            if entry[-2] != host.version:
                heapq.heapreplace(self.heap, self._key(host, idx))
                continue
            if host.tcpu - host.used_cpu < need_cpu or host.tmem - host.used_mem < need_mem:
                heapq.heappop(self.heap)  # capacity only shrinks within a pass
                continue
            return idx
        return None


def _kind_allows(kind: str, host: HostView) -> bool:
    return kind == HYBRID or (kind == EC2) == host.is_ec2


def _rejection(req: Request, host: HostView, base: dict[str, Any]) -> str:
    if req.host is not None and host.id != req.host:
        return f"deployed by the admin to host {req.host} (`vm deploy`)"
    if host.unusable:
        return host.unusable
    if not _kind_allows(req.kind, host):
        return ("an EC2 template runs only on an ec2 host" if req.kind == EC2
                else "a template without an EC2 section cannot run on ec2")
    if req.host is None and req.requirements and not req.requirements.evaluate(base):
        clauses = req.requirements.explain(base)
        return "REQUIREMENTS false: " + " & ".join(clauses or [req.requirements.text])
    need_cpu, free_cpu = req.cpu * 100, host.tcpu - host.used_cpu
    if free_cpu < need_cpu:
        return f"not enough CPU: needs {need_cpu:g}, free {max(free_cpu, 0):g} of {host.tcpu:g}"
    free_mem = host.tmem - host.used_mem
    return f"not enough memory: needs {req.memory} MB, free {max(free_mem, 0)} of {host.tmem} MB"


def _report(req: Request, hosts: list[HostView],
            static: list[dict[str, Any]]) -> tuple[list[dict[str, str]], str]:
    reasons = [{"host": h.name, "reason": _rejection(req, h, static[i])}
               for i, h in enumerate(hosts)]
    if not hosts:
        return [], "no hosts"
    counts: dict[str, int] = {}
    for r in reasons:
        key = r["reason"].split(":")[0]
        counts[key] = counts.get(key, 0) + 1
    ordered = sorted(counts.items(), key=lambda kv: -kv[1])
    summary = "; ".join(f"{n} host(s): {k}" for k, n in ordered)
    kept = reasons[:REPORT_HOSTS]
    if len(reasons) > REPORT_HOSTS:
        kept.append({"host": "…", "reason": f"{len(reasons) - REPORT_HOSTS} more host(s)"})
    return kept, summary


def schedule(requests: Iterable[Request], hosts: list[HostView]) -> Decision:
    """Place `requests` (in order: lower VM ids first) on `hosts`, updating the hosts'
    allocations as it goes."""
    decision = Decision()
    static = [h.variables() for h in hosts]  # REQUIREMENTS see the state at pass start
    match_cache: dict[tuple[str, str, int | None], set[int]] = {}
    groups: dict[tuple, _Group] = {}
    for req in sorted(requests, key=lambda r: r.vm_id):
        group = groups.get(req.shape)
        if group is None:
            key = (req.requirements.text if req.requirements else "", req.kind, req.host)
            if key not in match_cache:
                match_cache[key] = {i for i, h in enumerate(hosts)
                                    if req.matches(h, static[i])}
            group = groups[req.shape] = _Group(req, hosts, match_cache[key])
        idx = group.pick()
        if idx is None:
            if group.report is None:
                group.report = _report(req, hosts, static)
            decision.pending[req.vm_id], decision.summary[req.vm_id] = group.report
            continue
        host = hosts[idx]
        host.used_cpu += req.cpu * 100
        host.used_mem += req.memory
        host.rvm += 1
        host.version += 1
        for other in groups.values():  # a placement may raise the host's RANK: re-rank it
            if idx in other.matches:
                other.push(idx)
        decision.placements[req.vm_id] = host.id
        decision.why[req.vm_id] = _why(req, host, group, hosts)
    return decision


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
