"""The API by operation name over any transport: the socket's (onetui.client.transport)
or the in-process one (onetui.api.local). Standard library only, and not the HTTP client:
a command with no daemon to talk to loads none of it."""

from __future__ import annotations

import urllib.parse
from typing import Any, Protocol

from onetui.client.errors import ApiError


class Transport(Protocol):
    def request(self, method: str, path: str, body: Any = None, *,
                idempotent: bool = False) -> tuple[int, Any]:
        """Send one request; the status and the decoded JSON answer. `idempotent`: it may
        be sent again if the daemon died while answering it."""
        ...

    def close(self) -> None:
        """Let go of the connection (nothing, in-process)."""
        ...


# Operations that only read (their last word): sent again after a daemon died mid-answer.
READ_VERBS = frozenset({"list", "show", "info", "by_ids", "changes", "current", "read",
                        "read_many", "lease"})


class Client:
    """The API by operation name. Every answer is JSON: lists and dicts of onetui's
    records (as `--json` prints them)."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    def call(self, op: str, **fields: Any) -> Any:
        """Run operation `op`; its result, or ApiError with the daemon's one line."""
        status, answer = self.transport.request(
            "POST", f"/v1/ops/{op}", fields, idempotent=op.rpartition(".")[2] in READ_VERBS)
        return _result(status, answer)

    def changes(self, since: int, wait: float = 0.0) -> dict[str, Any]:
        """What changed after `since` ({"seq", "complete", "ids": {kind: [ids]}}); with
        `wait`, the daemon answers as soon as something changes, or after `wait` s."""
        query = urllib.parse.urlencode({"since": since, "wait": wait})
        status, answer = self.transport.request("GET", f"/v1/changes?{query}",
                                                idempotent=True)
        result: dict[str, Any] = _result(status, answer)
        return result


def _result(status: int, answer: Any) -> Any:
    if status == 200 and isinstance(answer, dict) and "result" in answer:
        return answer["result"]
    if isinstance(answer, dict) and "error" in answer:
        details = answer.get("details")
        raise ApiError(status, str(answer["error"]), str(answer.get("kind", "")),
                       answer.get("needs"), details if isinstance(details, dict) else None)
    raise ApiError(status, f"the daemon answered {status} without an error message")
