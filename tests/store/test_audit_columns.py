"""The access migration: events name the user and pid that caused them, labs their owner;
a store from before it keeps every row, with nobody named."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from onetui.store import Store
from onetui.store.db import _statements
from onetui.store.schema import MIGRATIONS


def test_an_older_store_migrates_keeping_its_events_and_labs(state_dir: Path) -> None:
    state_dir.mkdir(mode=0o700)
    conn = sqlite3.connect(state_dir / "onetui.db")
    for script in MIGRATIONS[:-2]:  # before access and the owner's uid
        for statement in _statements(script):
            conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) - 2}")
    conn.execute("INSERT INTO events(at, kind, obj_id, message) VALUES (1, 'lab', 1, 'old')")
    conn.execute("INSERT INTO labs(id, name, seats, user_pattern, created_at) "
                 "VALUES (1, 'os0', 0, 'student%02i', 1)")
    conn.commit()
    conn.close()
    with Store.open(state_dir) as store:
        (event,) = store.events.since(0)
        assert (event.message, event.user, event.pid) == ("old", "", None)
        old = store.labs.get("os0")
        assert (old.owner, old.owner_uid) == ("", None)  # admins only
        net = store.networks.add("labnet", "127.0.4.10", "127.0.4.15")
        lab = store.labs.create("os1", None, net, [], "student%02i", None, {}, owner="alice",
                                owner_uid=5003)
        assert (store.labs.get(lab.id).owner, store.labs.get(lab.id).owner_uid) == ("alice",
                                                                                    5003)
        assert store.events.tail(1)[0].message == ("lab os1 created: 0 seat(s) on network "
                                                   "labnet, owned by alice")
