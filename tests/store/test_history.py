"""History kept small: points come back as recorded, closed buckets become means in the
coarser tiers, and nothing is kept past its tier (the table's size stays bounded)."""

from __future__ import annotations

import pytest

from onetui.errors import UserError
from onetui.store import Store
from onetui.store.history import MAX_ROWS, TIERS, Point

T0 = 1_699_999_800.0  # on a 10-minute boundary, so buckets line up with the test's minutes


def _record(store: Store, at: float, *samples: tuple[str, str, dict[str, float]]) -> None:
    with store.db.transaction() as cur:
        store.history.record(cur, at, samples)


def test_points_come_back_oldest_first_with_the_fields_measured(store: Store) -> None:
    _record(store, T0, ("host", "3", {"cpu": 12.5, "mem": 40.0, "rvm": 2}),
            ("vm", "7", {"cpu": 80, "mem": 512}))
    _record(store, T0 + 2, ("host", "3", {"cpu": 20.0, "mem": 41.0, "rvm": 3}))
    _record(store, T0 + 4, ("host", "3", {"cpu": 30.0, "rvm": 3}),
            ("grid", "grid", {"running": 4, "pending": 9, "oldest_pending_s": 120}))

    assert store.history.read("host", "3", T0 - 60) == [
        Point(T0, {"cpu": 12.5, "mem": 40.0, "rvm": 2.0}),
        Point(T0 + 2, {"cpu": 20.0, "mem": 41.0, "rvm": 3.0}),
        Point(T0 + 4, {"cpu": 30.0, "rvm": 3.0}),  # memory not measured then: left out
    ]
    assert store.history.read("host", "3", T0 + 1, T0 + 3) == [
        Point(T0 + 2, {"cpu": 20.0, "mem": 41.0, "rvm": 3.0})]
    assert store.history.read("vm", "7", T0) == [Point(T0, {"cpu": 80.0, "mem": 512.0})]
    assert store.history.read("vm", "8", T0) == []
    assert store.history.read("grid", "grid", T0)[0].values["pending"] == 9
    assert store.history.latest_at() == T0 + 4
    many = store.history.read_many("host", ["3", "4"], T0)
    assert [p.values["cpu"] for p in many["3"]] == [12.5, 20.0, 30.0] and many["4"] == []


def test_each_record_is_one_change_for_live_panes(store: Store) -> None:
    seq = store.changes.current()
    _record(store, T0, *[("vm", str(i), {"cpu": 1, "mem": 64}) for i in range(1, 50)])
    changes = store.changes.since(seq)
    assert changes.ids == {"history": {0}}
    assert changes.seq == seq + 1


def test_samples_closer_than_the_raw_step_share_one_point(store: Store) -> None:
    _record(store, T0, ("host", "1", {"cpu": 10}), ("host", "2", {"cpu": 20}))
    _record(store, T0 + 0.5, ("host", "2", {"cpu": 25}))  # a look between passes
    assert store.history.read("host", "1", T0) == [Point(T0, {"cpu": 10.0})]
    assert store.history.read("host", "2", T0) == [Point(T0, {"cpu": 25.0})]
    assert store.history.size()[0] == 1


def test_closed_minutes_become_means_and_old_raw_points_go(store: Store) -> None:
    # 20 minutes of a host at 2 s resolution, CPU 10 in even minutes and 30 in odd ones
    for i in range(0, 20 * 60, 2):
        minute = i // 60
        _record(store, T0 + i, ("host", "1", {"cpu": 10 if minute % 2 == 0 else 30,
                                              "mem": 50, "rvm": minute}))
    now = T0 + 20 * 60 - 2
    raw_keep = TIERS[0][1]
    recent = store.history.read("host", "1", now - 59)
    assert len(recent) == 30  # the last minute at pass resolution
    # an hour back is older than the raw tier keeps: minute means, then the raw tail
    points = store.history.read("host", "1", now - 3600)
    minutes = [p for p in points if p.at % 60 == 0 and p.at < now - 60]
    assert [p.values["cpu"] for p in minutes[:4]] == [10.0, 30.0, 10.0, 30.0]
    assert [p.values["rvm"] for p in minutes[:4]] == [0.0, 1.0, 2.0, 3.0]
    assert points[0].at == T0 and points[-1].at == now
    assert [p.at for p in points] == sorted({p.at for p in points})  # no point twice
    # the raw tier kept only its last 10 minutes
    raw = store.db.read("SELECT MIN(at) FROM history WHERE tier = 0")[0][0]
    assert raw >= now - raw_keep
    # 10-minute means of the first closed ten minutes (five at 10, five at 30)
    tens = store.db.read("SELECT at FROM history WHERE tier = 2 ORDER BY at")
    assert [r["at"] for r in tens] == [T0]
    week = store.history.read("host", "1", now - 2 * 86_400)
    assert week[0] == Point(T0, {"cpu": 20.0, "mem": 50.0, "rvm": 4.5})


def test_a_week_of_points_stays_within_the_stated_size(store: Store) -> None:
    """A simulated week and a half (synthetic timestamps): one host sampled every 5
    minutes, then every 2 s for the last 15 minutes; no tier holds more than it keeps."""
    at = T0
    end = T0 + 10 * 86_400
    while at < end - 900:
        _record(store, at, ("host", "1", {"cpu": 50}), ("vm", "9", {"cpu": 5}))
        at += 300
    while at < end:
        _record(store, at, ("host", "1", {"cpu": 50}), ("vm", "9", {"cpu": 5}))
        at += 2
    rows = {(r["kind"], r["tier"]): (r["n"], r["first"]) for r in store.db.read(
        "SELECT kind, tier, COUNT(*) AS n, MIN(at) AS first FROM history GROUP BY kind, tier")}
    newest = store.history.latest_at()
    assert newest is not None
    for (_kind, tier), (count, first) in rows.items():
        step, keep = TIERS[tier]
        assert first >= newest - keep
        assert count <= keep // step + 1
    assert store.history.size()[0] <= 2 * MAX_ROWS
    # a week back still answers (10-minute means), more than that is gone
    week = store.history.read("host", "1", newest - 7 * 86_400)
    assert week[0].at >= newest - 7 * 86_400 - 600 and week[-1].at == newest
    assert store.history.read("host", "1", T0, T0 + 86_400) == []


def test_bad_samples_are_refused_and_nothing_is_written(store: Store) -> None:
    with pytest.raises(UserError, match="unknown kind 'disk'"):
        _record(store, T0, ("host", "1", {"cpu": 1}), ("disk", "1", {"used": 1}))
    with pytest.raises(UserError, match="host has no field 'load'"):
        _record(store, T0, ("host", "1", {"load": 1}))
    with pytest.raises(UserError, match="the grid's key is 'grid'"):
        _record(store, T0, ("grid", "1", {"running": 1}))
    assert store.history.size() == (0, 0)
    assert store.history.latest_at() is None
