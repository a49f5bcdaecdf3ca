"""Shared fixtures: every test gets its own state and config directories."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from onetui.store import Store

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never touch the real ~/.local/share/onetui or ~/.config/onetui from a test."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.delenv("ONETUI_STATE", raising=False)
    monkeypatch.delenv("ONETUI_CONFIG", raising=False)


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def store(state_dir: Path):
    with Store.open(state_dir) as s:
        yield s


def env_with_state(state_dir: Path) -> dict[str, str]:
    return {**os.environ, "ONETUI_STATE": str(state_dir)}
