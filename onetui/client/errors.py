"""What a client raises when the daemon (or the in-process handlers) answer a failure, or
no daemon answers at all."""

from __future__ import annotations

from typing import Any

# Kinds of failure a client can act on, with what it needs in the answer's "details":
# a part the daemon has no config section for ({"config": the daemon's config file}), and
# a host key the daemon's SSH connection does not know ({"host", "key_type", "key" (base64),
# "fingerprint"}: what an admin compares before trusting it).
NOT_CONFIGURED = "not-configured"
HOST_KEY_UNKNOWN = "host-key-unknown"


class ApiError(Exception):
    """The daemon answered with a failure: one line for the user, its kind (bad-request,
    not-found, conflict, refused, template, …), when refused the role it needs, and what
    a failure the client can act on carries besides (`details`: see NOT_CONFIGURED,
    HOST_KEY_UNKNOWN)."""

    def __init__(self, status: int, message: str, kind: str = "",
                 needs: str | None = None, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.needs = needs
        self.details = details or {}


class DaemonGone(ApiError):
    """No daemon answers on the socket (none started, or it died and did not return)."""

    def __init__(self, message: str) -> None:
        super().__init__(503, message, "daemon-gone")
