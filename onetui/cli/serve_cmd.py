"""`onetui serve`: the daemon: the engine without the console, and onetui's API on a Unix
socket (system mode /run/onetui/onetui.sock as root, else $XDG_RUNTIME_DIR/onetui/onetui.sock)
that the CLI asks instead of opening the store itself."""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import click

from onetui.cli.context import Context
from onetui.errors import UserError
from onetui.runtime.compose import build_engine

if TYPE_CHECKING:
    from onetui.runtime.server import ServerThread

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
@click.option("--socket", "socket_path", metavar="PATH",
              help="Serve the API on this Unix socket (default: /run/onetui/onetui.sock as "
              "root, else $XDG_RUNTIME_DIR/onetui/onetui.sock; $ONETUI_SOCKET changes the "
              "default).")
@click.option("--socket-group", metavar="GROUP", help="Make the socket 0660 and this "
              "group's (system mode: the group whose members may connect); else 0600.")
@click.option("--no-api", is_flag=True, help="Run the engine only, with no socket.")
@pass_ctx
def serve(ctx: Context, interval: float, once: bool, lease_ttl: float,
          host_timeout: float, look_every: float, socket_path: str | None,
          socket_group: str | None, no_api: bool) -> None:
    """Run the engine headless and answer the API on a Unix socket: schedule, deploy and
    monitor until stopped (SIGTERM/^C)."""
    if not (0 < lease_ttl < 86400 and 0 < host_timeout < 86400 and 0 < interval < 86400
            and 0 <= look_every < 86400):
        raise click.BadParameter("--interval, --lease-ttl, --host-timeout and --look-every "
                                 "take seconds between 0 and 86400")
    engine = build_engine(ctx.store, interval=interval, lease_ttl=lease_ttl,
                          host_deadline=host_timeout, look_every=0.0 if once else look_every)
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
        _exit_even_if_a_host_hangs(ctx)
        return
    api = None if no_api else _start_api(ctx, socket_path, socket_group)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        engine.run(stop, on_wait=lambda msg: click.echo(msg, err=True),
                   on_lead=lambda: click.echo(f"engine {engine.owner}: serving "
                                              f"{ctx.store.path}"))
    finally:
        if api is not None:
            api.stop()
    click.echo("engine stopped")
    _exit_even_if_a_host_hangs(ctx)


def _start_api(ctx: Context, socket_path: str | None, group: str | None) -> ServerThread | None:
    """The API server on its own thread and store connection. A socket asked for that
    cannot be served is an error (exit 2); the default one taken by another daemon (of
    another store) is said on stderr, and this one serves its engine without an API."""
    from onetui.client import default_socket
    from onetui.runtime.server import ApiServer, ServerThread
    from onetui.store import Store

    path = Path(socket_path) if socket_path else default_socket(serving=True)
    if group is None and socket_path is None and os.getuid() == 0 and _has_group("onetui"):
        group = "onetui"
    thread = ServerThread(ApiServer(Store(ctx.store.path), path, group=group))
    try:
        thread.start_serving()
    except (UserError, OSError) as exc:
        if socket_path is not None:
            raise UserError(str(exc)) from None
        click.echo(f"onetui: no API: {exc}", err=True)
        return None
    click.echo(f"api: {path}", err=True)
    return thread


def _has_group(name: str) -> bool:
    import grp

    try:
        grp.getgrnam(name)
    except KeyError:
        return False
    return True


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
