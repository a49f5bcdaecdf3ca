"""scripts/testbed/users.sh keeps its record where only root writes: a record directory or
file someone else owns is refused before anything is made or removed (it names what
`userdel --remove` deletes)."""

from __future__ import annotations

import grp
import os
import pwd
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.beds.users import ROOT

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="useradd/userdel need root")


@pytest.fixture
def place() -> Iterator[Path]:
    path = Path(f"/var/tmp/onetui-users-test-{secrets.token_hex(4)}")
    path.mkdir(mode=0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def users_sh(command: str, record: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(ROOT / "scripts/testbed/users.sh"), command],
                          capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "ONETUI_USERS_RECORD": str(record)})


@needs_root
def test_a_record_directory_of_someone_else_is_refused(place: Path,
                                                       testbed_users: dict[str, str]) -> None:
    nobody = pwd.getpwnam("nobody")
    os.chown(place, nobody.pw_uid, nobody.pw_gid)
    for command in ("up", "down"):
        result = users_sh(command, place / "users")
        assert result.returncode == 2
        assert result.stderr == (f"users.sh: {place} belongs to uid {nobody.pw_uid}, not "
                                 "root; refusing\n")
    assert not (place / "users").exists()


@needs_root
def test_a_forged_record_never_removes_a_user(place: Path,
                                              testbed_users: dict[str, str]) -> None:
    """A local user who could write the record would name any user for `userdel --remove`."""
    record = place / "users"
    record.mkdir(mode=0o700)
    (record / "made").write_text("user:bob\n")
    nobody = pwd.getpwnam("nobody")
    os.chown(record / "made", nobody.pw_uid, nobody.pw_gid)
    result = users_sh("down", record)
    assert result.returncode == 2
    assert result.stderr == f"users.sh: {record}/made is not root's own file; refusing\n"
    assert pwd.getpwnam("bob")


@needs_root
def test_up_leaves_users_it_did_not_make_as_they_are(place: Path,
                                                     testbed_users: dict[str, str]) -> None:
    """With a fresh record, every test user exists already: none is changed or recorded,
    so `down` with that record removes nobody."""
    before = {u: sorted(g.gr_name for g in grp.getgrall() if u in g.gr_mem)
              for u in testbed_users}
    up = users_sh("up", place / "users")
    assert up.returncode == 0, up.stderr
    assert "alice exists already (not made here): left as it is" in up.stderr
    made = (place / "users/made").read_text().split()
    assert not [m for m in made if m.startswith("user:")]
    down = users_sh("down", place / "users")
    assert down.returncode == 0, down.stderr
    assert all(pwd.getpwnam(u) for u in testbed_users)
    assert before == {u: sorted(g.gr_name for g in grp.getgrall()
                                if u in g.gr_mem) for u in testbed_users}
