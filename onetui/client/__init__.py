"""The client side of onetui's API: what the CLI (and later the console) use to ask the
daemon. It imports only the standard library (http.client over an AF_UNIX socket), so a
command that talks to the daemon loads nothing heavy.

A `Client` sends operations by name ("vm.list", "vm.action", …) with a JSON object of
fields through a transport: `SocketTransport` to a running `onetui serve`, or the
in-process one (onetui.api.local) that runs the very same handlers when no daemon answers.
"""

from __future__ import annotations

from onetui.client.transport import (
    ApiError,
    Client,
    DaemonGone,
    SocketTransport,
    Transport,
    UnixHTTPConnection,
    default_socket,
    system_socket,
    user_socket,
)

__all__ = ["ApiError", "Client", "DaemonGone", "SocketTransport", "Transport",
           "UnixHTTPConnection", "default_socket", "system_socket", "user_socket"]
