"""HTTP/1.1 with JSON bodies over a Unix socket, with the standard library only:
http.client does the protocol; `UnixHTTPConnection` only opens an AF_UNIX socket instead
of a TCP one. No HTTP is parsed by hand here or anywhere in onetui."""

from __future__ import annotations

import http.client
import json
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any

from onetui.client.errors import DaemonGone

RECONNECT = 30.0  # seconds a client that was talking to a daemon waits for it to return
_RETRY_EVERY = 0.2


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


# Failures after which nothing was received: a read may be sent again, a write may not
# (the daemon may have done it before it went).
_GONE_BEFORE = (FileNotFoundError, ConnectionRefusedError)
_GONE_DURING = (ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected,
                http.client.IncompleteRead)


class SocketTransport:
    """Requests to the daemon on `path` over one kept-alive connection. When the daemon
    is gone (killed, restarting), a request waits up to `reconnect` seconds for it to
    answer again, telling `on_wait` once; a read is re-sent even if the daemon died while
    answering it, a write only if it never reached the daemon. Threads take turns on the
    one connection (the console asks from several worker threads)."""

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 120.0,
                 reconnect: float = RECONNECT, on_wait: Any = None) -> None:
        self.path = Path(path)
        self.timeout = timeout
        self.reconnect = reconnect
        self.on_wait = on_wait
        self._conn: UnixHTTPConnection | None = None
        self._turn = threading.Lock()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def request(self, method: str, path: str, body: Any = None, *,
                idempotent: bool = False) -> tuple[int, Any]:
        with self._turn:
            return self._request(method, path, body, idempotent)

    def _request(self, method: str, path: str, body: Any,
                 idempotent: bool) -> tuple[int, Any]:
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


