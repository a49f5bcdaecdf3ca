"""`onetui serve`: the engine without the console (a service on the front-end server)."""

from __future__ import annotations

import signal
import threading

import click

from onetui.cli.context import Context
from onetui.runtime.compose import build_engine

pass_ctx = click.make_pass_decorator(Context)


@click.command()
@click.option("--interval", default=2.0, show_default=True, help="Seconds between passes.")
@click.option("--once", is_flag=True, help="Run one pass (if this engine may lead) and exit.")
@click.option("--lease-ttl", default=10.0, show_default=True, envvar="ONETUI_LEASE_TTL",
              help="Seconds the engine lease lasts unrenewed: how soon another engine takes "
              "over from one that died.")
@pass_ctx
def serve(ctx: Context, interval: float, once: bool, lease_ttl: float) -> None:
    """Run the engine headless: schedule, deploy and monitor until stopped (SIGTERM/^C)."""
    engine = build_engine(ctx.store, interval=interval, lease_ttl=lease_ttl)
    if once:
        try:
            if engine.lead():
                stats = engine.run_pass()
                click.echo(f"pass: {stats.hosts} host(s), {stats.placed} placed, "
                           f"{stats.deployed} deployed, {len(stats.transitions)} change(s)")
            else:
                click.echo("another engine holds the lease; nothing done", err=True)
        finally:
            engine.close()
        return
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    click.echo(f"engine {engine.owner}: serving {ctx.store.path}")
    engine.run(stop, on_wait=lambda msg: click.echo(msg, err=True))
    click.echo("engine stopped")
