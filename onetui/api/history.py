"""The history the engine keeps (store.history): one object's points over a window, for
`--history WINDOW` on `host show`, `vm show` and `service show`, and for `sge history`."""

from __future__ import annotations

import time
from typing import Any

from onetui.access import Caller
from onetui.api.registry import BadRequest, operation, optional, required
from onetui.store import Store
from onetui.store.history import GRID_KEY, KINDS, TIERS
from onetui.view.rows import history_json

KEPT = TIERS[-1][1]  # seconds: the longest the history keeps anything


def _key(store: Store, kind: str, ref: str | int | None) -> str:
    """The history's key of `ref` (a host, VM or service by name or id; the grid has one)."""
    if kind == "grid":
        return GRID_KEY
    if ref is None:
        raise BadRequest(f"history.read: field 'ref' is required for kind {kind!r}")
    if kind == "host":
        return str(store.hosts.get(ref).id)
    if kind == "vm":
        return str(store.vms.get(ref).id)
    return str(store.services.get(ref).id)


@operation("history.read", kind=required(str), ref=optional(None, str, int),
           window=required(int))
def history_read(store: Store, caller: Caller, kind: str, ref: str | int | None,
                 window: int) -> list[dict[str, Any]]:
    """The points of `ref` (of `kind`: host, vm, service, grid) over the last `window`
    seconds, oldest first, each {at, field: value, …}."""
    if kind not in KINDS:
        raise BadRequest(f"history.read: no kind {kind!r}; expected one of: "
                         f"{', '.join(KINDS)}")
    if not 0 < window <= KEPT:
        raise BadRequest(f"history.read: 'window' must be 1 to {KEPT:g} seconds (history is "
                         f"kept for a week), got {window}")
    points = store.history.read(kind, _key(store, kind, ref), time.time() - window)
    return [history_json(p) for p in points]


MAX_KEYS = 10_000  # objects in one read_many (a pane's hosts)


@operation("history.read_many", kind=required(str), keys=required(list),
           since=required(float, int))
def history_read_many(store: Store, caller: Caller, kind: str, keys: list[Any],
                      since: float) -> dict[str, list[dict[str, Any]]]:
    """The points of several objects of one kind (by their history keys: ids as strings,
    "grid" for the grid) from `since` on, each stored row decoded once: the panes'
    sparklines, read incrementally from the newest point a client has."""
    if kind not in KINDS:
        raise BadRequest(f"history.read_many: no kind {kind!r}; expected one of: "
                         f"{', '.join(KINDS)}")
    if len(keys) > MAX_KEYS or not all(isinstance(k, str) and (k.isdigit() or k == GRID_KEY)
                                       for k in keys):
        raise BadRequest(f"history.read_many: 'keys' must be at most {MAX_KEYS} ids as "
                         "strings (or \"grid\")")
    since = max(float(since), time.time() - KEPT)
    return {key: [history_json(p) for p in points]
            for key, points in store.history.read_many(kind, keys, since).items()}
