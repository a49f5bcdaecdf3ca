"""Opening a store: created from nothing, migrated, protected, and refused when foreign."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import pytest

from onetui.store import Store, StoreError
from onetui.store.schema import MIGRATIONS


def test_new_store_is_created_migrated_and_private(state_dir: Path) -> None:
    with Store.open(state_dir) as store:
        assert store.db.schema_version == len(MIGRATIONS)
        tables = {r[0] for r in store.db.read("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"hosts", "templates", "vms", "networks", "leases", "labs", "seats", "services",
                "events", "changes", "leader"} <= tables
        mode = store.db.read("PRAGMA journal_mode")[0][0]
        assert mode == "wal"
    db = state_dir / "onetui.db"
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    assert stat.S_IMODE(state_dir.stat().st_mode) == 0o700


def test_reopening_keeps_data_and_does_not_migrate_again(state_dir: Path) -> None:
    with Store.open(state_dir) as store:
        store.hosts.add("ursa03", "libvirt", {"uri": "test:///default"})
    with Store.open(state_dir) as store:
        assert [h.name for h in store.hosts.list()] == ["ursa03"]
        assert store.db.schema_version == len(MIGRATIONS)


def test_store_from_a_newer_onetui_is_refused_with_versions(state_dir: Path) -> None:
    Store.open(state_dir).close()
    conn = sqlite3.connect(state_dir / "onetui.db")
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 3}")
    conn.close()
    with pytest.raises(StoreError, match=r"newer onetui \(schema \d+; this version knows up to"):
        Store.open(state_dir)


def test_a_file_that_is_not_a_store_gives_a_clear_error(state_dir: Path) -> None:
    state_dir.mkdir()
    (state_dir / "onetui.db").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match=r"onetui\.db: not a usable onetui store"):
        Store.open(state_dir)


def test_state_dir_comes_from_env_then_xdg(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("ONETUI_STATE", str(tmp_path / "from-env"))
    with Store.open() as store:
        assert store.path == tmp_path / "from-env" / "onetui.db"
    monkeypatch.delenv("ONETUI_STATE")
    with Store.open() as store:
        assert store.path == tmp_path / "xdg-data" / "onetui" / "onetui.db"


def test_ids_are_never_used_twice(store: Store) -> None:
    """A deleted service's id must not go to the next one: it would adopt the old one's VMs
    (their `service` field), as a deleted host's id would take over old VMs' host."""
    tpl = store.templates.add("web", "CPU = 1\nMEMORY = 64\n")
    first = store.services.add("s3", tpl.id, None, 1, 2, {})
    store.services.delete("s3")
    second = store.services.add("s4", tpl.id, None, 1, 2, {})
    assert second.id == first.id + 1
    h1 = store.hosts.add("a", "libvirt", {"uri": "test:///default"})
    store.hosts.delete("a")
    assert store.hosts.add("b", "libvirt", {"uri": "test:///default"}).id == h1.id + 1
    t2 = store.templates.add("web2", "CPU = 1\nMEMORY = 64\n")
    store.templates.delete("web2")
    assert store.templates.add("web3", "CPU = 1\nMEMORY = 64\n").id == t2.id + 1
