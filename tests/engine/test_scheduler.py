"""The scheduler: who goes where, and a reason for every host that was passed over."""

from __future__ import annotations

from onetui.engine.scheduler import EC2, HYBRID, HostView, Request, schedule
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
