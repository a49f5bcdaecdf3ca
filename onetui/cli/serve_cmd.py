"""`onetui serve`: the engine without the console (a service on the front-end server).

Fit for systemd (onetui.service): SIGTERM finishes the pass under way, releases the engine
lease and exits 0; SIGHUP re-reads the config (the managers are made again from it at the
end of the next pass, in the engine's own thread; a config they refuse keeps the old one);
every event of the store is one line on stderr, with journald's priority prefix when
stderr is the journal.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from onetui import config
from onetui.access import printable, role_groups
from onetui.cli.context import Context
from onetui.engine.hooks import Closer
from onetui.engine.loop import Engine
from onetui.errors import UserError
from onetui.model import VM, Event
from onetui.runtime.compose import build_engine, managers
from onetui.store import Store

LOG_POLL = 0.5  # seconds between two looks for new events to log
_PRIORITY = {"error": "<3>", "warning": "<4>"}  # sd-daemon(3); info is <6>

if TYPE_CHECKING:
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
    reload = ConfigReload(ctx.store, engine, lambda msg: click.echo(msg, err=True))
    engine.hooks = [*engine.hooks, reload]
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    signal.signal(signal.SIGHUP, lambda *_: reload.wanted.set())
    log = EventLog(ctx.store, journal=bool(os.environ.get("JOURNAL_STREAM")))
    log.start()
    try:
        engine.run(stop, on_wait=lambda msg: click.echo(msg, err=True),
                   on_lead=lambda: click.echo(f"engine {engine.owner}: serving "
                                              f"{ctx.store.path}"))
    finally:
        log.stop()
        if exporter is not None:
            exporter.close()
    click.echo("engine stopped")
    _exit_even_if_a_host_hangs(ctx)


class ConfigReload:
    """The last of the engine's hooks: after a SIGHUP, at the end of the next pass (when no
    manager is at work), the config is read again and the managers made anew from it; the
    old ones are closed. A config that is refused (a bad [sge] or [roles] table) keeps the
    managers in use, saying why. `cfg` is the config in force (for whoever serves requests)."""

    def __init__(self, store: Store, engine: Engine, say: Callable[[str], None]) -> None:
        self.store = store
        self.engine = engine
        self.say = say
        self.wanted = threading.Event()
        self.cfg: dict[str, Any] = config.load_config()

    def vm_changed(self, vm: VM, old: str, new: str) -> None:
        return

    def tick(self, running: list[VM]) -> None:
        if self.wanted.is_set():
            self.wanted.clear()
            self.reload()

    def reload(self) -> None:
        path = config.config_path()
        try:
            cfg = config.load_config(path)
            role_groups(cfg)
            fresh = managers(self.store, cfg, self.engine)
        except UserError as exc:
            self.say(f"config not reloaded: {exc}; keeping the one in use")
            return
        old = [h for h in self.engine.hooks if h is not self]
        self.engine.hooks = [*fresh, self]
        self.cfg = cfg
        for hook in old:
            if isinstance(hook, Closer):
                hook.close()
        self.say(f"config reloaded from {path}: managers "
                 f"{', '.join(type(h).__name__ for h in fresh)}")


class EventLog:
    """Every event written to the store (by the engine or by any client), one line each
    on stderr, from the moment serve starts: what journald keeps for the admin."""

    def __init__(self, store: Store, *, journal: bool) -> None:
        self.store = store
        self.journal = journal
        self.last = store.events.last_id()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="onetui-event-log", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.flush()  # what the last pass wrote

    def _run(self) -> None:
        while not self._stop.wait(LOG_POLL):
            try:
                self.flush()
            except UserError:
                continue  # the store busy or gone for a moment: the engine says so

    def flush(self) -> None:
        while True:
            new = self.store.events.since(self.last, limit=500)
            for event in new:
                click.echo(self.line(event), err=True)
            if new:
                self.last = new[-1].id
            if len(new) < 500:
                return

    def line(self, e: Event) -> str:
        """One event, one line, every control and bidi character escaped: a name a client
        chose (a VM's, a lab's) cannot forge another line or recolour the journal."""
        about = printable(e.kind) + (f" {e.obj_id}" if e.obj_id is not None else "")
        who = f" [{printable(e.user)} pid {e.pid}]" if e.user else ""
        message = printable(" ".join(e.message.splitlines()))
        if self.journal:
            return f"{_PRIORITY.get(e.level, '<6>')}{about}: {message}{who}"
        level = f"{e.level}: " if e.level in _PRIORITY else ""
        return f"{level}{about}: {message}{who}"


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
