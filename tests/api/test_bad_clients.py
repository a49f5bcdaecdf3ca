"""What bad clients get from the daemon, each bounded in time and memory, while everyone
else is still served: garbage bytes, a 100 MB body, a client that connects and never sends
(or stops halfway), a thousand connections at once. Responses are read with http.client,
never parsed by hand."""

from __future__ import annotations

import http.client
import socket
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest

from onetui.client import ApiError
from tests.api.conftest import Daemon

BOUND = 30.0  # seconds any single read in these tests may wait before the test fails
MB = 1 << 20


@contextmanager
def raw(path: Path) -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(BOUND)
    sock.connect(str(path))
    try:
        yield sock
    finally:
        sock.close()


def answer(sock: socket.socket) -> tuple[int, bytes] | None:
    """The HTTP answer on `sock`, read by http.client; None if the daemon just closed."""
    resp = http.client.HTTPResponse(sock)
    try:
        resp.begin()
    except http.client.RemoteDisconnected:
        return None
    except (ConnectionResetError, BrokenPipeError):
        return None
    return resp.status, resp.read()


def rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def still_serving(daemon: Daemon) -> None:
    assert daemon.client(reconnect=0.0).call("vm.list") == []


def test_garbage_bytes_get_400_and_others_are_served(strict_daemon: Daemon) -> None:
    with raw(strict_daemon.socket) as sock:
        sock.sendall(b"\x16\x03\x01\x02\x00\xff\xfe garbage \x00\r\n\r\n")
        got = answer(sock)
    assert got is None or got[0] == 400
    with raw(strict_daemon.socket) as sock:  # a 1 MB header line: cut off at 8 KiB
        with suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(b"GET /v1/changes?since=0 HTTP/1.1\r\nHost: x\r\n" + b"X: "
                         + b"a" * MB + b"\r\n\r\n")
        got = answer(sock)
    assert got is None or got[0] in (400, 431)
    still_serving(strict_daemon)


def test_a_body_that_is_not_json_is_one_line(strict_daemon: Daemon) -> None:
    status, _body = strict_daemon.client().transport.request("POST", "/v1/ops/vm.list",
                                                            None)
    assert status == 200
    conn = http.client.HTTPConnection("x")
    with raw(strict_daemon.socket) as sock:
        conn.sock = sock
        conn.request("POST", "/v1/ops/vm.list", body=b"{not json",
                     headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        assert resp.status == 400
        assert b"vm.list: the body is not JSON" in resp.read()


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_100_mb_body_is_refused_without_being_kept(strict_daemon: Daemon,
                                                     chunked: bool) -> None:
    before = rss()
    sent = 0
    with raw(strict_daemon.socket) as sock:
        length = b"Transfer-Encoding: chunked" if chunked else b"Content-Length: %d" % (100 * MB)
        sock.sendall(b"POST /v1/ops/vm.list HTTP/1.1\r\nHost: x\r\nContent-Type: "
                     b"application/json\r\n" + length + b"\r\n\r\n")
        block = (b"%x\r\n" % MB + b"[" * MB + b"\r\n") if chunked else b"[" * MB
        try:
            for _ in range(100):
                sock.sendall(block)
                sent += 1
        except (BrokenPipeError, ConnectionResetError):
            pass
        got = answer(sock)
    assert sent < 100 or got is not None, "the daemon took all 100 MB and said nothing"
    if got is not None:
        assert got[0] == 413
        assert b"request body over 1048576 bytes" in got[1]
    assert rss() - before < 50 * MB
    still_serving(strict_daemon)


def test_a_client_that_never_sends_is_closed(strict_daemon: Daemon) -> None:
    with raw(strict_daemon.socket) as silent, raw(strict_daemon.socket) as halfway:
        halfway.sendall(b"POST /v1/ops/vm.list HTTP/1.1\r\nHost: x\r\nContent-Le")
        still_serving(strict_daemon)
        assert silent.recv(1) == b""  # closed by the daemon (a hang fails at BOUND s)
        assert halfway.recv(1) == b""


def test_a_body_that_never_ends_is_cut_at_the_deadline(strict_daemon: Daemon) -> None:
    with raw(strict_daemon.socket) as slow:
        slow.sendall(b"POST /v1/ops/vm.list HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
                     b"\r\n{")
        still_serving(strict_daemon)
        got = answer(slow)
    assert got is None or got[0] == 504


def test_a_thousand_connections_at_once(strict_daemon: Daemon) -> None:
    socks = []
    try:
        for _ in range(1000):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(BOUND)
            sock.connect(str(strict_daemon.socket))
            socks.append(sock)
        for sock in socks:
            sock.sendall(b"POST /v1/ops/vm.list HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                         b"Content-Type: application/json\r\n\r\n{}")
        statuses = [got[0] if (got := answer(sock)) else None for sock in socks]
    finally:
        for sock in socks:
            sock.close()
    assert set(statuses) <= {200, 503, None}
    assert statuses.count(200) >= 100  # up to the cap served, the rest told "too many"
    assert statuses.count(503) + statuses.count(None) >= 1000 - 256 - 1
    still_serving(strict_daemon)


def test_unknown_fields_are_an_error_not_ignored(strict_daemon: Daemon) -> None:
    with pytest.raises(ApiError, match=r"vm.show: unknown field\(s\) 'as_root'"):
        strict_daemon.client().call("vm.show", ref=1, as_root=True)
    still_serving(strict_daemon)
