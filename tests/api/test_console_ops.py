"""The reads the console makes through the API: a first page, the rows that changed by
id, the change cursor, an object's events, several objects' history at once, and a lab's
seat passwords only for the seats asked."""

from __future__ import annotations

import time

import pytest

from onetui.client import ApiError
from tests.api.conftest import Daemon


def test_a_first_page_then_only_the_hosts_that_changed(daemon: Daemon) -> None:
    store, client = daemon.store, daemon.client()
    for i in range(5):
        store.hosts.add(f"node{i}", "libvirt", {"uri": "test:///default"})
    client.call("vm.create", template="xen.local01", count=4, hold=True)
    assert [v["id"] for v in client.call("vm.list", include_done=False, limit=3)] == [1, 2, 3]
    assert [h["name"] for h in client.call("host.list", limit=2)] == ["node0", "node1"]
    seq = client.call("changes.current")
    store.hosts.set_enabled(4, False)
    changed = client.changes(seq)
    assert changed["ids"]["host"] == [4]
    (host,) = client.call("host.by_ids", ids=changed["ids"]["host"] + [99])
    assert (host["id"], host["stat"]) == (4, "dsbl")
    with pytest.raises(ApiError, match="'limit' must be at least 1"):
        client.call("vm.list", limit=0)


def test_an_objects_events_and_many_objects_history(daemon: Daemon) -> None:
    store, client = daemon.store, daemon.client()
    (vid,) = client.call("vm.create", template="xen.local01", hold=True)
    client.call("vm.action", ref=vid, action="release")
    store.events.add("vm", vid + 1, "another VM's event")
    mine = client.call("events.list", kinds=["vm"], obj=vid, limit=10)["events"]
    assert mine and all(e["obj_id"] == vid for e in mine)
    assert mine[-2]["message"].endswith("(released)")
    assert mine[-1]["message"].endswith(f"(admin): vm release {vid}")  # the audit line
    # a detail that follows asks for the object's events after the last it marked
    store.events.add("vm", vid, "later, on this VM")
    store.events.add("vm", vid + 1, "later, on another")
    later = client.call("events.list", kinds=["vm"], obj=vid, limit=10,
                        after=mine[-1]["id"])["events"]
    assert [e["message"] for e in later] == ["later, on this VM"]
    assert client.call("events.list", kinds=["vm"], obj=vid, limit=10,
                       after=later[-1]["id"])["events"] == []
    now = time.time()
    with store.db.transaction() as cur:
        store.history.record(cur, now - 30, [("host", "1", {"cpu": 10.0, "mem": 20.0}),
                                             ("host", "2", {"cpu": 50.0, "mem": 60.0})])
    points = client.call("history.read_many", kind="host", keys=["1", "2", "3"],
                         since=now - 60)
    assert points["1"][0]["cpu"] == 10.0 and points["2"][0]["mem"] == 60.0
    assert points["3"] == []
    assert client.call("history.read_many", kind="host", keys=["1"], since=now) == {"1": []}


def test_reveal_opens_only_the_seats_asked(daemon: Daemon) -> None:
    store, client = daemon.store, daemon.client()
    net = store.networks.add("labnet", "127.0.4.10", "127.0.4.15")
    seats = [{"body": "CPU=1\nMEMORY=64\n", "name": f"os1-{n}", "cpu": 1, "memory": 64,
              "username": f"student{n:02d}", "password": f"secret-{n}", "port": 22}
             for n in (1, 2, 3)]
    store.labs.create("os1", None, net, seats, "student%02i", None, {})
    assert client.call("lab.reveal", ref="os1", seats=[2]) == {"2": "secret-2"}
    assert client.call("lab.reveal", ref="os1") == {"1": "secret-1", "2": "secret-2",
                                                    "3": "secret-3"}
    shown = client.call("lab.show", ref="os1")
    assert "secret" not in repr(shown)
    with pytest.raises(ApiError, match="'seats' must be a list of seat numbers"):
        client.call("lab.reveal", ref="os1", seats=["2"])
