"""`onetui serve`: the daemon: the engine without the console, and onetui's API on a Unix
socket (system mode /run/onetui/onetui.sock as root, else $XDG_RUNTIME_DIR/onetui/onetui.sock)
that the CLI asks instead of opening the store itself.

Fit for systemd (onetui.service): SIGTERM finishes the pass under way, releases the engine
lease and exits 0; SIGHUP re-reads the config (in force for requests at once; the managers
made again from it are swapped in at the top of the next pass, in the engine's own thread;
a config they refuse keeps the old one);
every event of the store is one line on stderr, with journald's priority prefix when
stderr is the journal.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from onetui import config
from onetui.access import printable, role_groups
from onetui.cli.context import Context
from onetui.engine.hooks import Closer, Hook
from onetui.engine.loop import Engine
from onetui.errors import UserError
from onetui.managers.labs import LabManager
from onetui.model import Event
from onetui.runtime.compose import build_engine, managers
from onetui.store import Store

LOG_POLL = 0.5  # seconds between two looks for new events to log
_PRIORITY = {"error": "<3>", "warning": "<4>"}  # sd-daemon(3); info is <6>

if TYPE_CHECKING:
    from onetui.runtime.prometheus import Exporter
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
@click.option("--metrics", metavar="HOST:PORT",
              help="Serve the engine's figures for Prometheus at http://HOST:PORT/metrics "
              "(loopback only, e.g. 127.0.0.1:9464, unless --metrics-public).")
@click.option("--metrics-public", is_flag=True,
              help="Allow --metrics on an address other machines can reach.")
@click.option("--socket", "socket_path", metavar="PATH",
              help="Serve the API on this Unix socket (default: /run/onetui/onetui.sock as "
              "root, else $XDG_RUNTIME_DIR/onetui/onetui.sock; $ONETUI_SOCKET changes the "
              "default).")
@click.option("--socket-group", metavar="GROUP", help="Make the socket 0660 and this "
              "group's (system mode: the group whose members may connect); else 0600.")
@click.option("--no-api", is_flag=True, help="Run the engine only, with no socket.")
@pass_ctx
def serve(ctx: Context, interval: float, once: bool, lease_ttl: float,
          host_timeout: float, look_every: float, metrics: str | None,
          metrics_public: bool, socket_path: str | None, socket_group: str | None,
          no_api: bool) -> None:
    """Run the engine headless and answer the API on a Unix socket: schedule, deploy and
    monitor until stopped (SIGTERM/^C)."""
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
    stop = threading.Event()  # a SIGTERM while the exporter or the API starts ends it too
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    exporter = _exporter(engine, *address) if address else None  # a taken port: nothing ran
    # the config in force, for the engine's managers and for the API's roles (SIGHUP)
    reload = ConfigReload(ctx.store, engine, lambda msg: click.echo(msg, err=True))
    try:
        api = None if no_api else _start_api(ctx, socket_path, socket_group,
                                             lambda: reload.cfg)
    except BaseException:
        if exporter is not None:
            exporter.close()
        engine.close()
        raise
    reload.start()
    signal.signal(signal.SIGHUP, lambda *_: reload.wanted.set())
    log = EventLog(ctx.store, journal=bool(os.environ.get("JOURNAL_STREAM")))
    log.start()
    try:
        engine.run(stop, on_wait=lambda msg: click.echo(msg, err=True),
                   on_lead=lambda: click.echo(f"engine {engine.owner}: serving "
                                              f"{ctx.store.path}"))
    finally:
        reload.close()
        log.stop()
        if exporter is not None:
            exporter.close()
        if api is not None:
            api.stop()
    click.echo("engine stopped")
    _exit_even_if_a_host_hangs(ctx)


class ConfigReload:
    """The config in force, and SIGHUP's reload of it.

    A SIGHUP only sets `wanted`; a thread of its own reads the config again and checks it
    (the [roles] table, the managers' tables). A config that is refused keeps the one in
    use, saying why. One that passes is in force at once for requests (`cfg`, read per
    request: roles do not wait for the engine, nor for a standby engine to lead), and its
    managers are swapped in by the engine's own thread at the top of its next pass, when
    no manager is at work (`swap`, the engine's `before_pass`). The old lab manager hands
    its seats at work over (no seat gets two jobs) and is closed in the background."""

    def __init__(self, store: Store, engine: Engine, say: Callable[[str], None]) -> None:
        self.store = store
        self.engine = engine
        self.say = say
        self.wanted = threading.Event()
        self._lock = threading.Lock()
        self._cfg: dict[str, Any] = config.load_config()
        role_groups(self._cfg)  # a wrong [roles] table: exit 2 before anything serves
        self._pending: list[Hook] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="onetui-config-reload",
                                        daemon=True)

    @property
    def cfg(self) -> dict[str, Any]:
        """The config in force: what a request is authorized against."""
        with self._lock:
            return self._cfg

    def start(self) -> None:
        self.engine.before_pass = self.swap
        self._thread.start()

    def close(self) -> None:
        """Stop the reload thread; managers made but never swapped in are closed."""
        self._stop.set()
        self.wanted.set()
        self._thread.join(timeout=5)
        with self._lock:
            pending, self._pending = self._pending, None
        _close_all(pending or [])

    def _run(self) -> None:
        while True:
            self.wanted.wait()
            if self._stop.is_set():
                return
            self.wanted.clear()
            self.reload()

    def reload(self) -> None:
        """Read and check the config; in force for requests at once, managers from the
        engine's next pass."""
        path = config.config_path()
        try:
            cfg = config.load_config(path)
            role_groups(cfg)
            fresh = managers(self.store, cfg, self.engine)
        except UserError as exc:
            self.say(f"config not reloaded: {exc}; keeping the one in use")
            return
        with self._lock:
            self._cfg = cfg
            unused, self._pending = self._pending, fresh
        _close_all(unused or [])  # a reload before the pass that would have used them
        self.say(f"config reloaded from {path}: managers "
                 f"{', '.join(type(h).__name__ for h in fresh)}")

    def swap(self) -> None:
        """In the engine's thread, before a pass: the reloaded managers replace the old."""
        with self._lock:
            fresh, self._pending = self._pending, None
        if fresh is None:
            return
        old = self.engine.hooks
        before = next((h for h in old if isinstance(h, LabManager)), None)
        for hook in fresh:
            if isinstance(hook, LabManager) and before is not None:
                hook.take_over(before)  # closes it, in a thread of its own
        self.engine.hooks = fresh
        rest = [h for h in old if h is not before]
        threading.Thread(target=_close_all, args=(rest,), name="onetui-old-managers",
                         daemon=True).start()


def _close_all(hooks: list[Hook]) -> None:
    for hook in hooks:
        if isinstance(hook, Closer):
            try:
                hook.close()
            except Exception as exc:  # one manager's failure is not the reload's
                click.echo(f"closing {type(hook).__name__}: {exc}", err=True)


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


def _start_api(ctx: Context, socket_path: str | None, group: str | None,
               cfg: Callable[[], dict[str, Any]]) -> ServerThread | None:
    """The API server on its own thread and store connection. A socket asked for that
    cannot be served is an error (exit 2); the default one taken by another daemon is said
    on stderr, and this one stands by: it takes the socket over when that daemon goes (as
    its engine takes the lease over)."""
    from onetui.client import default_socket, system_socket
    from onetui.runtime.server import ApiServer, ServerThread

    path = Path(socket_path) if socket_path else default_socket(serving=True)
    if group is None and socket_path is None and path == system_socket():
        group = _system_group()
    thread = ServerThread(ApiServer(Store(ctx.store.path), path, group=group, cfg=cfg),
                          standby=socket_path is None, say=lambda m: click.echo(m, err=True))
    try:
        thread.start_serving()
    except (UserError, OSError) as exc:
        if socket_path is not None:
            raise UserError(str(exc)) from None
        click.echo(f"onetui: no API: {exc}", err=True)
        return None
    if thread.standing_by:
        click.echo(f"onetui: {thread.standing_by}; standing by to take the socket over "
                   "when it goes", err=True)
    else:
        click.echo(f"api: {path}", err=True)
    return thread


def _system_group() -> str | None:
    """The group whose members reach system mode's socket: `onetui` when root serves it,
    else the daemon's own primary group (onetui.service's Group=onetui)."""
    import grp

    if os.getuid() == 0:
        return "onetui" if _has_group("onetui") else None
    try:
        return grp.getgrgid(os.getgid()).gr_name
    except KeyError:
        return None


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
