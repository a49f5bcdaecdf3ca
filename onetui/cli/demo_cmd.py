"""`onetui demo`: prepare the embedded demo in a throwaway state directory and open it."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import click

from onetui import config
from onetui.cli.context import Context
from onetui.cli.output import table
from onetui.runtime import demo as demo_mod
from onetui.store import Store
from onetui.view.rows import HOST_COLUMNS, NUMERIC, VM_COLUMNS, host_row, vm_row


@click.command()
@click.option("--headless", is_flag=True,
              help="Prepare the demo, print what it holds, and exit (for scripts and CI).")
@click.option("--keep", is_flag=True,
              help="Keep the state directory afterwards (use it with --state DIR).")
@click.option("--grid", is_flag=True,
              help="Also a live Sun Grid Engine: the SGE test bed (as root on Debian), started "
                   "in the background, with jobs running and pending; stopped on exit.")
@click.pass_obj
def demo(ctx: Context, headless: bool, keep: bool, grid: bool) -> None:
    """The seed's scenario on libvirt test-driver hosts and a local EC2 endpoint, in a
    throwaway store, opened in the console (with --headless: printed)."""
    state = Path(tempfile.mkdtemp(prefix="onetui-demo-"))
    live: demo_mod.DemoGrid | None = None
    status: Callable[[], tuple[str, str]] | None = None
    console: list[Any] = []  # the console, once it runs: a signal then asks it to exit
    handlers: dict[int, Any] = {}  # the signal handlers before the demo's
    try:
        if grid:
            live, status = start_grid(state)
            if live is not None:  # a closed terminal or a kill still cleans the grid up
                handlers = exit_on_signals(console)
        prepared = demo_mod.prepare(state)
        if not headless:
            try:
                from onetui.tui.app import OnetuiApp

                app = OnetuiApp(state / "onetui.db", theme=ctx.theme, engine_interval=1.0,
                                grid_status=status)
                console.append(app)
                app.run()
            finally:
                prepared.close()
            return
        click.echo(f"demo store: {state / 'onetui.db'}")
        click.echo(f"templates:  {', '.join(prepared.templates)}")
        for name, where in prepared.hosts:
            click.echo(f"host:       {name} ({where})")
        try:
            with Store.open(state) as store:
                engine = demo_mod.start_engine(store)
                try:
                    click.echo("\n" + table(HOST_COLUMNS,
                                            [host_row(h) for h in store.hosts.list()],
                                            right=NUMERIC))
                    click.echo("\n" + table(VM_COLUMNS, [vm_row(v) for v in store.vms.list()],
                                            right=NUMERIC))
                finally:
                    engine.close()
            if live is not None:
                click.echo("\n" + grid_text(live))
        finally:
            prepared.close()
        if keep:
            click.echo(f"kept: onetui --state {state} vm list")
    finally:
        try:
            stop_grid(live)  # also when the demo failed to prepare: the grid came up meanwhile
        finally:
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
        if not keep and not (live is not None and live.left):  # kept for stop-recorded
            shutil.rmtree(state, ignore_errors=True)


def exit_on_signals(console: list[Any]) -> dict[int, Any]:
    """SIGTERM and SIGHUP end the demo through its `finally`s (the grid is stopped), from
    the moment the grid is starting: while the console runs, by asking it to exit;
    before it runs (preparing) or without it (--headless), by SystemExit. Returns the
    handlers they had."""
    def leave(signum: int, _frame: FrameType | None) -> None:
        app = console[-1] if console else None
        if app is not None and app.is_running:
            app.exit()
        else:
            raise SystemExit(128 + signum)

    return {sig: signal.signal(sig, leave) for sig in (signal.SIGTERM, signal.SIGHUP)}


def start_grid(state: Path) -> tuple[demo_mod.DemoGrid | None,
                                      Callable[[], tuple[str, str]]]:
    """The demo's grid, coming up in the background, and the config that points `[sge]` at
    it (a copy of the admin's config in the demo's state directory: nothing of the demo is
    saved into theirs). Where the machine cannot run it, one line says how to get it."""
    why = demo_mod.grid_unavailable()
    if why:
        note = demo_mod.GRID_HOWTO.format(why=why)
        click.echo(note, err=True)
        return None, lambda: ("failed", note)
    live = demo_mod.DemoGrid(state)
    cfg = {**config.load_config(), "sge": live.config()}
    path = live.dir / "config.toml"
    config.save_config(cfg, path)
    os.environ["ONETUI_CONFIG"] = str(path)
    live.start()
    return live, lambda: (live.state, live.message)


def grid_text(live: demo_mod.DemoGrid, timeout: float = 600.0) -> str:
    """For --headless: the grid once it is up and its jobs were scheduled, as qstat -f."""
    from onetui.integrations.sge.grid import render_qstat
    from onetui.integrations.sge.master import Master, SgeConfig

    deadline = time.monotonic() + timeout
    while live.state == "starting" and time.monotonic() < deadline:
        time.sleep(0.5)
    if live.state != "up":
        return live.message
    cfg = SgeConfig.from_config({"sge": live.config()})
    assert cfg is not None
    master = Master(cfg)
    try:
        grid = master.qstat()
        while not any(q.jobs for q in grid.queues) and time.monotonic() < deadline:
            time.sleep(1)
            grid = master.qstat()
        return render_qstat(grid)
    finally:
        master.close()


def stop_grid(live: demo_mod.DemoGrid | None) -> None:
    """Stop what the demo started of the grid. A second SIGTERM/SIGHUP does not cut this
    short, and saying so never stops it: after a hang-up the terminal is gone and writing
    to it fails (the words are then lost, the clean-up is not)."""
    if live is None:
        return
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    if live.step == "install" or live.record.exists():
        say("stopping what the demo started of the grid (its jobs first; an apt-get under "
            "way is let finish)…")
    said = live.close()
    if said:
        say(said)


def say(text: str) -> None:
    with contextlib.suppress(OSError):
        click.echo(text)
