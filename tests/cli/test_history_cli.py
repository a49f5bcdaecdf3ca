"""`--history WINDOW` on host, VM and service shows and `sge history`: what the engine kept,
printed by the real command (a subprocess) as a table or as JSON for scripts."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from onetui.engine.loop import Engine
from onetui.ops import instantiate
from onetui.store import Store
from onetui.view.rows import stamp
from tests.beds.cli import onetui
from tests.engine.test_engine import LOCAL, node


@pytest.fixture
def watched(store: Store, tmp_path: Path) -> tuple[Store, float]:
    """A host with two running VMs, looked at by the engine every 30 s for the last five
    minutes (the engine's history clock set back, so the passes need not take that long)."""
    store.hosts.add("ursa03", "libvirt", {"uri": node(tmp_path, "ursa03", 8, 16)})
    store.templates.add("web", LOCAL)
    instantiate.create(store, "web", count=2, name="web-%i")
    start = time.time() - 300
    clock = [start]
    engine = Engine(store, clock=lambda: clock[0])
    try:
        assert engine.lead()
        for _ in range(10):
            engine.run_pass()
            clock[0] += 30
    finally:
        engine.close()
    return store, start


def test_host_history_as_json_and_as_a_table(watched: tuple[Store, float],
                                             state_dir: Path) -> None:
    _store, start = watched
    points = json.loads(onetui("host", "show", "ursa03", "--history", "10m", "--json",
                               state=state_dir).stdout)
    assert [p["at"] for p in points] == [start + 30 * i for i in range(10)]
    assert points[-1] == {"at": start + 270, "cpu": 25.0, "mem": 6.2, "rvm": 2.0}
    lines = onetui("host", "show", "ursa03", "--history", "10m", state=state_dir
                   ).stdout.splitlines()
    assert lines[0].split() == ["TIME", "CPU%", "MEM%", "RVM"]
    assert lines[-1].split() == [*stamp(start + 270).split(), "25.0", "6.2", "2"]
    assert len(lines) == 11
    # a window that starts later has fewer points
    recent = json.loads(onetui("host", "show", "ursa03", "--history", "2m", "--json",
                               state=state_dir).stdout)
    assert 3 <= len(recent) <= 5


def test_vm_history_shows_its_memory_and_cpu(watched: tuple[Store, float],
                                             state_dir: Path) -> None:
    store, _start = watched
    vm = store.vms.list()[0]
    points = json.loads(onetui("vm", "show", str(vm.id), "--history", "1h", "--json",
                               state=state_dir).stdout)
    assert points and all(p["mem"] == 512.0 for p in points)
    assert "cpu" in points[-1]
    lines = onetui("vm", "show", str(vm.id), "--history", "10m", state=state_dir
                   ).stdout.splitlines()
    assert lines[0].split() == ["TIME", "CPU", "MEM"]
    assert lines[-1].split()[-1] == "512M"


def test_service_and_grid_history(store: Store, state_dir: Path) -> None:
    tpl = store.templates.add("web", LOCAL)
    svc = store.services.add("web", tpl.id, None, 2, 4, {})
    now = time.time()
    for i, (desired, running, pending) in enumerate([(2, 1, 7), (3, 2, 5), (3, 3, 0)]):
        with store.db.transaction() as cur:
            store.history.record(cur, now - 120 + 30 * i, [
                ("service", str(svc.id), {"desired": desired, "running": running}),
                ("grid", "grid", {"running": 4, "pending": pending,
                                  "oldest_pending_s": 65.0 * pending})])
    points = json.loads(onetui("service", "show", "web", "--history", "1h", "--json",
                               state=state_dir).stdout)
    assert [(p["desired"], p["running"]) for p in points][-1] == (3.0, 3.0)
    lines = onetui("sge", "history", "5m", state=state_dir).stdout.splitlines()
    assert lines[0].split() == ["TIME", "RUNNING", "PENDING", "OLDEST", "PENDING"]
    assert [line.split()[3:] for line in lines[1:]] == [
        ["7", "00", "00:07:35"], ["5", "00", "00:05:25"], ["0", "00", "00:00:00"]]
    grid = json.loads(onetui("sge", "history", "5m", "--json", state=state_dir).stdout)
    assert grid[0] == {"at": now - 120, "running": 4.0, "pending": 7.0,
                       "oldest_pending_s": 455.0}


def test_no_points_yet_says_why_on_stderr(store: Store, state_dir: Path) -> None:
    store.hosts.add("ursa03", "libvirt", {"uri": "test:///default"})
    proc = onetui("host", "show", "ursa03", "--history", "1d", state=state_dir)
    assert proc.stdout.split() == ["TIME", "CPU%", "MEM%", "RVM"]
    assert "no points in this window" in proc.stderr
    assert onetui("host", "show", "ursa03", "--history", "1d", "--json",
                  state=state_dir).stdout.strip() == "[]"


@pytest.mark.parametrize(("args", "said"), [
    (("host", "show", "ursa03", "--history", "6 hours"), "expected a window such as 30m"),
    (("host", "show", "ursa03", "--history", "0m"), "from 1s to 1w"),
    (("vm", "show", "1", "--history", "2w"), "history is kept for a week"),
    (("sge", "history", "yesterday"), "expected a window such as 30m"),
    (("host", "show", "ursa03", "--history", "1h", "-x"), "not with -x/--xml or --one"),
])
def test_a_bad_window_is_one_clear_error(store: Store, state_dir: Path,
                                         args: tuple[str, ...], said: str) -> None:
    store.hosts.add("ursa03", "libvirt", {"uri": "test:///default"})
    proc = onetui(*args, state=state_dir, check=False)
    assert proc.returncode == 2 and proc.stdout == ""
    errors = [line for line in proc.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and said in errors[0]
