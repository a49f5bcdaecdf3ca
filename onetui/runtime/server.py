"""The daemon's API server: onetui.api's operations over HTTP/1.1 with JSON bodies on a
Unix socket (aiohttp's UnixSite), each request run as the caller the kernel names
(SO_PEERCRED).

Routes: `POST /v1/ops/NAME` with a JSON object of fields; `GET /v1/changes?since=SEQ&wait=S`
(a long-poll on the store's change sequence: it answers at once when something changed
after SEQ, else as soon as something does, or after S seconds).

Bounded against bad clients: bodies over `max_body` are refused (413) without being kept,
headers are bounded by aiohttp's parser, every request has a deadline, a connection that
sends no whole request within `idle` seconds (aiohttp's keep-alive timeout, which also runs
from the connection's start) is closed, and past `max_connections` open ones a new one is
answered 503 and closed. Handlers run in a small thread pool (the store is SQLite), so a
slow one never stalls the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import grp
import json
import logging
import os
import socket
import stat
import struct
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from aiohttp import web

from onetui import config
from onetui.access import Caller, Config
from onetui.api import respond
from onetui.api.guard import writes
from onetui.api.local import MAX_WAIT, changes_wait
from onetui.errors import UserError
from onetui.store import Store

log = logging.getLogger("onetui.server")

MAX_BODY = 1 << 20  # bytes: the largest request body (a template is at most 256 KiB)
DEADLINE = MAX_WAIT + 30.0  # seconds any request may take, a long-poll included
IDLE = 10.0  # seconds a connection may stay silent (before or between requests)
MAX_CONNECTIONS = 512
WORKERS = 4  # threads running handlers
LOOK_EVERY = 0.1  # seconds between two looks at the change sequence (for long-polls)
_CRED = struct.Struct("3i")  # struct ucred: pid, uid, gid

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def peer(request: web.Request) -> tuple[int, int, int]:
    """The caller's (uid, gid, pid), from the kernel's SO_PEERCRED on this connection's
    socket (`Caller.from_peer` resolves them: in the pool, it reads passwd and group)."""
    transport = request.transport
    sock = transport.get_extra_info("socket") if transport is not None else None
    if sock is None:
        raise web.HTTPForbidden(text="no peer credentials")
    pid, uid, gid = _CRED.unpack(sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                                 _CRED.size))
    return uid, gid, pid


def _error(status: int, message: str, kind: str) -> web.Response:
    return web.json_response({"error": message, "kind": kind}, status=status)


class ApiServer:
    """The API on `path` for `store` (a connection of the daemon's own, not the engine's).
    `group`: the socket is 0660 and that group's (system mode); else 0600."""

    def __init__(self, store: Store, path: str | os.PathLike[str], *, group: str | None = None,
                 cfg: Config | None = None,
                 max_body: int = MAX_BODY, deadline: float = DEADLINE, idle: float = IDLE,
                 max_connections: int = MAX_CONNECTIONS) -> None:
        self.store = store
        self.path = Path(path)
        self.group = group
        # the config whose [roles] decide: serve's ConfigReload.cfg (SIGHUP re-reads it)
        self.cfg: Config = cfg if cfg is not None else config.load_config()
        self.max_body = max_body
        self.deadline = deadline
        self.idle = idle
        self.max_connections = max_connections
        self.pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="onetui-api")
        self.runner: web.AppRunner | None = None
        self.seq = 0
        self._changed: asyncio.Event | None = None
        self._look_now: asyncio.Event | None = None
        self._waiters = 0  # long-polls waiting for a change now
        self._someone_waits: asyncio.Event | None = None
        self._watch: asyncio.Task[None] | None = None
        self._admitted: set[asyncio.Transport] = set()
        self.bound = False

    # --- starting and stopping ---------------------------------------------------------

    async def start(self) -> None:
        gid = self._gid()
        prepare_socket(self.path, system=self.group is not None)
        app = web.Application(client_max_size=self.max_body,
                              middlewares=[self._bounded])
        app.router.add_post("/v1/ops/{name}", self._op)
        app.router.add_get("/v1/changes", self._changes)
        self.runner = web.AppRunner(app, access_log=None, handle_signals=False,
                                    keepalive_timeout=self.idle, shutdown_timeout=1.0)
        await self.runner.setup()
        await web.UnixSite(self.runner, str(self.path), backlog=1024).start()
        self.bound = True  # the socket file is ours from here: close() removes it
        os.chmod(self.path, 0o660 if gid is not None else 0o600)
        if gid is not None:
            os.chown(self.path, -1, gid)
        self.seq = await self._run(self.store.changes.current)
        self._changed = asyncio.Event()
        self._look_now = asyncio.Event()
        self._someone_waits = asyncio.Event()
        self._watch = asyncio.create_task(self._watch_changes())

    async def close(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
        if self.runner is not None:
            await self.runner.cleanup()
        if self.bound:  # never another daemon's socket, which a failed start found there
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            self.bound = False
        self.pool.shutdown(wait=False, cancel_futures=True)

    def _gid(self) -> int | None:
        if self.group is None:
            return None
        try:
            return grp.getgrnam(self.group).gr_gid
        except KeyError:
            raise UserError(f"--socket-group {self.group}: no such group") from None

    # --- bounds ----------------------------------------------------------------------

    @web.middleware
    async def _bounded(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Too many connections → 503 and close; a request past its deadline → 504; a
        body over the limit → 413; anything unexpected → 500 with one line."""
        if not self._admit(request.transport):
            response = _error(503, f"too many connections (over {self.max_connections}); "
                              "try again", "busy")
            response.force_close()
            return response
        try:
            async with asyncio.timeout(self.deadline):
                return await handler(request)
        except TimeoutError:
            return _error(504, f"{request.path}: no answer within {self.deadline:g} s",
                          "timeout")
        except web.HTTPRequestEntityTooLarge:
            # answered, then closed: aiohttp discards the rest of the body (never keeps
            # it) and the client reads why, rather than a connection cut in its face
            response = _error(413, f"request body over {self.max_body} bytes", "too-large")
            response.force_close()
            return response
        except web.HTTPException as exc:
            return _error(exc.status, exc.text or exc.reason, "http")

    def _admit(self, transport: asyncio.Transport | None) -> bool:
        """A connection is admitted at its first request while fewer than max_connections
        are open; past that its requests are answered 503 and it is closed, so a flood
        takes no one's place who was there first."""
        if transport is None:
            return False
        if transport in self._admitted:
            return True
        self._admitted = {t for t in self._admitted if not t.is_closing()}
        if len(self._admitted) >= self.max_connections:
            return False
        self._admitted.add(transport)
        return True

    # --- routes ----------------------------------------------------------------------

    async def _op(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        raw = await request.read()
        try:
            body = json.loads(raw) if raw.strip() else {}
        except (ValueError, UnicodeDecodeError) as exc:
            return _error(400, f"{name}: the body is not JSON ({exc})", "bad-request")
        caller = await self._run(Caller.from_peer, *peer(request))
        status, answer = await self._run(respond, self.store, caller, name, body, self.cfg)
        if self._look_now is not None and status < 400 and writes(name, body):
            self._look_now.set()  # long-polls hear of a change made here at once
        return web.json_response(answer, status=status)

    async def _changes(self, request: web.Request) -> web.Response:
        try:
            fields, wait = changes_wait(request.query_string)
        except ValueError as exc:
            return _error(400, f"/v1/changes: {exc}", "bad-request")
        caller = await self._run(Caller.from_peer, *peer(request))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            status, answer = await self._run(respond, self.store, caller, "changes", fields,
                                           self.cfg)
            left = deadline - loop.time()
            if status != 200 or answer["result"]["seq"] != fields["since"] or left <= 0:
                return web.json_response(answer, status=status)
            assert self._changed is not None and self._someone_waits is not None
            self._waiters += 1
            self._someone_waits.set()
            try:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(left):
                        await self._changed.wait()
            finally:
                self._waiters -= 1

    async def _watch_changes(self) -> None:
        """One look at the change sequence for all waiting clients every LOOK_EVERY s (the
        engine and other processes write too), and at once after a write through this
        API: when it moved, every long-poll wakes and reads what changed. While no
        long-poll waits, no look: an idle daemon does not read its store ten times a
        second for nobody."""
        while True:
            assert self._look_now is not None and self._someone_waits is not None
            if not self._waiters:
                self._someone_waits.clear()
                await self._someone_waits.wait()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(LOOK_EVERY):
                    await self._look_now.wait()
            self._look_now.clear()
            try:
                seq = await self._run(self.store.changes.current)
            except Exception:  # a busy store: look again next time
                log.exception("reading the change sequence")
                continue
            if seq != self.seq and self._changed is not None:
                self.seq = seq
                self._changed.set()
                self._changed = asyncio.Event()

    async def _run(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.pool, fn, *args)


def prepare_socket(path: Path, *, system: bool) -> None:
    """Make the socket's directory (0700, or 0755 in system mode where the group needs to
    reach it); clear a stale socket left by a daemon that died; refuse when another daemon
    answers there or the path is something else."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o755 if system else 0o700)
    where = path.parent.lstat()
    ours = where.st_uid == os.geteuid() and not where.st_mode & 0o022
    shared = where.st_uid == 0 and where.st_mode & stat.S_ISVTX  # /tmp: nobody unlinks ours
    if not stat.S_ISDIR(where.st_mode) or not (ours or shared):
        raise UserError(f"--socket {path}: its directory is not this user's own (a link, "
                        "another user's, or writable by others): a socket there could be "
                        "replaced; choose another path")
    try:
        st = path.lstat()
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(st.st_mode):
        raise UserError(f"--socket {path}: exists and is not a socket; remove it or choose "
                        "another path")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.settimeout(2.0)
        probe.connect(str(path))
    except (ConnectionRefusedError, FileNotFoundError):
        path.unlink(missing_ok=True)  # a dead daemon's socket
        return
    except OSError:
        pass
    finally:
        probe.close()
    raise SocketTaken(f"--socket {path}: another onetui daemon answers there")


class SocketTaken(UserError):
    """Another daemon answers on the socket: left alone (a standby waits for it to go)."""


STANDBY_EVERY = 2.0  # seconds between a standby's looks at a socket another daemon holds


class ServerThread(threading.Thread):
    """The API server on an event loop of its own, beside the engine's thread.

    `standby`: when another daemon answers on the socket, wait (`standing_by` says why)
    and take the socket over as soon as that one is gone, as a standby engine takes the
    lease over: clients waiting for "their" daemon find this one (`say` tells when)."""

    def __init__(self, server: ApiServer, *, standby: bool = False,
                 say: Callable[[str], None] | None = None) -> None:
        super().__init__(name="onetui-api", daemon=True)
        self.server = server
        self.standby = standby
        self.say = say
        self.standing_by = ""
        self.ready = threading.Event()
        self.failed: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._quit: asyncio.Event | None = None

    def run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._quit = asyncio.Event()
        while True:
            try:
                await self.server.start()
                break
            except SocketTaken as exc:
                if not self.standby:
                    await self._failed(exc)
                    return
                if not self.ready.is_set():
                    self.standing_by = str(exc)
                    self.ready.set()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(STANDBY_EVERY):
                        await self._quit.wait()
                if self._quit.is_set():
                    await self.server.close()
                    return
            except BaseException as exc:
                await self._failed(exc)
                return
        if self.standing_by and self.say is not None:
            self.say(f"api: {self.server.path} (taken over: the daemon there went away)")
        self.ready.set()
        try:
            await self._quit.wait()
        finally:
            await self.server.close()

    async def _failed(self, exc: BaseException) -> None:
        self.failed = exc
        self.ready.set()
        await self.server.close()

    def start_serving(self, timeout: float = 30.0) -> None:
        """Start, and wait until the socket answers (or raise what stopped it)."""
        self.start()
        self.ready.wait(timeout)
        if self.failed is not None:
            raise self.failed

    def stop(self, timeout: float = 10.0) -> None:
        if self._loop is not None and self._quit is not None:
            self._loop.call_soon_threadsafe(self._quit.set)
        self.join(timeout)
