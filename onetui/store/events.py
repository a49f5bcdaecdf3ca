"""The append-only event log the console's log pane shows: every state change lands here in
the same transaction as the change itself.

Each event names the unix user and pid whose request caused it: whoever serves a request
wraps it in `acting(user, pid)`, and every event written meanwhile (in that thread or task)
carries them, so no writer has to pass them along. The engine's own events carry none.
"""

from __future__ import annotations

import contextvars
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager

from onetui.model import Event
from onetui.store.db import Database

# What an event is about: the `kind` every writer passes to `record` / `Events.add`.
KINDS = ("vm", "host", "template", "network", "service", "lab", "launch", "engine", "sge")

_ACTOR: contextvars.ContextVar[tuple[str, int | None]] = contextvars.ContextVar(
    "onetui_actor", default=("", None))


@contextmanager
def acting(user: str, pid: int | None) -> Iterator[None]:
    """Events written inside this block (this thread or task only) name `user` and `pid`."""
    token = _ACTOR.set((user, pid))
    try:
        yield
    finally:
        _ACTOR.reset(token)


def record(cur: sqlite3.Cursor, kind: str, obj_id: int | None, message: str,
           level: str = "info") -> None:
    """Append an event inside the caller's transaction. Never pass secrets here."""
    user, pid = _ACTOR.get()
    cur.execute(
        "INSERT INTO events(at, kind, obj_id, level, message, user, pid) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (time.time(), kind, obj_id, level, message, user, pid),
    )


def _event(row: sqlite3.Row) -> Event:
    return Event(row["id"], row["at"], row["kind"], row["obj_id"], row["level"], row["message"],
                 row["user"], row["pid"])


class Events:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, kind: str, obj_id: int | None, message: str, level: str = "info") -> None:
        with self.db.transaction() as cur:
            record(cur, kind, obj_id, message, level)

    def since(self, after_id: int = 0, limit: int = 1000,
              kinds: tuple[str, ...] = (), user: str | None = None) -> list[Event]:
        """Events newer than `after_id` (of `kinds`, caused by `user`, when given), oldest
        first."""
        where, params = _where(kinds, user)
        rows = self.db.read(f"SELECT * FROM events WHERE id > ?{where} ORDER BY id LIMIT ?",
                            (after_id, *params, limit))
        return [_event(r) for r in rows]

    def tail(self, limit: int, *, kinds: tuple[str, ...] = (),
             at_or_after: float | None = None, user: str | None = None) -> list[Event]:
        """The newest `limit` events (of `kinds`, from a time on, caused by `user`, when
        given), oldest first: what `onetui events` prints before it follows."""
        where, params = _where(kinds, user)
        if at_or_after is not None:
            where += " AND at >= ?"
            params += (at_or_after,)
        rows = self.db.read(f"SELECT * FROM events WHERE 1{where} ORDER BY id DESC LIMIT ?",
                            (*params, limit))
        return [_event(r) for r in reversed(rows)]

    def last_id(self) -> int:
        """The newest event's id (0 for none): where a follower starts."""
        return int(self.db.read("SELECT COALESCE(MAX(id), 0) FROM events")[0][0])

    def recent(self, limit: int = 100, kind: str | None = None,
               obj_id: int | None = None, after: int = 0) -> list[Event]:
        """The newest events, newest first: all, of one kind, or of one object (with
        `after`, only those newer than that id: what a follower has not seen)."""
        if kind is None:
            rows = self.db.read("SELECT * FROM events ORDER BY id DESC LIMIT ?", (limit,))
        elif obj_id is None:
            rows = self.db.read("SELECT * FROM events WHERE kind = ? ORDER BY id DESC LIMIT ?",
                                (kind, limit))
        else:
            rows = self.db.read(
                "SELECT * FROM events WHERE kind = ? AND obj_id = ? AND id > ? "
                "ORDER BY id DESC LIMIT ?", (kind, obj_id, after, limit),
            )
        return [_event(r) for r in rows]


def _where(kinds: tuple[str, ...], user: str | None) -> tuple[str, tuple[object, ...]]:
    where, params = "", tuple[object, ...]()
    if kinds:
        where, params = f" AND kind IN ({','.join('?' * len(kinds))})", tuple(kinds)
    if user is not None:
        where += " AND user = ?"
        params += (user,)
    return where, params
