"""The engine at 1,000 libvirt hosts and 10,000 VMs (libvirt's test driver, in-process):
the first pass (place and deploy everything), a steady pass (nothing changed by anyone),
what a steady pass writes (transactions, rows), how long a guest destroyed behind
onetui's back takes to show on its VM (libvirt's lifecycle event, between passes), what
writing the history costs a pass, and how big the history table is after a week.

The week is simulated: store.history.record() called with synthetic timestamps, in a
store of its own, with points shaped as the engine's (every host, every running VM). The
size depends only on which buckets hold points, so the week is sampled sparsely where
only 10-minute means are kept (a point every 10 minutes for six days), every minute for
the last day and every 2 s (a pass) for the last 10 minutes: every tier full, as a week
of passes would leave it.

Run: .venv/bin/python bench/engine.py [HOSTS] [VMS_PER_HOST]
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from onetui.drivers.virt import LibvirtDriver
from onetui.engine.loop import Engine
from onetui.engine.monitor import host_sample
from onetui.ops import instantiate
from onetui.store import Store
from onetui.store.history import MAX_ROWS, TIERS

NODE = """<node><cpu><mhz>2400</mhz><model>x86_64</model><active>32</active><nodes>1</nodes>
<sockets>1</sockets><cores>32</cores><threads>1</threads></cpu>
<memory>{kib}</memory></node>"""
TEMPLATE = ('CPU = 0.5\nMEMORY = 256\nOS = [kernel="/boot/vmlinuz", root="sda1"]\n'
            'DISK = [source="/images/local01.disk", target="sda"]\n')


def safety_net(engine: Engine, every: float = 2.0, span: float = 32.0) -> None:
    """Passes as `onetui serve` makes them (one every 2 s) for a little more than the
    safety net's 30 s: how many hosts each looks at, and the longest pass. The hosts'
    phases were set by their first look (the first pass, all together)."""
    looked, took = [], []
    end = time.monotonic() + span
    while time.monotonic() < end:
        t0 = time.perf_counter()
        looked.append(engine.run_pass().looked)
        took.append(time.perf_counter() - t0)
        time.sleep(max(0.0, every - took[-1]))
    print(f"  the 30 s safety net, a pass every {every:.0f} s for {span:.0f} s: "
          f"{sum(looked)} host looks in {len(looked)} passes, at most {max(looked)} in "
          f"one; passes median {statistics.median(took):.3f} s, longest {max(took):.3f} s")


def main() -> None:
    n_hosts = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    per_host = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    with tempfile.TemporaryDirectory() as tmp, Store.open(Path(tmp) / "s") as store:
        node = Path(tmp) / "node.xml"
        node.write_text(NODE.format(kib=64 * 1024 * 1024))
        for i in range(n_hosts):
            # one file, many hosts: every test:/// connection is its own hypervisor
            store.hosts.add(f"node{i:04d}", "libvirt", {"uri": f"test://{node}?h={i}"})
        store.templates.add("web", TEMPLATE)
        instantiate.create(store, "web", count=n_hosts * per_host, name="web-%i")
        engine = Engine(store, interval=60, look_every=30)  # as `onetui serve`
        assert engine.lead()
        try:
            start = time.perf_counter()
            engine.run_pass()
            engine.run_pass()  # the first looks after deploy see `runn`
            first = time.perf_counter() - start
            states = store.vms.count_by_state()
            steady, commits, rows, kept = [], [], [], []
            for _ in range(5):
                c0, r0 = store.db.commits, store.db.conn.total_changes
                h0 = store.history.spent
                t0 = time.perf_counter()
                engine.run_pass()
                steady.append(time.perf_counter() - t0)
                commits.append(store.db.commits - c0)
                rows.append(store.db.conn.total_changes - r0)
                kept.append(store.history.spent - h0)
            print(f"engine: {n_hosts} hosts, {n_hosts * per_host} VMs ({states})")
            print(f"  first two passes (place, deploy, see them run): {first:.2f} s")
            print("  steady pass (hosts that report events looked at every 30 s): median "
                  f"{statistics.median(steady):.3f} s "
                  f"(min {min(steady):.3f}, max {max(steady):.3f})")
            print(f"  per steady pass: {statistics.median(commits):.0f} write transactions, "
                  f"{statistics.median(rows):.0f} rows written; history "
                  f"{statistics.median(kept) * 1000:.1f} ms")
            safety_net(engine)
            engine.look_every = 0  # every host looked at, every pass
            full, history = [], []
            for _ in range(3):
                h0 = store.history.spent
                t0 = time.perf_counter()
                engine.run_pass()
                full.append(time.perf_counter() - t0)
                history.append(store.history.spent - h0)
            print(f"  a pass that looks at every host (as the 30 s safety net made one, all "
                  f"hosts at once, before it was spread): median "
                  f"{statistics.median(full):.3f} s, of which writing history (1 point per "
                  f"host and running VM) {statistics.median(history) * 1000:.0f} ms")
            engine.look_every = 30
            # a guest destroyed behind onetui's back: until its VM says so, with the
            # engine's loop idle between passes (the next one an hour away)
            engine.interval = 3600
            stop = threading.Event()
            loop = threading.Thread(target=engine.run, args=(stop,), daemon=True)
            passes = engine.passes
            loop.start()
            while engine.passes == passes:  # the loop's first pass
                time.sleep(0.01)
            time.sleep(0.5)
            vm = store.vms.list(states=["runn"])[0]
            driver = engine.drivers.host(vm.host_id or 0)
            assert isinstance(driver, LibvirtDriver)
            t0 = time.perf_counter()
            driver.conn.lookupByUUIDString(vm.deploy_id).destroy()
            while store.vms.get(vm.id).state == "runn":
                time.sleep(0.005)
            latency = time.perf_counter() - t0
            print(f"  guest destroyed outside onetui: VM {vm.id} "
                  f"{store.vms.get(vm.id).state} after {latency:.3f} s "
                  f"(libvirt's lifecycle event; passes meanwhile: {engine.passes - passes - 1})")
            stop.set()
            loop.join()
            samples = _samples(store)
        finally:
            engine.close()
        _week(Path(tmp) / "week", samples)


def _samples(store: Store) -> list[tuple[str, str, dict[str, float]]]:
    """Points as the engine's look makes them: every host, every running VM."""
    points: list[tuple[str, str, dict[str, float]]] = [
        ("host", str(h.id), host_sample(h.monitor)) for h in store.hosts.list()]
    points += [("vm", str(vm.id), {"cpu": float(random.randint(0, 100)), "mem": vm.memory})
               for vm in store.vms.list(states=["runn"])]
    return points


def _week(state: Path, samples: list[tuple[str, str, dict[str, float]]]) -> None:
    """A simulated week of history (synthetic timestamps): its size, and the cost of a
    record at 2 s passes, at minute and 10-minute roll-ups, and of reading it back."""
    hosts = sum(1 for kind, _, _ in samples if kind == "host")
    with Store.open(state) as store:
        start = 1_700_000_000.0 - 1_700_000_000.0 % 600
        end = start + 7 * 86_400
        stamps = [start + 600 * i for i in range(6 * 144)]
        stamps += [stamps[-1] + 60 * i for i in range(1, 1440 - 10)]
        stamps += [stamps[-1] + 2 * i for i in range(1, int((end - stamps[-1]) / 2) + 1)]
        costs = []
        t_all = time.perf_counter()
        for at in stamps:
            t0 = time.perf_counter()
            with store.db.transaction() as cur:
                store.history.record(cur, at, samples)
            costs.append((time.perf_counter() - t0, at))
        t_all = time.perf_counter() - t_all
        rows, data = store.history.size()
        file_mb = sum(p.stat().st_size for p in store.path.parent.glob(f"{store.path.name}*")
                      ) / 2**20
        raw = [c for c, at in costs[-250:] if at % 60 != 0]
        rolled = [c for c, at in costs[-300:] if at % 60 == 0]
        print(f"history, simulated week ({len(stamps)} records of {hosts} hosts and "
              f"{len(samples) - hosts} VMs, synthetic timestamps; {t_all:.0f} s):")
        print(f"  tiers: {', '.join(f'{step:g} s for {_span(keep)}' for step, keep in TIERS)}"
              f"; at most {MAX_ROWS} rows per kind")
        print(f"  table: {rows} rows, {data / 2**20:.1f} MiB of points; store file with "
              f"its WAL {file_mb:.0f} MiB")
        print(f"  a record (its own transaction here): median {statistics.median(raw) * 1000:.0f}"
              f" ms at pass resolution, {statistics.median(rolled) * 1000:.0f} ms when a "
              f"minute closes, max {max(c for c, _ in costs) * 1000:.0f} ms")
        vm = next(key for kind, key, _ in samples if kind == "vm")
        for kind, key, window in (("vm", vm, 7 * 86_400), ("vm", vm, 3600),
                                  ("host", "1", 86_400)):
            t0 = time.perf_counter()
            points = store.history.read(kind, key, end - window)
            print(f"  read {kind} {key} over {_span(window)}: {len(points)} points in "
                  f"{(time.perf_counter() - t0) * 1000:.0f} ms")
        keys = [key for kind, key, _ in samples if kind == "host"]
        t0 = time.perf_counter()
        store.history.read_many("host", keys, end - 3600)
        print(f"  read_many of all {len(keys)} hosts over 1 hour: "
              f"{(time.perf_counter() - t0) * 1000:.0f} ms")



def _span(seconds: float) -> str:
    for unit, size in (("day", 86_400), ("hour", 3600), ("min", 60)):
        if seconds >= size:
            n = seconds / size
            return f"{n:g} {unit}{'s' if n != 1 and unit != 'min' else ''}"
    return f"{seconds:g} s"


if __name__ == "__main__":
    main()
