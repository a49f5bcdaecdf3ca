"""An SGE worker tier follows its queue on the real grid engine: jobs waiting → the tier
grows and the new worker joins SGE; jobs gone → it shrinks, the worker drained and removed
from SGE through the hook."""

from __future__ import annotations

import time
from pathlib import Path

from onetui.data import node_uri
from onetui.engine.loop import Engine
from onetui.integrations.sge.master import Master, SgeConfig
from onetui.managers.elasticity import check_rule
from onetui.runtime.compose import build_engine
from onetui.store import Store

WORKER = ('CPU = 1\nMEMORY = 256\nNIC = [ NETWORK = "gridnet" ]\n'
          'SGE = [ QUEUE = "all.q", HOSTGROUP = "@allhosts", SLOTS = 1 ]\n')


def passes(engine: Engine, check, timeout: float = 60) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "the tier did not follow the grid"
        engine.run_pass()
        time.sleep(0.3)


def test_pending_jobs_grow_the_tier_and_an_empty_queue_shrinks_it(
        sge_config: dict, store: Store, tmp_path: Path) -> None:
    master = Master(SgeConfig.from_config(sge_config))
    store.hosts.add("ursa03", "libvirt", {"uri": node_uri("ursa03")})
    store.templates.add("sgeworker", WORKER)
    # the worker's address and name in the grid: node3, which the test bed's hosts know
    store.networks.add("gridnet", "10.250.3.2", "10.250.3.2", "node3")
    rules = [check_rule("PENDING_JOBS > 0", 1, 1, 2).to_dict(),
             check_rule("PENDING_JOBS = 0 & SIZE > 0", 1, -1, 2).to_dict()]
    svc = store.services.add("grid", store.templates.get("sgeworker").id, None, 0, 1,
                             {"grid": True, "rules": rules})
    svc = store.services.get(svc.id)
    engine = build_engine(store, sge_config)
    assert engine.lead()
    jobs = []
    try:
        engine.run_pass()
        assert store.services.get(svc.id).desired == 0
        for i in range(3):  # jobs on hold: they wait in the queue
            jobs.append(int(master.run("qsub", "-terse", "-h", "-N", f"wait{i}",
                                       stdin=b"#!/bin/sh\ntrue\n").out.strip()))
        passes(engine, lambda: store.services.get(svc.id).desired == 1)
        passes(engine, lambda: any(v.info.get("sge_state") in ("waiting", "joined")
                                   for v in store.vms.list(include_done=False)))
        (worker,) = [v for v in store.vms.list(include_done=False)
                     if v.info.get("service") == svc.id]
        assert (worker.name, worker.ip) == ("grid-0", "10.250.3.2")
        assert "node3" in master.run("qconf", "-sh").out.split()  # joined through the hook
        for job in jobs:
            master.run("qdel", str(job))
        jobs.clear()
        passes(engine, lambda: store.services.get(svc.id).desired == 0)
        passes(engine, lambda: store.vms.get(worker.id).state == "done")
        assert "node3" not in master.run("qconf", "-sh").out.split()  # and left again
        messages = [e.message for e in store.events.recent(limit=300, kind="service")]
        assert any("desired size 0 → 1 (rule PENDING_JOBS > 0 holds (PENDING_JOBS = 3)" in m
                   for m in messages)
        assert any("desired size 1 → 0 (rule PENDING_JOBS = 0 & SIZE > 0 holds" in m
                   for m in messages)
    finally:
        for job in jobs:
            master.run("qdel", str(job), check=False)
        master.remove("node3")
        engine.close()
        master.close()
