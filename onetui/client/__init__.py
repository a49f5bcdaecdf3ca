"""The client side of onetui's API: what the CLI (and later the console) use to ask the
daemon. It imports only the standard library (HTTP/1.1 over an AF_UNIX socket), so a
command that talks to the daemon loads nothing heavy — and a command with no daemon to
talk to not even that: the socket transport loads when first named.

A `Client` sends operations by name ("vm.list", "vm.action", …) with a JSON object of
fields through a transport: `SocketTransport` to a running `onetui serve`, or the
in-process one (onetui.api.local) that runs the very same handlers when no daemon answers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from onetui.client.calls import Client, Transport
from onetui.client.errors import HOST_KEY_UNKNOWN, NOT_CONFIGURED, ApiError, DaemonGone
from onetui.client.paths import default_socket, reachable, system_socket, user_socket

if TYPE_CHECKING:
    from onetui.client.transport import Connection, SocketTransport

__all__ = ["HOST_KEY_UNKNOWN", "NOT_CONFIGURED", "ApiError", "Client", "Connection",
           "DaemonGone", "SocketTransport", "Transport", "default_socket",
           "reachable", "system_socket", "user_socket"]


def __getattr__(name: str) -> Any:
    """SocketTransport and Connection, imported (with socket) when named."""
    if name in ("SocketTransport", "Connection"):
        from onetui.client import transport

        return getattr(transport, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
