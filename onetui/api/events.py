"""The event log and the change sequence: what `onetui events` prints and what live panes
follow (`changes`: the ids changed since a cursor; the daemon's long-poll waits on it)."""

from __future__ import annotations

from typing import Any

from onetui.access import Caller
from onetui.api.registry import BadRequest, operation, optional
from onetui.store import Store
from onetui.store.events import KINDS

MAX_EVENTS = 10_000  # events in one answer; a follower asks again from the last id


def _kinds(kinds: list[Any]) -> tuple[str, ...]:
    bad = [k for k in kinds if k not in KINDS]
    if bad:
        raise BadRequest(f"events.list: no kind {bad[0]!r}; expected: {', '.join(KINDS)}")
    return tuple(kinds)


@operation("events.list", limit=optional(None, int), kinds=optional([], list),
           since=optional(None, float, int), after=optional(None, int),
           user=optional(None, str), obj=optional(None, int))
def events_list(store: Store, caller: Caller, limit: int | None, kinds: list[Any],
                since: float | None, after: int | None, user: str | None,
                obj: int | None) -> dict[str, Any]:
    """Either the newest `limit` events (none given: from `since` on, all of them; else
    the newest MAX_EVENTS), or, with `after`, those newer than that id (MAX_EVENTS at
    most); oldest first, with the newest id there is (where following starts). With
    `user`, only the events of that unix user's requests (their audit trail); with `obj`
    (and one kind), only those of that object, the newest `limit` (after `after`: the
    marks on a detail's plot, then those it has not seen)."""
    picked = _kinds(kinds)
    if limit is not None and not 1 <= limit <= MAX_EVENTS:
        raise BadRequest(f"events.list: 'limit' must be 1 to {MAX_EVENTS}, got {limit}")
    if obj is not None and (len(picked) != 1 or since is not None or user is not None):
        raise BadRequest("events.list: 'obj' goes with exactly one kind, 'limit' and "
                         "'after' alone")
    with store.db.snapshot():
        last = store.events.last_id()
        if obj is not None:
            events = list(reversed(store.events.recent(limit or MAX_EVENTS, kind=picked[0],
                                                       obj_id=obj, after=after or 0)))
        elif after is not None:
            events = store.events.since(after, limit=limit or MAX_EVENTS, kinds=picked,
                                       user=user)
        else:
            everything = -1 if since is not None else MAX_EVENTS
            events = store.events.tail(limit or everything, kinds=picked, at_or_after=since,
                                       user=user)
    # an event's fields are all scalars: its __dict__ copied is what dataclasses.asdict's
    # deep copy gives, at a fifth of the cost (a console's tick reads up to 200 of them)
    return {"last": last, "events": [dict(vars(e)) for e in events]}


@operation("changes", since=optional(0, int))
def changes(store: Store, caller: Caller, since: int) -> dict[str, Any]:
    """Ids changed after `since`, by kind, and the new cursor; `complete` false when the
    log no longer reaches back that far (reload everything)."""
    got = store.changes.since(since)
    return {"seq": got.seq, "complete": got.complete,
            "ids": {kind: sorted(ids) for kind, ids in got.ids.items()}}


@operation("changes.current")
def changes_current(store: Store, caller: Caller) -> int:
    """The change sequence's cursor now: a client that reads everything takes it first, and
    follows `changes` from it."""
    return store.changes.current()
