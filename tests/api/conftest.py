"""A real API server (aiohttp on a Unix socket) on a real store, in this process's own
thread, and clients of it (the stdlib client the CLI uses)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from onetui.client import Client, SocketTransport
from onetui.data import TEMPLATES
from onetui.runtime.server import ApiServer, ServerThread
from onetui.store import Store


@dataclass
class Daemon:
    socket: Path
    store: Store  # the test's own connection to the daemon's store
    server: ApiServer

    def client(self, **kw: object) -> Client:
        return Client(SocketTransport(self.socket, **kw))  # type: ignore[arg-type]


@pytest.fixture
def daemon(store: Store) -> Iterator[Daemon]:
    yield from _serve(store, idle=1.0, max_connections=256)


@pytest.fixture
def strict_daemon(store: Store) -> Iterator[Daemon]:
    """Short bounds, for the tests of bad clients: 1 s silent, 3 s per request."""
    yield from _serve(store, idle=1.0, deadline=3.0, max_connections=256)


def _serve(store: Store, **bounds: float) -> Iterator[Daemon]:
    store.templates.add("xen.local01", (TEMPLATES / "xen.local01").read_text())
    server = ApiServer(Store(store.path), Path(os.environ["ONETUI_SOCKET"]),
                       **bounds)  # type: ignore[arg-type]
    thread = ServerThread(server)
    thread.start_serving()
    try:
        yield Daemon(server.path, store, server)
    finally:
        thread.stop()
        server.store.close()
