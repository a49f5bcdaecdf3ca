"""Commands run as other unix users (`runuser -u USER -- …`), and the test users of
scripts/testbed/users.sh: alice (labstaff), bob (viewer), olga (operator), adam (admin).

This venv's interpreter may live where other users cannot run it (pyenv under /root, 0700):
then the system's python of the same version runs onetui, with this checkout and this
venv's packages on its path: the same code and libraries, another user's process."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
USERS = {"alice": "onetui-labs", "bob": "onetui-view", "olga": "onetui-ops",
         "adam": "onetui-admin"}


def _world_runnable(path: Path) -> bool:
    """Whether a user other than the owner can run `path` (every directory on the way
    searchable, the file executable, by others)."""
    real = path.resolve()
    if not real.stat().st_mode & 0o001:
        return False
    return all(p.stat().st_mode & 0o001 for p in real.parents)


def interpreter() -> tuple[list[str], dict[str, str]]:
    """argv prefix and environment that run this checkout's onetui as any user."""
    env = {"PYTHONPATH": str(ROOT)}
    if _world_runnable(Path(sys.executable)):
        return [sys.executable, "-m", "onetui"], env
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    system = shutil.which(version, path="/usr/bin:/usr/local/bin")
    if system is None:
        pytest.skip(f"no {version} other users can run")
    env["PYTHONPATH"] += os.pathsep + sysconfig.get_paths()["purelib"]
    return [system, "-m", "onetui"], env


def as_user(user: str, *args: str, env: dict[str, str] | None = None, timeout: float = 120,
            **kw: Any) -> subprocess.CompletedProcess[str]:
    """`onetui ARGS` run by `user` (real uid, gid and groups, via runuser)."""
    argv, base = interpreter()
    full = {**os.environ, **base, **(env or {})}
    return subprocess.run(["runuser", "-u", user, "--", *argv, *args], capture_output=True,
                          text=True, env=full, timeout=timeout, check=False, **kw)


@pytest.fixture(scope="session")
def testbed_users() -> dict[str, str]:
    """The test users, made (or found) by scripts/testbed/users.sh: user → role group."""
    if os.geteuid() != 0:
        pytest.skip("the test users are made with useradd (root)")
    subprocess.run(["bash", str(ROOT / "scripts/testbed/users.sh"), "up"], check=True,
                   capture_output=True, timeout=120)
    return dict(USERS)
