"""HTTP/1.1 with JSON bodies over a Unix socket, with the standard library's socket only.

The one peer is onetui's own daemon (aiohttp), so the client side of the protocol is
small: a request with a Content-Length body; an answer whose status line and headers are
checked strictly, and whose body is sized by Content-Length (or chunked, or read until
the daemon closes). It is written here rather than taken from http.client because
http.client imports the email package and ssl to parse headers: ~25 ms of every command's
start-up, more than the request itself."""

from __future__ import annotations

import json
import os
import select
import socket
import threading
import time
from pathlib import Path
from typing import Any, BinaryIO

from onetui.client.errors import DaemonGone

RECONNECT = 30.0  # seconds a client that was talking to a daemon waits for it to return
_RETRY_EVERY = 0.2
_MAX_LINE = 65536  # longest status or header line accepted
_MAX_HEADERS = 100


class CutShort(ConnectionError):
    """The daemon closed the connection before its answer was whole (before the status
    line: it may have been an idle keep-alive connection it closed)."""


class BadAnswer(Exception):
    """What came back is not an HTTP/1.x answer (something else listens on the socket)."""


class Connection:
    """One kept-alive connection to a Unix socket: one request at a time."""

    def __init__(self, path: str | os.PathLike[str], timeout: float = 60.0) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.connect(os.fspath(path))
        except BaseException:
            sock.close()
            raise
        self.sock = sock
        self.file: BinaryIO = sock.makefile("rb")

    def close(self) -> None:
        self.file.close()
        self.sock.close()

    def stale(self) -> bool:
        """Whether this kept-alive connection is not fit for the next request: the
        daemon closed it meanwhile (it closes idle ones; a request sent on it would be cut
        short, and a write could not be re-sent), or something unasked waits on it.
        Looked at without waiting and without taking anything off the line."""
        try:
            readable, _, _ = select.select([self.sock], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(readable)  # closed (an end to read) or out of step (something came)

    def request(self, method: str, path: str, data: bytes | None) -> tuple[int, bytes, bool]:
        """Send one request; its status, body, and whether the connection is done."""
        head = [f"{method} {path} HTTP/1.1", "Host: localhost"]
        if data is not None:
            head += ["Content-Type: application/json", f"Content-Length: {len(data)}"]
        elif method != "GET":
            head.append("Content-Length: 0")
        self.sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode("ascii") + (data or b""))
        status, version = self._status()
        headers = self._headers()
        closes = headers.get("connection", "").lower() == "close" or version == "HTTP/1.0"
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return status, self._chunked(), closes
        length = headers.get("content-length")
        if length is None:
            return status, self.file.read(), True  # until the daemon closes
        if not length.isdigit():
            raise BadAnswer(f"Content-Length {length[:40]!r}")
        return status, self._exactly(int(length)), closes

    def _line(self) -> bytes:
        line = self.file.readline(_MAX_LINE + 1)
        if len(line) > _MAX_LINE:
            raise BadAnswer("a line longer than 64 KiB")
        if not line.endswith(b"\n"):
            raise CutShort("the daemon closed the connection while answering")
        return line.rstrip(b"\r\n")

    def _status(self) -> tuple[int, str]:
        first = self.file.readline(_MAX_LINE + 1)
        if not first:
            raise CutShort("the daemon closed the connection without answering")
        if not first.endswith(b"\n"):
            raise CutShort("the daemon closed the connection while answering")
        version, _, rest = first.decode("latin-1").rstrip("\r\n").partition(" ")
        code = rest[:3]
        if version not in ("HTTP/1.0", "HTTP/1.1") or len(code) != 3 or not code.isdigit():
            raise BadAnswer(f"not an HTTP answer: {first[:60]!r}")
        return int(code), version

    def _headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        for _ in range(_MAX_HEADERS):
            line = self._line()
            if not line:
                return headers
            name, colon, value = line.decode("latin-1").partition(":")
            if not colon or not name or name != name.strip():
                raise BadAnswer(f"a header line {line[:60]!r}")
            headers[name.lower()] = value.strip()
        raise BadAnswer(f"more than {_MAX_HEADERS} headers")

    def _exactly(self, size: int) -> bytes:
        body = self.file.read(size)
        if len(body) < size:
            raise CutShort(f"the daemon closed the connection after {len(body)} of "
                           f"{size} bytes")
        return body

    def _chunked(self) -> bytes:
        parts: list[bytes] = []
        while True:
            size = self._line().split(b";", 1)[0].strip()
            try:
                n = int(size, 16)
            except ValueError:
                raise BadAnswer(f"a chunk size {size[:20]!r}") from None
            if n == 0:
                while self._line():  # trailers, up to the blank line
                    pass
                return b"".join(parts)
            parts.append(self._exactly(n))
            if self._line():
                raise BadAnswer("a chunk longer than its size")


# Failures after which nothing was received: a read may be sent again, a write may not
# (the daemon may have done it before it went).
_GONE_BEFORE = (FileNotFoundError, ConnectionRefusedError)
_GONE_DURING = (ConnectionResetError, BrokenPipeError, CutShort)


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
        self._conn: Connection | None = None
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
        if self._conn is not None and self._conn.stale():
            self.close()
        if self._conn is None:
            self._conn = Connection(self.path, timeout=self.timeout)
        try:
            status, raw, closes = self._conn.request(method, path, data)
        except BadAnswer as exc:
            self.close()
            return 502, {"error": f"{self.path} answered what is not onetui's API: {exc}",
                         "kind": "bad-answer"}
        if closes:
            self.close()
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, {"error": raw[:200].decode(errors="replace"),
                            "kind": "bad-answer"}
