"""One engine acts on a store at a time; a dead one's lease runs out."""

from __future__ import annotations

import time

from onetui.store import Store


def test_second_engine_waits_until_the_lease_expires(store: Store) -> None:
    assert store.leader.acquire("a", ttl=0.3)
    assert not store.leader.acquire("b", ttl=0.3)
    assert store.leader.acquire("a", ttl=0.3)  # renewal
    assert store.leader.current().owner == "a"
    time.sleep(0.35)
    assert store.leader.acquire("b", ttl=5)
    assert store.leader.current().owner == "b"
    assert not store.leader.acquire("a", ttl=5)


def test_release_lets_the_next_one_in_at_once(store: Store) -> None:
    assert store.leader.acquire("a", ttl=60)
    store.leader.release("a")
    assert store.leader.current() is None
    assert store.leader.acquire("b", ttl=60)
    messages = [e.message for e in store.events.recent(kind="engine")]
    assert any("engine a stopped" in m for m in messages)
