"""The in-process transport: the client's requests answered by the same registry, checks
and `authorize` the daemon uses, with this process as the caller. The CLI uses it when no
daemon answers (`onetui vm list` on a store of one's own, as before the daemon existed);
bodies go through JSON both ways, so what a command gets is exactly what the socket would
have given it."""

from __future__ import annotations

import json
import time
import urllib.parse
from typing import Any

from onetui.access import Caller, Config
from onetui.api.registry import respond
from onetui.store import Store

OPS = "/v1/ops/"
MAX_WAIT = 60.0  # seconds a changes request may wait (the daemon's bound too)
_LOOK_EVERY = 0.1


def changes_wait(query: str) -> tuple[dict[str, Any], float]:
    """`since` and `wait` of a /v1/changes query, checked: ({"since": N}, seconds)."""
    params = urllib.parse.parse_qs(query)
    unknown = sorted(set(params) - {"since", "wait"})
    if unknown:
        raise ValueError(f"unknown parameter(s) {', '.join(unknown)}; expected: since, wait")
    try:
        since = int(params.get("since", ["0"])[-1])
        wait = float(params.get("wait", ["0"])[-1])
    except ValueError:
        raise ValueError("since must be an integer and wait a number of seconds") from None
    if not 0 <= wait <= MAX_WAIT:
        raise ValueError(f"wait must be 0 to {MAX_WAIT:g} seconds")
    return {"since": since}, wait


def _config_file() -> dict[str, Any]:
    from onetui import config

    return config.load_config()


class LocalTransport:
    """Answers requests in this process, on `store`, as `caller` (default: this process),
    under the roles of `cfg` (default: the config file, read only if a role must be looked
    up: the store's own user is an admin without it)."""

    def __init__(self, store: Store, caller: Caller | None = None,
                 cfg: Config | None = None) -> None:
        self.store = store
        self.caller = caller or Caller.current()
        self.cfg: Config = cfg if cfg is not None else _config_file


    def request(self, method: str, path: str, body: Any = None, *,
                idempotent: bool = False) -> tuple[int, Any]:
        plain = json.loads(json.dumps(body)) if body is not None else None
        route, _, query = path.partition("?")
        if method == "POST" and route.startswith(OPS):
            status, answer = respond(self.store, self.caller, route[len(OPS):], plain,
                                     self.cfg)
        elif method == "GET" and route == "/v1/changes":
            status, answer = self._changes(query)
        else:
            status, answer = 404, {"error": f"no route {method} {route}", "kind": "not-found"}
        return status, json.loads(json.dumps(answer))

    def _changes(self, query: str) -> tuple[int, dict[str, Any]]:
        try:
            fields, wait = changes_wait(query)
        except ValueError as exc:
            return 400, {"error": f"/v1/changes: {exc}", "kind": "bad-request"}
        deadline = time.monotonic() + wait
        while True:
            status, answer = respond(self.store, self.caller, "changes", fields, self.cfg)
            if status != 200 or answer["result"]["seq"] != fields["since"] \
                    or time.monotonic() >= deadline:
                return status, answer
            time.sleep(_LOOK_EVERY)

    def close(self) -> None:
        """Nothing to close: the store belongs to whoever opened it."""
