"""Lab costs: the Monday-morning case.

1. `lab create` of 40 seats on libvirt test-driver hosts: the checks (addresses, capacity
   through the scheduler) and the one transaction writing 40 VMs, leases and seats; then
   one engine pass deploying them, and the lab manager's tick over 40 seats.
2. With the virt test bed up (scripts/testbed/virt.sh install guest up): N real QEMU seats
   from the lab master, from `lab create` to every account made and its login checked;
   the seats come up side by side (run it with 1 to see what one seat alone costs).

Run: .venv/bin/python bench/labs.py [N real seats, default 4]
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import libvirt

from onetui.engine.loop import Engine
from onetui.ops import labs
from onetui.runtime.compose import build_engine
from onetui.store import Store

BED = Path("/var/tmp/onetui-testbed/virt")
NODE = """<node><cpu><mhz>2400</mhz><model>x86_64</model><active>32</active><nodes>1</nodes>
<sockets>1</sockets><cores>32</cores><threads>1</threads></cpu><memory>67108864</memory>
</node>"""
TEST_TEMPLATE = ('CPU = 0.5\nMEMORY = 512\nOS = [ kernel = "/boot/vmlinuz" ]\n'
                 'DISK = [ source = "/images/master.qcow2", target = vda ]\n'
                 'NIC = [ NETWORK = "labnet" ]\n')


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def lab_engine(store: Store, addresses: tuple[str, str], template: str) -> Engine:
    """The lab network and master template, and an engine (lab manager included) that has
    monitored the hosts once, as `lab create`'s capacity check needs."""
    store.networks.add("labnet", *addresses)
    store.templates.add("master", template)
    engine = build_engine(store, {})
    engine.lead()
    engine.run_pass()
    return engine


def test_driver(tmp: Path, seats: int = 40, rounds: int = 5) -> None:
    creates, passes, ticks = [], [], []
    for r in range(rounds):
        state = tmp / f"td{r}"
        node = tmp / f"node{r}.xml"
        node.write_text(NODE)
        with Store.open(state) as store:
            for h in range(2):
                store.hosts.add(f"lab{h}", "libvirt", {"uri": f"test://{node}"})
            engine = lab_engine(store, ("127.0.6.10", "127.0.6.250"), TEST_TEMPLATE)
            start = time.perf_counter()
            labs.create(store, labs.LabSpec("monday", "master", seats, ssh_timeout=3600))
            creates.append(time.perf_counter() - start)
            start = time.perf_counter()
            engine.run_pass()
            passes.append(time.perf_counter() - start)
            manager = next(h for h in engine.hooks if type(h).__name__ == "LabManager")
            manager.close()  # measure the tick alone, without starting SSH waits
            engine.hooks = [h for h in engine.hooks if h is not manager]
            start = time.perf_counter()
            manager.tick([])
            ticks.append(time.perf_counter() - start)
            engine.close()
    print(f"test driver, {seats} seats ({rounds} rounds, median):")
    print(f"  lab create (checks + one transaction): {ms(statistics.median(creates))}")
    print(f"  engine pass deploying them:            {ms(statistics.median(passes))}")
    print(f"  lab manager tick over {seats} seats:        {ms(statistics.median(ticks))}")


def real(tmp: Path, seats: int) -> None:
    guest = BED / "guest"
    try:
        libvirt.open("qemu:///system").close()
    except libvirt.libvirtError:
        print("real seats: skipped (virt test bed not up: scripts/testbed/virt.sh up)")
        return
    template = (
        "CPU = 0.5\nMEMORY = 192\n"
        f'OS = [ kernel = "{guest}/vmlinuz", initrd = "{guest}/initrd.img",\n'
        '       kernel_cmd = "console=ttyS0 quiet panic=-1", machine = pc ]\n'
        f'DISK = [ source = "{guest}/lab.qcow2", target = vda, clone = overlay ]\n'
        'NIC = [ NETWORK = "labnet", HOSTFWD = "2200-:22" ]\n')
    with Store.open(tmp / "real") as store:
        store.hosts.add("kvm1", "libvirt", {"uri": "qemu:///system", "domain_type": "qemu"})
        engine = lab_engine(store, ("127.0.3.100", "127.0.3.150"), template)
        start = time.time()
        lab = labs.create(store, labs.LabSpec("bench", "master", seats,
                                              admin_key=str(BED / "admin" / "id_ed25519")))
        try:
            while True:
                states = [s.state for s in store.labs.seats(lab.id)]
                if all(s in ("ready", "failed") for s in states) or time.time() - start > 600:
                    break
                engine.run_pass()
                time.sleep(0.5)
            wall = time.time() - start
            own = [(s.ready_at or time.time()) - start for s in store.labs.seats(lab.id)]
            print(f"real QEMU seats: {seats}, ready {states.count('ready')}, "
                  f"failed {states.count('failed')}")
            print(f"  lab create -> every login checked: {wall:.1f} s wall")
            print(f"  per seat: median {statistics.median(own):.1f} s, slowest {max(own):.1f} s "
                  f"(compare `bench/labs.py 1`: N x that is one-after-the-other)")
        finally:
            labs.destroy(store, "bench")
            deadline = time.time() + 120
            while store.labs.find("bench") is not None and time.time() < deadline:
                engine.run_pass()
                time.sleep(0.5)
            engine.close()


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="onetui-bench-labs-"))
    try:
        test_driver(tmp)
        real(tmp, int(sys.argv[1]) if len(sys.argv) > 1 else 4)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
