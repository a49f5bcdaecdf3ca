"""The console at scale, headless through Textual's test harness: 10,000 VMs and 1,000 hosts
in the store. Reports cold start to the first painted dashboard (the VM pane's first rows
on screen: the first read is a page of them, `LiveView.first`), then to every row in the
table (the second read), one refresh tick in which 100 VMs changed (store read + in-place
table update + Textual's repaint), and a full rebuild of the VM table. The floors beside
them, in the same process: a bare Textual App's first paint, and the dashboard's on a
store of one VM; and what a `onetui console` process pays before either, importing the
console, next to importing Textual alone (whole processes).

Goals (issue 15): cold start < 0.5 s, tick < 20 ms + repaint < 30 ms.
Run: .venv/bin/python bench/console.py [--quick: the floors and the imports only, without
filling a store of 10,000 VMs]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from textual.app import App, ComposeResult
from textual.widgets import Static

from onetui.store import Store
from onetui.tui.app import OnetuiApp
from onetui.tui.panes import VmsPane

HOSTS, VMS, CHANGED = 1000, 10_000, 100


def fill(path: Path) -> None:
    with Store(path) as store:
        for i in range(HOSTS):
            h = store.hosts.add(f"node{i:04d}", "libvirt", {"uri": "test:///default"})
            store.hosts.set_monitor(h.id, "on", {"TCPU": 800, "FCPU": 400, "ACPU": 400,
                                                 "TMEM": 16384, "FMEM": 8000, "RVM": 10})
        store.vms.create([{"body": "CPU=1\nMEMORY=512\n", "name": f"vm{i:05d}", "cpu": 1,
                           "memory": 512} for i in range(VMS)])


async def painted(pane: VmsPane) -> None:
    """Until the next frame was drawn: Textual runs after-refresh callbacks once the screen
    has been painted (the harness's `pause` waits for the whole process to be idle)."""
    drawn = asyncio.Event()
    pane.call_after_refresh(drawn.set)
    await drawn.wait()


class Bare(App[None]):
    def compose(self) -> ComposeResult:
        yield Static("onetui")


async def bare_paint() -> float:
    """Textual's own floor: a bare App, constructed to first painted frame."""
    start = time.perf_counter()
    app = Bare()
    async with app.run_test(size=(160, 50)):
        drawn = asyncio.Event()
        app.screen.call_after_refresh(drawn.set)
        await drawn.wait()
        return time.perf_counter() - start


async def first_paint(path: Path) -> float:
    """The dashboard, constructed to its VM pane's first rows painted."""
    start = time.perf_counter()
    app = OnetuiApp(path, cfg={}, run_engine=False)
    async with app.run_test(size=(160, 50)) as pilot:
        await first_rows(app, pilot)
        return time.perf_counter() - start


async def first_rows(app: OnetuiApp, pilot: Any) -> VmsPane:
    """The VM pane, once its first rows are on screen."""
    vms = app.screen.query_one(VmsPane)
    while not vms.row_count:
        await pilot.pause(0.01)
    await painted(vms)
    return vms


async def hold_poller(app: OnetuiApp, pilot: Any) -> None:
    """The dashboard's own poller stops once its read under way has landed, so that the
    bench's reads below are the ones that see each round's changes (a long-poll would
    otherwise wake on them first)."""
    screen = app.screen
    screen.poll = lambda: None  # type: ignore[method-assign]
    while screen._polling:
        await pilot.pause(0.01)
    if screen._next_poll is not None:
        screen._next_poll.stop()


async def floors(small: Path) -> None:
    await bare_paint()  # Textual's lazily imported parts, once
    bare = statistics.median([await bare_paint() for _ in range(5)])
    one = statistics.median([await first_paint(small) for _ in range(3)])
    print(f"console: floors: a bare Textual App's first paint {bare * 1000:.0f} ms; the "
          f"dashboard's on a store of one VM {one * 1000:.0f} ms")


async def run(path: Path) -> None:
    start = time.perf_counter()
    app = OnetuiApp(path, cfg={}, run_engine=False)
    async with app.run_test(size=(160, 50)) as pilot:
        vms = await first_rows(app, pilot)
        cold = time.perf_counter() - start
        while vms.row_count < VMS:
            await pilot.pause(0.01)
        await pilot.pause()
        every = time.perf_counter() - start
        await hold_poller(app, pilot)
        ticks, rebuilds = [], []
        with Store(path) as store:
            for round_ in range(5):
                base = 1 + round_ * CHANGED
                for vm_id in range(base, base + CHANGED):
                    store.vms.transition(vm_id, "hold" if round_ % 2 == 0 else "pend")
                t0 = time.perf_counter()
                delta = app.screen.view.poll()
                t1 = time.perf_counter()
                app.screen.apply(delta, None)
                t2 = time.perf_counter()
                await painted(vms)
                ticks.append((t1 - t0, t2 - t1, time.perf_counter() - t2))
                await pilot.pause()
                assert len(delta.vms) == CHANGED and not delta.full, (len(delta.vms), delta.full)
        for _ in range(3):
            t0 = time.perf_counter()
            vms.rebuild()
            await painted(vms)
            rebuilds.append(time.perf_counter() - t0)
    read = statistics.median(t[0] for t in ticks) * 1000
    apply = statistics.median(t[1] for t in ticks) * 1000
    paint = statistics.median(t[2] for t in ticks) * 1000
    print(f"console: cold start to first painted dashboard with {VMS:,} VMs and {HOSTS:,} "
          f"hosts: {cold:.2f} s; every row in the VM table: {every:.2f} s")
    print(f"console: refresh tick with {CHANGED} changed VMs: {read + apply:.0f} ms (store "
          f"read {read:.0f} ms in the worker thread + in-place update {apply:.0f} ms on the "
          f"event loop); Textual's next frame is then painted in {paint:.0f} ms")
    print(f"console: a full rebuild of the VM table (every row drawn) instead: "
          f"{statistics.median(rebuilds) * 1000:.0f} ms")


def imported(module: str, runs: int = 5) -> float:
    """A whole process that imports `module`: the median of `runs`, after one to warm the
    page cache."""
    times = []
    for _ in range(runs + 1):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", f"import {module}"], check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])


def imports() -> None:
    textual = imported("textual.app")
    console = imported("onetui.tui.app")
    print(f"console: a process importing the console {console * 1000:.0f} ms; importing "
          f"Textual alone {textual * 1000:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="the floors and the imports only (no store of 10,000 VMs)")
    quick = parser.parse_args().quick
    with tempfile.TemporaryDirectory(prefix="onetui-bench-") as tmp:
        small = Path(tmp) / "one.db"
        with Store(small) as store:
            store.vms.create([{"body": "CPU=1\nMEMORY=512\n", "name": "vm", "cpu": 1,
                               "memory": 512}])
        imports()
        asyncio.run(floors(small))
        if quick:
            return
        path = Path(tmp) / "onetui.db"
        t0 = time.perf_counter()
        fill(path)
        print(f"(store filled in {time.perf_counter() - t0:.1f} s)")
        asyncio.run(run(path))


if __name__ == "__main__":
    main()
