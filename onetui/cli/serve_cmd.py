"""`onetui serve`: the engine without the console (a service on the front-end server)."""

from __future__ import annotations

import os
import signal
import sys
import threading
from typing import TYPE_CHECKING

import click

from onetui.cli.context import Context
from onetui.errors import UserError
from onetui.runtime.compose import build_engine

if TYPE_CHECKING:
    from onetui.engine.loop import Engine
    from onetui.runtime.prometheus import Exporter

pass_ctx = click.make_pass_decorator(Context)


@click.command()
@click.option("--interval", default=2.0, show_default=True, help="Seconds between passes.")
@click.option("--once", is_flag=True, help="Run one pass (if this engine may lead) and exit.")
@click.option("--lease-ttl", default=10.0, show_default=True, envvar="ONETUI_LEASE_TTL",
              help="Seconds the engine lease lasts unrenewed: how soon another engine takes "
              "over from one that died.")
@click.option("--host-timeout", default=15.0, show_default=True, envvar="ONETUI_HOST_TIMEOUT",
              help="Seconds a host may take to answer before it is marked err for the pass.")
@click.option("--look-every", default=30.0, show_default=True,
              help="Seconds between looks at a libvirt host whose events reach the engine "
              "(it is looked at at once when it reports a change; other hosts every pass).")
@click.option("--metrics", metavar="HOST:PORT",
              help="Serve the engine's figures for Prometheus at http://HOST:PORT/metrics "
              "(loopback only, e.g. 127.0.0.1:9464, unless --metrics-public).")
@click.option("--metrics-public", is_flag=True,
              help="Allow --metrics on an address other machines can reach.")
@pass_ctx
def serve(ctx: Context, interval: float, once: bool, lease_ttl: float,
          host_timeout: float, look_every: float, metrics: str | None,
          metrics_public: bool) -> None:
    """Run the engine headless: schedule, deploy and monitor until stopped (SIGTERM/^C)."""
    if not (0 < lease_ttl < 86400 and 0 < host_timeout < 86400 and 0 < interval < 86400
            and 0 <= look_every < 86400):
        raise click.BadParameter("--interval, --lease-ttl, --host-timeout and --look-every "
                                 "take seconds between 0 and 86400")
    address = _metrics_address(metrics, metrics_public, once)
    engine = build_engine(ctx.store, interval=interval, lease_ttl=lease_ttl,
                          host_deadline=host_timeout, look_every=0.0 if once else look_every)
    if once:
        _one_pass(engine)
        _exit_even_if_a_host_hangs(ctx)
        return
    exporter = _exporter(engine, *address) if address else None
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        engine.run(stop, on_wait=lambda msg: click.echo(msg, err=True),
                   on_lead=lambda: click.echo(f"engine {engine.owner}: serving "
                                              f"{ctx.store.path}"))
    finally:
        if exporter is not None:
            exporter.close()
    click.echo("engine stopped")
    _exit_even_if_a_host_hangs(ctx)


def _one_pass(engine: Engine) -> None:
    try:
        if engine.lead():
            stats = engine.run_pass()
            click.echo(f"pass: {stats.hosts} host(s), {stats.placed} placed, "
                       f"{stats.deployed} deployed, {len(stats.transitions)} change(s)")
        else:
            click.echo("another engine holds the lease; nothing done", err=True)
    finally:
        engine.close()


def _metrics_address(metrics: str | None, public: bool, once: bool) -> tuple[str, int] | None:
    """--metrics checked before the engine is made (nothing started on bad input)."""
    if metrics is None:
        if public:
            raise click.UsageError("--metrics-public widens --metrics; expected both")
        return None
    if once:
        raise click.UsageError("--metrics serves figures while the engine runs; "
                               "expected it without --once")
    # imported only now: other commands do not load prometheus_client
    from onetui.runtime.prometheus import parse_address

    return parse_address(metrics, public=public)


def _exporter(engine: Engine, host: str, port: int) -> Exporter:
    """The figures served from their own threads while the engine runs."""
    from onetui.runtime.prometheus import Exporter

    exporter = Exporter(engine)
    try:
        exporter.listen(host, port)
    except UserError:
        engine.close()
        raise
    click.echo(f"metrics: http://{host if ':' not in host else f'[{host}]'}:{port}/metrics")
    return exporter


def _exit_even_if_a_host_hangs(ctx: Context) -> None:
    """A call still hanging on a dead host (its thread cannot be interrupted) must not keep
    `serve` alive after SIGTERM: the engine has released its lease and written all it had
    to, so the process leaves without waiting for that thread."""
    if any(t.is_alive() and not t.daemon for t in threading.enumerate()
           if t is not threading.current_thread()):
        ctx.store.close()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
