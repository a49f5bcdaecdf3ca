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
import re
import select
import socket
import threading
import time
from pathlib import Path
from typing import Any

from onetui.client.errors import DaemonGone

RECONNECT = 30.0  # seconds a client that was talking to a daemon waits for it to return
_RETRY_EVERY = 0.2
_MAX_LINE = 65536  # longest status or header line accepted
_MAX_HEADERS = 100
_MAX_ANSWER = 256 * 1024 * 1024  # the largest answer taken (10,000 VMs are ~6 MB)
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,8}")
_NO_BODY = (204, 304)


class CutShort(ConnectionError):
    """The daemon closed the connection before its answer was whole (before the status
    line: it may have been an idle keep-alive connection it closed)."""


class BadAnswer(Exception):
    """What came back is not an HTTP/1.x answer (something else listens on the socket)."""


class Connection:
    """One kept-alive connection to a Unix socket: one request at a time, its answer read
    through a buffer of its own (so that what waits unasked is seen, `stale`), within
    `timeout` seconds for the whole answer."""

    def __init__(self, path: str | os.PathLike[str], timeout: float = 60.0) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.connect(os.fspath(path))
        except BlockingIOError:  # the daemon's listen queue is full: nothing was sent
            sock.close()
            raise ConnectionRefusedError(f"{path}: the daemon's queue is full") from None
        except BaseException:
            sock.close()
            raise
        self.sock = sock
        self.timeout = timeout
        self._buf = bytearray()
        self._deadline = 0.0

    def close(self) -> None:
        self.sock.close()

    def stale(self) -> bool:
        """Whether this kept-alive connection is not fit for the next request: the
        daemon closed it meanwhile (it closes idle ones; a request sent on it would be cut
        short, and a write could not be re-sent), or something unasked waits on it.
        Looked at without waiting and without taking anything off the line."""
        if self._buf:
            return True
        poller = select.poll()
        poller.register(self.sock, select.POLLIN)
        try:
            return bool(poller.poll(0))  # an end to read, or something unasked
        except OSError:
            return True

    def request(self, method: str, path: str, data: bytes | None) -> tuple[int, bytes, bool]:
        """Send one request; its status, body, and whether the connection is done."""
        if not path.startswith("/") or not path.isprintable() or " " in path:
            raise ValueError(f"not a request path: {path!r}")
        self._deadline = time.monotonic() + self.timeout
        self.sock.settimeout(self.timeout)
        head = [f"{method} {path} HTTP/1.1", "Host: localhost"]
        if data is not None:
            head += ["Content-Type: application/json", f"Content-Length: {len(data)}"]
        elif method != "GET":
            head.append("Content-Length: 0")
        self.sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode("ascii") + (data or b""))
        while True:
            status, version = self._status()
            headers = self._headers()
            if not 100 <= status < 200:
                break  # 1xx: an interim answer (100 Continue); the real one follows
        closes = headers.get("connection", "").lower() == "close" or version == "HTTP/1.0"
        if status in _NO_BODY:
            return status, b"", closes
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return status, self._chunked(), closes
        length = headers.get("content-length")
        if length is None:
            return status, self._rest(), True  # until the daemon closes
        if not (length.isascii() and length.isdigit()) or int(length) > _MAX_ANSWER:
            raise BadAnswer(f"Content-Length {length[:40]!r}")
        return status, self._exactly(int(length)), closes

    # -- reading, from the connection's own buffer ----------------------------------

    def _fill(self) -> bool:
        """More bytes into the buffer; False at the end of the connection."""
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no whole answer within {self.timeout:g} s")
        self.sock.settimeout(left)
        got = self.sock.recv(65536)
        self._buf += got
        return bool(got)

    def _line(self) -> bytes:
        while True:
            end = self._buf.find(b"\n")
            if end >= 0:
                if end > _MAX_LINE:
                    break
                line = bytes(self._buf[:end + 1])
                del self._buf[:end + 1]
                return line.rstrip(b"\r\n")
            if len(self._buf) > _MAX_LINE:
                break
            if not self._fill():
                raise CutShort("the daemon closed the connection while answering")
        raise BadAnswer("a line longer than 64 KiB")

    def _status(self) -> tuple[int, str]:
        if not self._buf and not self._fill():
            raise CutShort("the daemon closed the connection without answering")
        first = self._line().decode("latin-1")
        version, _, rest = first.partition(" ")
        code = rest[:3]
        if version not in ("HTTP/1.0", "HTTP/1.1") or len(code) != 3 or \
                not (code.isascii() and code.isdigit()) or rest[3:4] not in ("", " "):
            raise BadAnswer(f"not an HTTP answer: {first[:60]!r}")
        return int(code), version

    def _headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        for _ in range(_MAX_HEADERS):
            line = self._line()
            if not line:
                return headers
            name, colon, value = line.decode("latin-1").partition(":")
            name = name.lower()
            if not colon or not name or name != name.strip():
                raise BadAnswer(f"a header line {line[:60]!r}")
            if name in headers and name in ("content-length", "transfer-encoding"):
                raise BadAnswer(f"{name} given twice")
            headers[name] = value.strip()
        raise BadAnswer(f"more than {_MAX_HEADERS} headers")

    def _exactly(self, size: int) -> bytes:
        while len(self._buf) < size:
            if not self._fill():
                raise CutShort(f"the daemon closed the connection after {len(self._buf)} "
                               f"of {size} bytes")
        body = bytes(self._buf[:size])
        del self._buf[:size]
        return body

    def _rest(self) -> bytes:
        while self._fill():
            if len(self._buf) > _MAX_ANSWER:
                raise BadAnswer(f"an answer over {_MAX_ANSWER} bytes")
        body = bytes(self._buf)
        self._buf.clear()
        return body

    def _chunked(self) -> bytes:
        parts: list[bytes] = []
        total = 0
        while True:
            size = self._line().split(b";", 1)[0].strip()
            if not _CHUNK_SIZE.fullmatch(size):
                raise BadAnswer(f"a chunk size {size[:20]!r}")
            n = int(size, 16)
            if n == 0:
                while self._line():  # trailers, up to the blank line
                    pass
                return b"".join(parts)
            total += n
            if total > _MAX_ANSWER:
                raise BadAnswer(f"an answer over {_MAX_ANSWER} bytes")
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
        with self._turn:
            self._drop()

    def _drop(self) -> None:
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
                self._drop()
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
            self._drop()
        if self._conn is None:
            self._conn = Connection(self.path, timeout=self.timeout)
        try:
            status, raw, closes = self._conn.request(method, path, data)
        except BadAnswer as exc:
            self._drop()
            return 502, {"error": f"{self.path} answered what is not onetui's API: {exc}",
                         "kind": "bad-answer"}
        except TimeoutError:
            self._drop()  # its answer may still come: the connection is out of step
            raise DaemonGone(f"the daemon on {self.path} gave no whole answer within "
                             f"{self.timeout:g} s; the request may or may not have been "
                             "done") from None
        except BaseException:
            self._drop()  # whatever it was, the connection is out of step
            raise
        if closes:
            self._drop()
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, {"error": raw[:200].decode(errors="replace"),
                            "kind": "bad-answer"}
