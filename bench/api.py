"""The daemon's API, measured: `vm list` of 1,000 VMs through the socket next to a direct
store read in the same run (ratio), and the whole `onetui vm list --json` command with and
without a daemon; a live-update round trip (one client writes an intent, another's
long-poll hears of it, and until another client's console (headless, through Textual's
test harness) has painted it); requests per second with 20 concurrent clients doing `vm
list`, and the daemon's memory; the CPU an idle daemon spends with no client at all.

Run: .venv/bin/python bench/api.py
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from onetui.client import Client, SocketTransport
from onetui.data import TEMPLATES
from onetui.ops import instantiate
from onetui.store import Store
from onetui.view.records import vm_record

VMS = 1000
CLIENTS = 20
SECONDS = 5.0
IDLE = 10.0  # seconds the idle daemon is watched


def median_ms(fn, runs: int = 20) -> float:  # type: ignore[no-untyped-def]
    fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def rss_kb(pid: int) -> tuple[int, int]:
    fields = dict(line.split(":", 1) for line in
                  Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


def cpu_ms(pid: int) -> float:
    """The process's CPU time so far (user + system), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def hammer(sock: str, until: float, counts: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    client = Client(SocketTransport(sock))
    n = 0
    while time.monotonic() < until:
        client.call("vm.list")
        n += 1
    counts.put(n)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "state"
        sock = Path(tempfile.mkdtemp(prefix="onetui-b")) / "onetui.sock"
        with Store.open(state) as store:
            store.templates.add("xen.local01", (TEMPLATES / "xen.local01").read_text())
            instantiate.create(store, "xen.local01", count=VMS, hold=True)
        env = {**os.environ, "ONETUI_STATE": str(state), "ONETUI_SOCKET": str(sock)}
        cmd = [sys.executable, "-m", "onetui", "vm", "list", "--json"]
        no_daemon = median_ms(lambda: subprocess.run(cmd, env=env, capture_output=True,
                                                     check=True), runs=10)
        daemon = subprocess.Popen([sys.executable, "-m", "onetui", "serve", "--socket",
                                   str(sock), "--interval", "60"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            while not sock.exists():
                time.sleep(0.05)
            time.sleep(2.0)  # the engine's first pass is over
            before = cpu_ms(daemon.pid)
            time.sleep(IDLE)
            print(f"an idle daemon (no client, engine every 60 s): "
                  f"{(cpu_ms(daemon.pid) - before) / IDLE:.1f} ms of CPU a second")
            client = Client(SocketTransport(sock))
            with Store.open(state) as store:
                direct = median_ms(lambda: json.dumps([vm_record(v) for v in
                                                       store.vms.list()]))
                api = median_ms(lambda: client.call("vm.list"))
                print(f"vm list of {VMS} VMs: API {api:.1f} ms, direct store read "
                      f"(+JSON) {direct:.1f} ms: {api / direct:.2f}x")
                with_daemon = median_ms(lambda: subprocess.run(cmd, env=env,
                                                               capture_output=True,
                                                               check=True), runs=10)
                print(f"onetui vm list --json ({VMS} VMs): {with_daemon:.0f} ms through the "
                      f"daemon, {no_daemon:.0f} ms in-process (no daemon)")
                round_trip(sock, store)
            asyncio.run(console_round_trip(sock))
            idle = rss_kb(daemon.pid)
            counts: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
            until = time.monotonic() + SECONDS
            workers = [multiprocessing.Process(target=hammer, args=(str(sock), until, counts))
                       for _ in range(CLIENTS)]
            for w in workers:
                w.start()
            total = sum(counts.get() for _ in workers)
            for w in workers:
                w.join()
            busy, peak = rss_kb(daemon.pid)
            print(f"{CLIENTS} concurrent clients doing vm list ({VMS} VMs): "
                  f"{total / SECONDS:.0f} requests/s; daemon RSS {idle[0] / 1024:.0f} MB "
                  f"idle, {busy / 1024:.0f} MB after, peak {peak / 1024:.0f} MB "
                  f"({os.cpu_count()} cores)")
        finally:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=30)
            shutil.rmtree(sock.parent, ignore_errors=True)


def round_trip(sock: Path, store: Store) -> None:
    """A writer holds/releases VM 1; a watcher's long-poll answers with it: the time from
    the write's start to the watcher's answer."""
    watcher, writer = Client(SocketTransport(sock)), Client(SocketTransport(sock))
    times = []
    seq = watcher.changes(0)["seq"]
    for i in range(20):
        got: list[float] = []

        def watch(since: int = seq, got: list[float] = got) -> None:
            watcher.changes(since, wait=30)
            got.append(time.perf_counter())

        t = threading.Thread(target=watch)
        t.start()
        time.sleep(0.05)
        start = time.perf_counter()
        writer.call("vm.action", ref=1, action="release" if i % 2 == 0 else "hold")
        t.join()
        times.append(got[0] - start)
        seq = watcher.changes(seq)["seq"]
    print(f"live-update round trip (intent written by one client until another's long-poll "
          f"answers): median {statistics.median(times) * 1000:.1f} ms, max "
          f"{max(times) * 1000:.1f} ms")


async def console_round_trip(sock: Path) -> None:
    """A writer holds/releases VM 1; a console of the same daemon (its own client, as
    `onetui` opens it) has the new state painted in its VM pane: the time from the write's
    start to that frame."""
    from onetui.tui.app import OnetuiApp  # the console only for this figure
    from onetui.tui.panes import VmsPane
    from onetui.view.rows import VM_COLUMNS

    writer = Client(SocketTransport(sock))
    app = OnetuiApp(client=Client(SocketTransport(sock)), daemon=True, cfg={})
    stat = VM_COLUMNS.index("STAT")
    times = []
    async with app.run_test(size=(160, 50)) as pilot:
        vms = app.screen.query_one(VmsPane)
        while len(vms.rows_by_id) < VMS:
            await pilot.pause(0.01)
        for _ in range(10):
            want, action = ("pend", "release") if vms.rows_by_id[1][stat] == "hold" \
                else ("hold", "hold")
            await asyncio.sleep(0.3)  # not right after the console's last read
            start = time.perf_counter()
            await asyncio.to_thread(writer.call, "vm.action", ref=1, action=action)
            while vms.rows_by_id[1][stat] != want:
                await asyncio.sleep(0.002)
            drawn = asyncio.Event()
            vms.call_after_refresh(drawn.set)
            await drawn.wait()
            times.append(time.perf_counter() - start)
    print(f"live-update round trip to a console (intent written by one client until "
          f"another's console painted it): median {statistics.median(times) * 1000:.0f} ms, "
          f"max {max(times) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
