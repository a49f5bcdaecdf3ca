"""What a client raises when the daemon (or the in-process handlers) answer a failure, or
no daemon answers at all."""

from __future__ import annotations


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
