"""What every subcommand shares: the state directory, a lazily opened store, and the
client of onetui's API (the daemon's socket, or the same handlers in-process)."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

from onetui import config
from onetui.client import ApiError, Client, DaemonGone, default_socket, reachable
from onetui.store import Store

if TYPE_CHECKING:
    from onetui.client.transport import SocketTransport


class Context:
    def __init__(self, state: str | None, theme: str | None = None, *,
                 init: bool = False) -> None:
        self.state = state
        self.theme = theme
        self.init = init
        self._store: Store | None = None
        self._client: Client | None = None
        # the daemon's daemon.info answer (its store, who it sees asking, their role)
        self.info: dict[str, Any] | None = None

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store.open(self.state, init=self.init)
        return self._store

    @property
    def client(self) -> Client:
        """The API as this command reaches it: the daemon on the socket when one serves
        this command's store, else the same handlers run in this process (one way to do
        a thing; only the transport differs)."""
        if self._client is None:
            self._client = self._daemon() or self._in_process()
        return self._client

    def close(self) -> None:
        """Let go of the store and the daemon's connection (before exec'ing another
        program)."""
        if self._store is not None:
            self._store.close()
        if self._client is not None:
            self._client.transport.close()

    def _daemon(self) -> Client | None:
        path = default_socket()
        if self.init or not reachable(path):
            return None
        from onetui.client.transport import SocketTransport  # a daemon may answer

        transport = SocketTransport(path, reconnect=0.0)
        client = Client(transport)
        want = str(config.store_path(self.state).resolve())
        try:
            self.info = client.call("daemon.info")
        except DaemonGone:
            if self._own_store(want):
                return None
            # no store of ours: the daemon's socket is the only door, so wait for it
            # (killed, restarting under systemd) as a client that was talking to it does
            self._wait_for_it(transport)
            self.info = client.call("daemon.info")
        except ApiError:
            if os.access(want, os.R_OK | os.W_OK):
                return None  # a daemon that refuses us, and a store of our own
            raise
        if self.info["store"] != want and self._own_store(want):
            transport.close()
            return None
        self._wait_for_it(transport)
        return client

    @staticmethod
    def _wait_for_it(transport: SocketTransport) -> None:
        """From now on a daemon gone is waited for (RECONNECT s), saying so once."""
        from onetui.client.transport import RECONNECT

        transport.reconnect = RECONNECT
        transport.on_wait = lambda msg: print(f"onetui: {msg}", file=sys.stderr)

    def _own_store(self, want: str) -> bool:
        """Whether this command means a store of its own rather than the daemon's: one
        named (--state, $ONETUI_STATE), or the user's default store when it exists. A
        user of a shared front-end has neither: their commands go to the daemon, whose
        store they could not open anyway (system mode)."""
        return bool(self.state or os.environ.get("ONETUI_STATE")) or os.path.exists(want)

    def _in_process(self) -> Client:
        from onetui.api.local import LocalTransport

        return Client(LocalTransport(self.store))
