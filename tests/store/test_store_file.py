"""The store's file as an admin meets it: lost, damaged, on a full disk; and the files onetui
writes for people (credentials) never follow a link or take over someone else's file."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from onetui.errors import UserError
from onetui.store import Store, StoreError
from onetui.view.handout import write_private
from tests.beds.cli import onetui


def _age(path: Path, seconds: float = 60) -> None:
    st = path.stat()
    os.utime(path, (st.st_atime - seconds, st.st_mtime - seconds))


def test_a_lost_store_is_not_silently_replaced(state_dir: Path) -> None:
    with Store.open(state_dir) as store:
        old_id = store.store_id
        store.labs.box.seal("x", "lab 1 seat 1")  # the store's secrets.key exists now
    db = state_dir / "onetui.db"
    db.write_bytes(b"")  # emptied (a bad restore, a truncating editor)
    _age(db)
    said = onetui("vm", "list", state=state_dir, check=False)
    assert said.returncode == 2
    assert said.stderr.startswith(f"onetui: {db} is empty: a new store would have a new id")
    assert "--init" in said.stderr and said.stderr.count("\n") == 1
    db.unlink()
    said = onetui("host", "list", state=state_dir, check=False)
    assert said.returncode == 2
    assert said.stderr.startswith(f"onetui: {db} is missing, but secrets.key beside it")
    assert not db.exists()  # nothing was made
    onetui("--init", "vm", "list", state=state_dir)  # the admin's word
    with Store.open(state_dir) as store:
        assert store.store_id != old_id


def test_a_damaged_store_says_how_to_recover(state_dir: Path) -> None:
    with Store.open(state_dir) as store:
        store.templates.add("web", "CPU = 1\nMEMORY = 64\n")
        for i in range(300):
            store.hosts.add(f"h{i}", "libvirt", {"uri": "test:///default"})
    db = state_dir / "onetui.db"
    with db.open("r+b") as fh:  # a bad sector in the middle of the file
        fh.seek(4096 * 3)
        fh.write(os.urandom(4096 * 4))
    said = onetui("host", "list", state=state_dir, check=False)
    assert said.returncode == 2
    assert str(db) in said.stderr and ".recover" in said.stderr
    assert "Traceback" not in said.stderr


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MB tmpfs of its own: a full disk, for real."""
    mnt = tmp_path / f"disk-{uuid.uuid4().hex[:6]}"
    mnt.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)],
                          capture_output=True, text=True)
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_a_full_disk_is_said_and_nothing_is_half_written(small_disk: Path) -> None:
    with Store.open(small_disk / "state") as store:
        store.templates.add("web", "CPU = 1\nMEMORY = 64\n")
        filler = small_disk / "filler"
        with filler.open("wb") as fh:  # take every free byte
            try:
                while True:
                    fh.write(b"\0" * 65536)
                    fh.flush()
            except OSError:
                pass
        with pytest.raises(StoreError, match=r"disk full writing the store \(\d+ MB free\)"):
            for i in range(2000):
                store.templates.add(f"t{i}", "CPU = 1\nMEMORY = 64\n" + "# pad\n" * 200)
        before = len(store.templates.list())
        filler.unlink()  # space comes back: the same store goes on
        store.templates.add("after", "CPU = 1\nMEMORY = 64\n")
        assert len(store.templates.list()) == before + 1
    with sqlite3.connect(small_disk / "state" / "onetui.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_credentials_are_never_written_through_a_link(tmp_path: Path) -> None:
    secret = tmp_path / "elsewhere.txt"
    secret.write_text("someone's file\n")
    link = tmp_path / "creds.csv"
    link.symlink_to(secret)
    with pytest.raises(UserError, match="is a symbolic link; not written"):
        write_private(link, "seat,password\n1,k7Pm-x3Rt-9bQw\n")
    assert secret.read_text() == "someone's file\n"
    theirs = tmp_path / "theirs.csv"
    theirs.write_text("theirs\n")
    os.chown(theirs, 65534, 65534)  # nobody's
    with pytest.raises(UserError, match="not a file of yours"):
        write_private(theirs, "secret\n")
    assert theirs.read_text() == "theirs\n"
    mine = write_private(tmp_path / "mine.csv", "first\n")
    write_private(mine, "second\n")  # one's own file is replaced, still 0600
    assert mine.read_text() == "second\n" and (mine.stat().st_mode & 0o777) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "creds.csv", "elsewhere.txt", "mine.csv", "theirs.csv"]  # no temporary left
