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
