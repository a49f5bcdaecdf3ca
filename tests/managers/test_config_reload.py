"""SIGHUP's reload in `onetui serve`, on libvirt's test driver: the [roles] are in force at
once (standby engine too), the managers are swapped in by the engine's thread before its
next pass, and the old lab manager hands its seats at work over: never two jobs for one
seat, and no pass waits for the old one to close."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from onetui.cli.serve_cmd import ConfigReload
from onetui.engine.loop import Engine
from onetui.managers.labs import LabManager
from onetui.ops import labs
from onetui.runtime.compose import build_engine
from onetui.store import Store
from tests.ops.test_labs import lab_env, spec  # noqa: F401  (the fixture)


def _until(check, what: str, timeout: float = 30) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> Path:
    """The config file the daemon reads ($ONETUI_CONFIG), holding `text`."""
    config = tmp_path / "config.toml"
    config.write_text(text)
    monkeypatch.setenv("ONETUI_CONFIG", str(config))
    return config


def _seat_threads(lab: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for t in threading.enumerate():
        if t.name.startswith(f"lab-{lab}-") and t.is_alive():
            counts[t.name] = counts.get(t.name, 0) + 1
    return counts


def _manager(engine: Engine) -> LabManager:
    return next(h for h in engine.hooks if isinstance(h, LabManager))


def test_a_reload_swaps_managers_before_the_next_pass_and_hands_seats_over(
        store: Store, lab_env: Engine, tmp_path: Path,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> None:
    lab = labs.create(store, spec(seats=2))
    lab_env.run_pass()
    lab_env.run_pass()
    old = _manager(lab_env)
    assert set(old.running()) == {(lab.id, 1), (lab.id, 2)}  # waiting for SSH
    config = config_file(tmp_path, monkeypatch, "")
    said: list[str] = []
    reload = ConfigReload(store, lab_env, said.append)
    reload.start()
    try:
        assert "roles" not in reload.cfg
        config.write_text('[roles]\noperator = ["wheel"]\n')
        reload.wanted.set()
        _until(lambda: "roles" in reload.cfg, "the reload thread never read the config")
        assert reload.cfg["roles"] == {"operator": ["wheel"]}
        assert said == [f"config reloaded from {config}: managers ServiceManager, LabManager"]
        assert _manager(lab_env) is old  # managers change only between passes
        for _ in range(3):
            lab_env.run_pass()
            assert max(_seat_threads("os1").values(), default=0) <= 1  # one job per seat
        new = _manager(lab_env)
        assert new is not old
        _until(lambda: not old.running(), "the old manager's jobs never stopped")
        lab_env.run_pass()
        assert set(new.running()) == {(lab.id, 1), (lab.id, 2)}
        assert [s.state for s in store.labs.seats(lab.id)] == ["waiting for ssh"] * 2
    finally:
        reload.close()


def test_a_refused_config_keeps_the_one_in_force(store: Store, lab_env: Engine,  # noqa: F811
                                                 tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    config = config_file(tmp_path, monkeypatch, '[roles]\nadmin = ["wheel"]\n')
    said: list[str] = []
    reload = ConfigReload(store, lab_env, said.append)
    reload.start()
    try:
        config.write_text('[roles]\nboss = ["wheel"]\n')
        reload.wanted.set()
        _until(lambda: said, "nothing said")
        assert said[0].startswith("config not reloaded: config [roles] boss: no such role")
        assert reload.cfg["roles"] == {"admin": ["wheel"]}
    finally:
        reload.close()


def test_a_standby_engine_takes_new_roles_at_once(store: Store, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Another engine leads: this one runs no pass, yet requests see the new [roles]; its
    managers are swapped in when it leads."""
    assert store.leader.acquire("other", 600)
    config = config_file(tmp_path, monkeypatch, "")
    engine = build_engine(store, {}, interval=0.05)
    reload = ConfigReload(store, engine, lambda _msg: None)
    reload.start()
    try:
        assert not engine.lead()
        first = _manager(engine)
        config.write_text('[roles]\nviewer = ["users"]\n')
        reload.wanted.set()
        _until(lambda: "roles" in reload.cfg, "a standby engine never reloaded")
        assert _manager(engine) is first
        store.leader.release("other")
        assert engine.lead()
        engine.run_pass()
        assert _manager(engine) is not first
    finally:
        reload.close()
        engine.close()
