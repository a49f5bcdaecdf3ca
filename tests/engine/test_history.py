"""The engine's passes keep a history of what they measured (libvirt's test driver, the real
store): a host's CPU and memory follow the guests started and stopped on it, running VMs
get points, closed minutes become means, and a simulated week stays within its bound.

The engine is given a clock (synthetic time) for its history stamps so that minutes and
days pass between passes without waiting for them."""

from __future__ import annotations

from pathlib import Path

import pytest

from onetui.engine.loop import Engine
from onetui.ops import instantiate
from onetui.ops import vm_actions as actions
from onetui.runtime.compose import build_engine
from onetui.store import Store
from onetui.store.history import MAX_ROWS, TIERS
from tests.engine.test_engine import LOCAL, node

T0 = 1_699_999_800.0  # on a 10-minute boundary


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def engine(store: Store, clock: Clock):
    eng = Engine(store, interval=0.05, clock=clock)
    assert eng.lead()
    yield eng
    eng.close()


def _pass(engine: Engine, clock: Clock, step: float = 30.0) -> None:
    engine.run_pass()
    clock.now += step


def test_a_hosts_load_and_its_vms_show_across_passes(store: Store, engine: Engine,
                                                      clock: Clock, tmp_path: Path) -> None:
    host = store.hosts.add("ursa03", "libvirt", {"uri": node(tmp_path, "ursa03", 8, 16)})
    store.templates.add("web", LOCAL)  # CPU = 1, MEMORY = 512
    _pass(engine, clock)  # an idle host
    a, b = instantiate.create(store, "web", count=2, name="web-%i")
    _pass(engine, clock)
    _pass(engine, clock)
    actions.shutdown(store, a)
    _pass(engine, clock)
    _pass(engine, clock)

    points = store.history.read("host", str(host.id), T0 - 60)
    assert [p.at for p in points] == [T0 + 30 * i for i in range(5)]
    # (the shutdown is carried out after the look of its pass: the next look sees it)
    assert [p.values["cpu"] for p in points] == [0.0, 25.0, 25.0, 25.0, 12.5]
    assert [p.values["rvm"] for p in points] == [0.0, 2.0, 2.0, 2.0, 1.0]
    assert points[1].values["mem"] == pytest.approx(100 * 1024 / 16384, abs=0.1)
    # the running VM: memory from its first look, CPU from its second (a rate needs two)
    vm_points = store.history.read("vm", str(b), T0)
    assert vm_points[0].values == {"mem": 512.0}
    assert set(vm_points[-1].values) == {"cpu", "mem"}
    assert len(vm_points) == 4
    # the one shut down has no points after it stopped running
    assert max(p.at for p in store.history.read("vm", str(a), T0)) == T0 + 90
    assert store.changes.since(0).ids.get("history") == {0}


def test_passes_roll_minutes_up_and_a_week_stays_bounded(store: Store, engine: Engine,
                                                         clock: Clock, tmp_path: Path) -> None:
    host = store.hosts.add("ursa03", "libvirt", {"uri": node(tmp_path, "ursa03", 8, 16)})
    store.templates.add("web", LOCAL)
    instantiate.create(store, "web", count=3, name="web-%i")
    for _ in range(40):  # 20 minutes, a pass every 30 s
        _pass(engine, clock)
    key = str(host.id)
    raw_first = store.db.read("SELECT MIN(at) FROM history WHERE tier = 0")[0][0]
    assert raw_first >= clock.now - 30 - TIERS[0][1]  # older raw points went
    hour = store.history.read("host", key, clock.now - 3600)
    assert hour[0].at == T0  # the first minute, as a 1-minute mean
    assert hour[1].at == T0 + 60 and hour[-1].at == clock.now - 30
    assert all(p.values["rvm"] == 3.0 for p in hour[1:])

    clock.now += 3 * 86_400
    for _ in range(5 * 24):  # five more days, a pass an hour
        _pass(engine, clock, 3600)
    for _ in range(30):  # then at pass resolution again
        _pass(engine, clock, 2)
    per_kind = {r["kind"]: r["n"] for r in store.db.read(
        "SELECT kind, COUNT(*) AS n FROM history GROUP BY kind")}
    assert set(per_kind) == {"host", "vm"}
    assert all(n <= MAX_ROWS for n in per_kind.values())
    oldest = store.db.read("SELECT MIN(at) FROM history")[0][0]
    assert oldest >= clock.now - TIERS[-1][1] - TIERS[-1][0]
    week = store.history.read("host", key, clock.now - 7 * 86_400)
    assert week[0].at >= T0 and week[-1].at == clock.now - 2
    assert [p.at for p in week] == sorted(p.at for p in week)


def test_a_services_size_is_recorded_with_the_next_look(store: Store, clock: Clock,
                                                        tmp_path: Path) -> None:
    store.hosts.add("n1", "libvirt", {"uri": node(tmp_path, "n1", 8, 16)})
    tpl = store.templates.add("web", LOCAL)
    svc = store.services.add("web", tpl.id, None, 2, 4, {})
    engine = build_engine(store, {}, clock=clock)
    try:
        assert engine.lead()
        for _ in range(3):
            _pass(engine, clock)
        store.services.scale("web", 3)
        for _ in range(3):
            _pass(engine, clock)
    finally:
        engine.close()
    points = store.history.read("service", str(svc.id), T0 - 60)
    # measured at the end of each pass, written with the next pass's look
    assert [p.at for p in points] == [T0 + 30 * i for i in range(5)]
    assert [p.values["desired"] for p in points] == [2.0, 2.0, 2.0, 3.0, 3.0]
    assert [p.values["running"] for p in points] == [0.0, 2.0, 2.0, 2.0, 3.0]
    assert "rps" not in points[0].values  # no status page: no requests/s
