"""`onetui sge grow N --template T` / `sge shrink N` (the seed's scenario 4) on the real
grid engine: the clone starts and joins SGE through the hook, and on shrink it is drained
(queue instance disabled, its job left to end) and removed before it shuts down."""

from __future__ import annotations

from pathlib import Path

from onetui.data import node_uri
from onetui.integrations.sge.master import Master, SgeConfig
from onetui.runtime.compose import build_engine
from onetui.store import Store
from tests.beds.cli import onetui
from tests.beds.sge import bed
from tests.integrations.test_sge_master import wait_for

# node3 is what a joined exec host looks like on the test bed: its namespace answers at
# 10.250.3.2, the address (and name) the clone leases from gridnet
WORKER = ('CPU = 1\nMEMORY = 256\nNIC = [ NETWORK = "gridnet" ]\n'
          'SGE = [ QUEUE = "all.q", HOSTGROUP = "@allhosts", SLOTS = 1 ]\n')


def test_grow_joins_a_clone_and_shrink_drains_and_removes_it(
        sge_config: dict, store: Store, state_dir: Path) -> None:
    master = Master(SgeConfig.from_config(sge_config))
    store.hosts.add("ursa03", "libvirt", {"uri": node_uri("ursa03")})
    store.templates.add("sgebase", WORKER)
    store.networks.add("gridnet", "10.250.3.2", "10.250.3.2", "node3")
    engine = build_engine(store, sge_config)
    assert engine.lead()
    job = None
    try:
        out = onetui("sge", "grow", "1", "--template", "sgebase", state=state_dir).stdout
        assert out.startswith("exec hosts of sgebase: 0 → 1; the engine starts the clones")
        wait_for("the clone to join SGE", lambda: any(
            v.info.get("sge_state") == "waiting" for v in store.vms.list(include_done=False)),
            step=engine.run_pass)
        (clone,) = store.vms.list(include_done=False)
        assert (clone.name, clone.ip, clone.state) == ("sgebase-0", "10.250.3.2", "runn")
        assert "node3" in master.run("qconf", "-sh").out.split()
        assert "node3" in master.run("qconf", "-shgrp", "@allhosts").out

        bed("execd", "node3")  # the clone's own execd starts, as its bootstrap would
        wait_for("node3 to report", lambda: store.vms.get(clone.id).info["sge_state"] ==
                 "joined", step=engine.run_pass)
        job = int(master.run("qsub", "-terse", "-l", "h=node3", "-N", "onnode3",
                             stdin=b"#!/bin/sh\nsleep 6\n").out.strip())
        wait_for("the job to run on node3", lambda: any(
            j.number == job for j in master.qstat().instance("all.q@node3").jobs))

        out = onetui("sge", "shrink", "1", state=state_dir).stdout
        assert out.startswith("exec hosts of sgebase: 1 → 0; the engine drains each")
        wait_for("the drain", lambda: store.vms.get(clone.id).message ==
                 "draining from SGE: 1 job(s) still running on all.q@node3",
                 step=engine.run_pass)
        assert store.vms.get(clone.id).state == "runn"  # held until its job ends
        assert "d" in master.qstat().instance("all.q@node3").states  # no new jobs there
        wait_for("the clone to shut down after draining",
                 lambda: store.vms.get(clone.id).state == "done", timeout=90,
                 step=engine.run_pass)
        assert master.qstat().instance("all.q@node3") is None
        assert "node3" not in master.run("qconf", "-sh").out.split()
        assert "node3" not in master.run("qconf", "-shgrp", "@allhosts").out
        events = [e.message for e in store.events.recent(kind="vm", obj_id=clone.id,
                                                         limit=50)]
        assert any("SGE node3 removed from SGE: drained" in m for m in events)
    finally:
        bed("stop-execd", "node3")
        if job is not None:
            master.run("qdel", str(job), check=False)
        master.remove("node3")
        engine.close()
        master.close()
