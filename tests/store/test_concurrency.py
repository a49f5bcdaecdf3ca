"""Two processes writing at once never see "database is locked"."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from onetui.store import Store

WRITER = r"""
import sys
from onetui.store import Store
name, rounds = sys.argv[1], int(sys.argv[2])
with Store.open(sys.argv[3]) as store:
    host = store.hosts.add(name, "libvirt", {"uri": "test:///default"})
    for i in range(rounds):
        ids = store.vms.create([{"body": "CPU=1", "name": f"{name}-{i}-{j}"} for j in range(3)])
        store.vms.transition(ids[0], "prol", host_id=host.id)
        store.hosts.set_monitor(host.id, "on", {"RVM": i})
        store.events.add("test", None, f"{name} round {i}")
        store.changes.since(0)
print("ok", name)
"""


def test_two_writers_hammering_the_store(state_dir: Path) -> None:
    Store.open(state_dir).close()
    rounds = 150
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, name, str(rounds), str(state_dir)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for name in ("alpha", "beta")
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (_out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
        assert "locked" not in err
    with Store.open(state_dir) as store:
        vms = store.vms.list()
        assert len(vms) == 2 * rounds * 3
        assert sum(vm.state == "prol" for vm in vms) == 2 * rounds
        assert len(store.events.recent(limit=10_000, kind="test", obj_id=None)) == 2 * rounds
        seqs = [r[0] for r in store.db.read("SELECT seq FROM changes ORDER BY seq")]
        assert seqs == sorted(set(seqs))
        changed = store.changes.since(0).ids["vm"]
        assert changed == {vm.id for vm in vms}
