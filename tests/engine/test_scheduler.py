"""The scheduler: who goes where, and a reason for every host that was passed over."""

from __future__ import annotations

import copy
import random

import pytest

from onetui.engine.scheduler import EC2, HYBRID, LOCAL, Decision, HostView, Request, schedule
from onetui.template import parse_rank, parse_requirements


def host(hid: int, name: str, cores: int = 8, gib: int = 16, **kw) -> HostView:
    return HostView(id=hid, name=name, driver=kw.pop("driver", "libvirt"), tcpu=cores * 100,
                    tmem=gib * 1024, **kw)


def req(vm_id: int, cpu: float = 1, mem: int = 512, requirements: str = "", rank: str = "",
        kind: str = "local") -> Request:
    return Request(vm_id, cpu, mem, kind,
                   parse_requirements(requirements) if requirements else None,
                   parse_rank(rank) if rank else None)


def test_default_policy_packs_onto_the_busiest_host() -> None:
    hosts = [host(1, "ursa03"), host(2, "ursa04", rvm=0)]
    hosts[1].rvm = 3  # ursa04 already runs three VMs
    d = schedule([req(i) for i in range(3)], hosts)
    assert set(d.placements.values()) == {2}
    assert "packed" in d.why[0]


def test_packing_follows_a_host_that_other_vms_made_the_busiest() -> None:
    # ursa04 has the memory for the big VMs; once they run there it is the busiest host, so
    # the next small VM joins them rather than going to ursa03, busier at the start.
    hosts = [host(1, "ursa03", gib=4, rvm=2), host(2, "ursa04", gib=64, rvm=2)]
    d = schedule([req(1, mem=512), req(2, mem=8192), req(3, mem=8192), req(4, mem=512)], hosts)
    assert d.placements == {1: 1, 2: 2, 3: 2, 4: 2}


def test_rank_freecpu_spreads_by_free_cpu() -> None:
    hosts = [host(1, "small", cores=2), host(2, "big", cores=8)]
    d = schedule([req(i, cpu=1, rank="FREECPU") for i in range(4)], hosts)
    assert list(d.placements.values()) == [2, 2, 2, 2]  # big keeps more free CPU throughout
    d = schedule([req(10, rank="- FREECPU")], [host(1, "small", cores=2), host(2, "big")])
    assert d.placements == {10: 1}


def test_requirements_with_wildcards_and_admin_attributes() -> None:
    hosts = [host(1, "ursa03", attrs={"RACK": "r1"}), host(2, "orion1", attrs={"RACK": "r2"})]
    d = schedule([req(1, requirements='HOSTNAME = "ursa*"'),
                  req(2, requirements='RACK = "r2"'),
                  req(3, requirements='RACK != "r*"')], hosts)
    assert d.placements == {1: 1, 2: 2}
    reasons = {r["host"]: r["reason"] for r in d.pending[3]}
    assert reasons == {"ursa03": 'REQUIREMENTS false: RACK != "r*"',
                       "orion1": 'REQUIREMENTS false: RACK != "r*"'}


def test_capacity_is_counted_as_vms_are_placed() -> None:
    hosts = [host(1, "ursa03", cores=8), host(2, "ursa04", cores=4)]
    d = schedule([req(i, cpu=1) for i in range(16)], hosts)
    assert sorted(d.placements.values()).count(1) == 8
    assert sorted(d.placements.values()).count(2) == 4
    assert sorted(d.pending) == [12, 13, 14, 15]
    reason = {r["host"]: r["reason"] for r in d.pending[12]}
    assert reason["ursa03"] == "not enough CPU: needs 100, free 0 of 800"
    assert d.summary[12] == "2 host(s): not enough CPU"


def test_why_pending_names_each_host_and_its_reason() -> None:
    hosts = [host(1, "ursa03", gib=16), host(2, "ursa04", unusable="host is disabled"),
             host(3, "ec2", driver="ec2")]
    d = schedule([req(7, mem=20_000)], hosts)
    reasons = {r["host"]: r["reason"] for r in d.pending[7]}
    assert reasons == {
        "ursa03": "not enough memory: needs 20000 MB, free 16384 of 16384 MB",
        "ursa04": "host is disabled",
        "ec2": "a template without an EC2 section cannot run on ec2",
    }


def test_ec2_templates_go_only_to_ec2_and_the_seed_requirement_works() -> None:
    hosts = [host(1, "ursa03"), host(2, "ec2", driver="ec2", cores=100, gib=400)]
    d = schedule([req(1, kind=EC2, requirements='HOSTNAME = "ec2"'), req(2, kind=EC2)], hosts)
    assert d.placements == {1: 2, 2: 2}


def test_hybrid_templates_burst_to_ec2_only_when_local_is_full() -> None:
    hosts = [host(1, "ursa03", cores=2), host(2, "ec2", driver="ec2", cores=100, gib=400)]
    d = schedule([req(i, cpu=1, kind=HYBRID) for i in range(3)], hosts)
    assert d.placements == {0: 1, 1: 1, 2: 2}
    assert "local hosts come before EC2" in d.why[0]
    assert "burst to EC2" in d.why[2]


# --- the same decisions as a brute-force reference -------------------------------------

REQUIREMENTS = ["", "", 'RACK = "r1*"', 'HOSTNAME != "n*3"', "TCPU > 400",
                'GPU = yes | TMEM >= 16384', '!(RACK = "r2*") & FMEM > 2000',
                'TAGS @> "ssd"', 'MISSING = "x"', "FREECPU >= 300 & ARCH = x86_64"]
RANKS = ["", "", "FREECPU", "- FREECPU", "- RUNNING_VMS", "RUNNING_VMS",
         "FREEMEMORY / 1024 + FREECPU", "TCPU", "SCORE * 2 - RVM", "FMEM / (RVM - 2)",
         "ACPU + FMEM_ALLOC / 100", "TOTALCPU - TMEM / 64 + HID", "FCPU - TOTALMEMORY / 9",
         "HOSTNAME + NAME + DRIVER + 1", "- (RUNNING_VMS * 3)"]


def _rejection(r: Request, h: HostView, base: dict) -> str:
    if r.host is not None and h.id != r.host:
        return f"deployed by the admin to host {r.host} (`vm deploy`)"
    if h.unusable:
        return h.unusable
    if r.kind != HYBRID and (r.kind == EC2) != h.is_ec2:
        return ("an EC2 template runs only on an ec2 host" if r.kind == EC2
                else "a template without an EC2 section cannot run on ec2")
    if r.host is None and r.requirements and not r.requirements.evaluate(base):
        return "REQUIREMENTS false: " + " & ".join(r.requirements.explain(base))
    if h.tcpu - h.used_cpu < r.cpu * 100:
        return (f"not enough CPU: needs {r.cpu * 100:g}, "
                f"free {max(h.tcpu - h.used_cpu, 0):g} of {h.tcpu:g}")
    return (f"not enough memory: needs {r.memory} MB, "
            f"free {max(h.tmem - h.used_mem, 0)} of {h.tmem} MB")


def _reasons(r: Request, hosts: list[HostView], static: list[dict]) -> tuple[list, str]:
    if not hosts:
        return [], "no hosts"
    reasons = [{"host": h.name, "reason": _rejection(r, h, static[i])}
               for i, h in enumerate(hosts)]
    counts: dict[str, int] = {}
    for one in reasons:
        counts[one["reason"].split(":")[0]] = counts.get(one["reason"].split(":")[0], 0) + 1
    summary = "; ".join(f"{n} host(s): {k}"
                        for k, n in sorted(counts.items(), key=lambda kv: -kv[1]))
    kept = reasons[:50] + ([{"host": "…", "reason": f"{len(reasons) - 50} more host(s)"}]
                           if len(reasons) > 50 else [])
    return kept, summary


def _why(r: Request, h: HostView, matched: int, total: int) -> str:
    if r.host is not None:
        return f"placed on {h.name}: deployed there by the admin (`vm deploy`)"
    text = f"placed on {h.name}: {matched} of {total} host(s) matched"
    text += f", best RANK ({r.rank.text})" if r.rank else ", packed (most running VMs)"
    if r.kind == HYBRID:
        text += ("; no local host had room, so it burst to EC2" if h.is_ec2
                 else "; local hosts come before EC2")
    return text


def reference(requests: list[Request], hosts: list[HostView]) -> Decision:
    """The scheduler's rules, spelled out: each request in VM id order looks at every host
    (REQUIREMENTS against the pass's starting state, RANK and room against the current
    one); local before EC2, then the highest RANK, then the lowest host id. Requests of one
    shape that find no host share the reasons computed for the first of them."""
    d, static, reports = Decision(), [h.variables() for h in hosts], {}
    for r in sorted(requests, key=lambda r: r.vm_id):
        matched = [h for i, h in enumerate(hosts) if r.matches(h, static[i])]
        fits = [h for h in matched if h.tcpu - h.used_cpu >= r.cpu * 100
                and h.tmem - h.used_mem >= r.memory]
        if not fits:
            if r.shape not in reports:
                reports[r.shape] = _reasons(r, hosts, static)
            d.pending[r.vm_id], d.summary[r.vm_id] = reports[r.shape]
            continue
        best = min(fits, key=lambda h: (
            h.is_ec2, -(r.rank.evaluate(h.variables()) if r.rank else h.rvm), h.id))
        best.used_cpu += r.cpu * 100
        best.used_mem += r.memory
        best.rvm += 1
        d.placements[r.vm_id] = best.id
        d.why[r.vm_id] = _why(r, best, len(matched), len(hosts))
    return d


def random_workload(seed: int) -> tuple[list[HostView], list[Request]]:
    rnd = random.Random(seed)
    hosts = []
    for i in range(rnd.randint(0, 70)):
        attrs: dict = {"RACK": f"r{rnd.randint(0, 3)}-{i % 4}", "ARCH": "x86_64",
                       "GPU": rnd.choice(["yes", "no"]), "SCORE": rnd.choice([1, 2.5, "3"]),
                       "TAGS": rnd.choice(["gpu,ssd", "ssd", "hdd", ["ssd", "nvme"]])}
        if rnd.random() < 0.1:  # an admin attribute under a built-in name: the built-in wins
            attrs["RVM"], attrs["TCPU"] = 50, "1"
        if rnd.random() < 0.2:  # monitoring's own figures, as host_views passes them
            attrs["FCPU"], attrs["FMEM"] = rnd.choice([0, 150, 900]), str(rnd.choice([512, 9000]))
        used = rnd.choice([0, 0, 100, 450])
        hosts.append(HostView(
            id=rnd.randint(1, 3) + 4 * i, name=f"n{i}",
            driver="ec2" if rnd.random() < 0.15 else "libvirt",
            tcpu=rnd.choice([200, 400, 800, 1600]), tmem=rnd.choice([4096, 16384, 32768]),
            used_cpu=used, used_mem=used * 8, rvm=rnd.choice([0, 0, 1, 3]),
            unusable=rnd.choice([""] * 8 + ["host is disabled", "host is in error: boom"]),
            attrs=attrs))
    shapes = [(rnd.choice(REQUIREMENTS), rnd.choice(RANKS), rnd.choice([LOCAL] * 4 + [EC2, HYBRID]))
              for _ in range(rnd.randint(1, 8))]
    ids = rnd.sample(range(1, 10_000), rnd.randint(1, 400))
    requests = []
    for vm_id in ids:
        requirements, rank, kind = rnd.choice(shapes)
        pinned = rnd.choice([h.id for h in hosts] + [999]) if hosts and rnd.random() < 0.1 \
            else None
        requests.append(Request(vm_id, rnd.choice([0.5, 1, 2, 4]), rnd.choice([256, 1024, 4096]),
                                kind, parse_requirements(requirements) if requirements else None,
                                parse_rank(rank) if rank else None, host=pinned))
    return hosts, requests


@pytest.mark.parametrize("seed", range(60))
def test_decisions_match_the_brute_force_reference(seed: int) -> None:
    hosts, requests = random_workload(seed)
    mine, theirs = copy.deepcopy(hosts), copy.deepcopy(hosts)
    got, want = schedule(requests, mine), reference(requests, theirs)
    assert got.placements == want.placements
    assert got.why == want.why
    assert got.pending == want.pending
    assert got.summary == want.summary
    assert [(h.used_cpu, h.used_mem, h.rvm) for h in mine] == \
        [(h.used_cpu, h.used_mem, h.rvm) for h in theirs]
