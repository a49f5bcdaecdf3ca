"""The engine at 1,000 libvirt hosts and 10,000 VMs (libvirt's test driver, in-process):
the first pass (place and deploy everything), a steady pass (nothing changed by anyone),
what a steady pass writes (transactions, rows), and how long a guest destroyed behind
onetui's back takes to show on its VM (libvirt's lifecycle event, between passes).

Run: .venv/bin/python bench/engine.py [HOSTS] [VMS_PER_HOST]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from onetui.drivers.virt import LibvirtDriver
from onetui.engine.loop import Engine
from onetui.ops import instantiate
from onetui.store import Store

NODE = """<node><cpu><mhz>2400</mhz><model>x86_64</model><active>32</active><nodes>1</nodes>
<sockets>1</sockets><cores>32</cores><threads>1</threads></cpu>
<memory>{kib}</memory></node>"""
TEMPLATE = ('CPU = 0.5\nMEMORY = 256\nOS = [kernel="/boot/vmlinuz", root="sda1"]\n'
            'DISK = [source="/images/local01.disk", target="sda"]\n')


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
            steady, commits, rows = [], [], []
            for _ in range(5):
                c0, r0 = store.db.commits, store.db.conn.total_changes
                t0 = time.perf_counter()
                engine.run_pass()
                steady.append(time.perf_counter() - t0)
                commits.append(store.db.commits - c0)
                rows.append(store.db.conn.total_changes - r0)
            print(f"engine: {n_hosts} hosts, {n_hosts * per_host} VMs ({states})")
            print(f"  first two passes (place, deploy, see them run): {first:.2f} s")
            print("  steady pass (hosts that report events looked at every 30 s): median "
                  f"{statistics.median(steady):.3f} s "
                  f"(min {min(steady):.3f}, max {max(steady):.3f})")
            print(f"  per steady pass: {statistics.median(commits):.0f} write transactions, "
                  f"{statistics.median(rows):.0f} rows written")
            engine.look_every = 0  # the safety net: every host looked at
            full = []
            for _ in range(3):
                t0 = time.perf_counter()
                engine.run_pass()
                full.append(time.perf_counter() - t0)
            print(f"  a pass that looks at every host (the 30 s safety net): median "
                  f"{statistics.median(full):.3f} s")
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
        finally:
            engine.close()


if __name__ == "__main__":
    main()
