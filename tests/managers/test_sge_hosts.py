"""The engine's SGE hook on a real grid engine: a worker VM joins when it runs, and leaves
— drained first — when it is shut down."""

from __future__ import annotations

import time
from pathlib import Path

from onetui.data import node_uri
from onetui.integrations.sge.master import Master, SgeConfig
from onetui.ops import instantiate
from onetui.ops import vm_actions as actions
from onetui.runtime.compose import build_engine
from onetui.store import Store
from tests.beds.sge import bed
from tests.integrations.test_sge_master import wait_for

WORKER = ('NAME = node3\nCPU = 1\nMEMORY = 256\n'
          'SGE = [ QUEUE = "all.q", HOSTGROUP = "@allhosts", SLOTS = 1 ]\n')


def test_worker_joins_then_drains_and_leaves(sge_config: dict, store: Store,
                                             tmp_path: Path) -> None:
    master = Master(SgeConfig.from_config(sge_config))
    store.hosts.add("ursa03", "libvirt", {"uri": node_uri("ursa03")})
    tpl = tmp_path / "sgehost.template"
    tpl.write_text(WORKER)
    (vid,) = instantiate.create(store, str(tpl))
    engine = build_engine(store)
    assert engine.lead()
    try:
        engine.run_pass()
        vm = store.vms.get(vid)
        assert vm.state == "runn"
        assert vm.info["sge_state"] == "waiting"  # known to SGE, its execd not yet heard
        assert "node3" in master.run("qconf", "-sh").out.split()
        assert "node3" in master.run("qconf", "-ss").out.split()
        assert "node3" in master.run("qconf", "-shgrp", "@allhosts").out

        bed("execd", "node3")  # the worker's own execd starts, as its bootstrap would
        wait_for("node3 to report", lambda: store.vms.get(vid).info["sge_state"] == "joined",
                 step=engine.run_pass)
        inst = master.qstat().instance("all.q@node3")
        assert inst is not None and "u" not in inst.states and inst.total == 1

        job = int(master.run("qsub", "-terse", "-l", "h=node3", "-N", "drainme",
                             stdin=b"#!/bin/sh\nsleep 6\n").out.strip())
        wait_for("the job to run on node3",
                 lambda: any(j.number == job for j in master.qstat().instance(
                     "all.q@node3").jobs))

        actions.shutdown(store, vid)
        engine.run_pass()
        vm = store.vms.get(vid)
        assert vm.state == "runn"  # held: node3 drains first
        assert vm.message == "draining from SGE: 1 job(s) still running on all.q@node3"
        assert "d" in master.qstat().instance("all.q@node3").states  # no new jobs there

        wait_for("the VM to shut down after draining",
                 lambda: store.vms.get(vid).state == "done", timeout=90, step=engine.run_pass)
        assert master.qstat().instance("all.q@node3") is None
        assert "node3" not in master.run("qconf", "-sh").out.split()
        assert "node3" not in master.run("qconf", "-shgrp", "@allhosts").out
        events = [e.message for e in store.events.recent(kind="vm", obj_id=vid, limit=50)]
        assert any("SGE node3 removed from SGE: drained" in m for m in events)
    finally:
        bed("stop-execd", "node3")
        master.remove("node3")
        engine.close()
        master.close()


def test_join_failure_leaves_the_vm_running_and_says_why(sge_config: dict, store: Store,
                                                         tmp_path: Path) -> None:
    cfg = {"sge": {**sge_config["sge"], "port": 1}}  # nothing listens there
    store.hosts.add("ursa03", "libvirt", {"uri": node_uri("ursa03")})
    tpl = tmp_path / "sgehost.template"
    tpl.write_text(WORKER.replace("node3", "node4"))
    (vid,) = instantiate.create(store, str(tpl))
    engine = build_engine(store, cfg)
    assert engine.lead()
    try:
        engine.run_pass()
        vm = store.vms.get(vid)
        assert vm.state == "runn"
        assert vm.info["sge_state"] == "failed"
        assert "join node4" in vm.info["sge_message"] and "cannot connect" in vm.info[
            "sge_message"]
        assert any(e.level == "error" and "join node4" in e.message
                   for e in store.events.recent(kind="vm", obj_id=vid))
        time.sleep(0)  # the retry comes after RETRY_AFTER seconds, on a later pass
    finally:
        engine.close()
