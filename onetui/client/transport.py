"""HTTP/1.1 with JSON bodies over a Unix socket, with the standard library only:
http.client does the protocol; `UnixHTTPConnection` only opens an AF_UNIX socket instead
of a TCP one. No HTTP is parsed by hand here or anywhere in onetui."""

from __future__ import annotations

import http.client
import json
import os
import socket
import time
import urllib.parse
from pathlib import Path
from typing import Any, Protocol

SYSTEM_SOCKET = Path("/run/onetui/onetui.sock")
RECONNECT = 30.0  # seconds a client that was talking to a daemon waits for it to return
_RETRY_EVERY = 0.2


def system_socket() -> Path:
    """System mode's socket (the daemon runs as its own user; group onetui may connect)."""
    return SYSTEM_SOCKET


def user_socket() -> Path:
    """User mode's socket: under $XDG_RUNTIME_DIR, or /tmp/onetui-UID when it is unset."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    base = Path(runtime) / "onetui" if runtime else Path(f"/tmp/onetui-{os.getuid()}")
    return base / "onetui.sock"


def default_socket(*, serving: bool = False) -> Path:
    """$ONETUI_SOCKET, else: for a client, the user's socket when one is there, else the
    system's; for `onetui serve`, the system's when run as root, else the user's."""
    given = os.environ.get("ONETUI_SOCKET")
    if given:
        return Path(given)
    if serving:
        return system_socket() if os.getuid() == 0 else user_socket()
    mine = user_socket()
    return SYSTEM_SOCKET if not reachable(mine) and reachable(SYSTEM_SOCKET) else mine


def reachable(path: Path) -> bool:
    """Whether a socket is there for this user to see: a path in a directory they may not
    enter (system mode's /run/onetui for someone outside group onetui) is not."""
    try:
        return path.exists()
    except OSError:  # PermissionError: Path.exists lets EACCES through
        return False


class ApiError(Exception):
    """The daemon answered with a failure: one line for the user, its kind (bad-request,
    not-found, conflict, refused, template, …) and, when refused, the role it needs."""

    def __init__(self, status: int, message: str, kind: str = "",
                 needs: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.needs = needs


class DaemonGone(ApiError):
    """No daemon answers on the socket (none started, or it died and did not return)."""

    def __init__(self, message: str) -> None:
        super().__init__(503, message, "daemon-gone")


class UnixHTTPConnection(http.client.HTTPConnection):
    """http.client's connection, to a Unix socket instead of host:port."""

    def __init__(self, path: str | os.PathLike[str], timeout: float = 60.0) -> None:
        super().__init__("localhost", timeout=timeout)
        self.socket_path = os.fspath(path)

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            sock.connect(self.socket_path)
        except BaseException:
            sock.close()
            raise
        self.sock = sock


class Transport(Protocol):
    def request(self, method: str, path: str, body: Any = None, *,
                idempotent: bool = False) -> tuple[int, Any]:
        """Send one request; the status and the decoded JSON answer. `idempotent`: it may
        be sent again if the daemon died while answering it."""
        ...


# Operations that only read (their last word): sent again after a daemon died mid-answer.
READ_VERBS = frozenset({"list", "show", "info", "by_ids", "changes"})


# Failures after which nothing was received: a read may be sent again, a write may not
# (the daemon may have done it before it went).
_GONE_BEFORE = (FileNotFoundError, ConnectionRefusedError)
_GONE_DURING = (ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected,
                http.client.IncompleteRead)


class SocketTransport:
    """Requests to the daemon on `path` over one kept-alive connection. When the daemon
    is gone (killed, restarting), a request waits up to `reconnect` seconds for it to
    answer again, telling `on_wait` once; a read is re-sent even if the daemon died while
    answering it, a write only if it never reached the daemon."""

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 120.0,
                 reconnect: float = RECONNECT, on_wait: Any = None) -> None:
        self.path = Path(path)
        self.timeout = timeout
        self.reconnect = reconnect
        self.on_wait = on_wait
        self._conn: UnixHTTPConnection | None = None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def request(self, method: str, path: str, body: Any = None, *,
                idempotent: bool = False) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        safe = idempotent or method == "GET"
        deadline = time.monotonic() + self.reconnect
        told = False
        while True:
            try:
                return self._once(method, path, data)
            except (*_GONE_BEFORE, *_GONE_DURING) as exc:
                self.close()
                if isinstance(exc, _GONE_DURING) and not safe:
                    raise DaemonGone(f"the daemon on {self.path} went away while answering; "
                                     "the request may or may not have been done") from None
                if time.monotonic() >= deadline:
                    raise DaemonGone(f"no onetui daemon answers on {self.path} "
                                     f"({exc.__class__.__name__})") from None
                if self.on_wait is not None and not told:
                    self.on_wait(f"daemon gone ({self.path}), reconnecting")
                    told = True
                time.sleep(_RETRY_EVERY)

    def _once(self, method: str, path: str, data: bytes | None) -> tuple[int, Any]:
        if self._conn is None:
            self._conn = UnixHTTPConnection(self.path, timeout=self.timeout)
        headers = {"Content-Type": "application/json"} if data is not None else {}
        self._conn.request(method, path, body=data, headers=headers)
        resp = self._conn.getresponse()
        raw = resp.read()
        if resp.will_close:
            self.close()
        try:
            return resp.status, json.loads(raw) if raw else None
        except ValueError:
            return resp.status, {"error": raw[:200].decode(errors="replace"),
                                 "kind": "bad-answer"}


class Client:
    """The API by operation name. Every answer is JSON: lists and dicts of onetui's
    records (as `--json` prints them)."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    def call(self, op: str, **fields: Any) -> Any:
        """Run operation `op`; its result, or ApiError with the daemon's one line."""
        status, answer = self.transport.request(
            "POST", f"/v1/ops/{op}", fields, idempotent=op.rpartition(".")[2] in READ_VERBS)
        return _result(status, answer)

    def changes(self, since: int, wait: float = 0.0) -> dict[str, Any]:
        """What changed after `since` ({"seq", "complete", "ids": {kind: [ids]}}); with
        `wait`, the daemon answers as soon as something changes, or after `wait` s."""
        query = urllib.parse.urlencode({"since": since, "wait": wait})
        status, answer = self.transport.request("GET", f"/v1/changes?{query}",
                                                idempotent=True)
        result: dict[str, Any] = _result(status, answer)
        return result


def _result(status: int, answer: Any) -> Any:
    if status == 200 and isinstance(answer, dict) and "result" in answer:
        return answer["result"]
    if isinstance(answer, dict) and "error" in answer:
        raise ApiError(status, str(answer["error"]), str(answer.get("kind", "")),
                       answer.get("needs"))
    raise ApiError(status, f"the daemon answered {status} without an error message")
