"""`onetui system install|uninstall` for real: a system user and groups made with useradd
and groupadd (under a name of the test's own, removed afterwards), the files under --root,
the shipped unit checked by `systemd-analyze verify`, and the store out of everyone
else's reach."""

from __future__ import annotations

import grp
import os
import pwd
import secrets
import shutil
import stat
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from onetui.cli.system_cmd import render_unit
from onetui.data import SYSTEMD
from tests.beds.cli import onetui
from tests.beds.users import as_user, interpreter

ONETUI = Path(sys.executable).parent / "onetui"  # the console script of this venv

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="makes users and groups")


def _gone(lookup, name: str) -> bool:  # type: ignore[no-untyped-def]
    try:
        lookup(name)
    except KeyError:
        return True
    return False


def system(*args: str, check: bool = True, **kw: Any) -> subprocess.CompletedProcess[str]:
    """`onetui system ARGS` as root, run by an interpreter the daemon's user could run too
    (this venv's may be under /root, which install refuses as the unit's ExecStart)."""
    argv, env = interpreter()
    proc = subprocess.run([*argv, "system", *args], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=120, check=False, **kw)
    if check and proc.returncode != 0:
        raise AssertionError(f"system {' '.join(args)} exited {proc.returncode}:\n"
                             f"{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture
def name() -> Iterator[str]:
    """A daemon user name for this test; it and its groups are removed whatever happens."""
    name = f"ottest{secrets.token_hex(3)}"
    yield name
    subprocess.run(["userdel", name], capture_output=True, check=False)
    for suffix in ("-admin", "-ops", "-labs", "-view", "-daemon", ""):
        subprocess.run(["groupdel", name + suffix], capture_output=True, check=False)


@pytest.fixture
def root() -> Iterator[Path]:
    """An image root others may enter (pytest's own tmp_path is root's alone, 0700), so a
    refusal seen by another user is the state directory's doing."""
    path = Path(f"/var/tmp/onetui-system-test-{secrets.token_hex(4)}")
    path.mkdir(mode=0o755)
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _verify(unit: Path) -> subprocess.CompletedProcess[str]:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze missing: apt-get install systemd")
    return subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True,
                          text=True, timeout=60, check=False)


def test_the_shipped_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    unit = tmp_path / "onetui.service"  # ExecStart at this venv's onetui: the only change
    unit.write_text(render_unit("onetui", str(ONETUI)))
    result = _verify(unit)
    assert result.returncode == 0, result.stderr
    text = unit.read_text()
    for line in ("Restart=on-failure", "RuntimeDirectory=onetui", "User=onetui",
                 "Group=onetui", f"ExecStart={ONETUI} --state /var/lib/onetui serve",
                 "ExecReload=/bin/kill -HUP $MAINPID", "WantedBy=multi-user.target"):
        assert line in text.splitlines()
    broken = tmp_path / "broken" / "onetui.service"  # the check can fail
    broken.parent.mkdir()
    broken.write_text((SYSTEMD / "onetui.service").read_text().replace(
        "/usr/bin/onetui", str(tmp_path / "no-such-onetui")))
    assert _verify(broken).returncode != 0


@needs_root
def test_install_is_idempotent_and_uninstall_keeps_the_data_unless_purged(
        name: str, root: Path) -> None:
    first = system("install", "--root", str(root), "--user", name).stdout
    assert f"user {name}: made" in first and f"group {name}-labs: made" in first
    user = pwd.getpwnam(name)
    assert user.pw_uid < 1000 and user.pw_shell == "/usr/sbin/nologin"
    assert user.pw_dir == "/var/lib/onetui"
    assert grp.getgrgid(user.pw_gid).gr_name == f"{name}-daemon"  # not the clients' group
    for suffix in ("-admin", "-ops", "-labs", "-view"):
        assert grp.getgrnam(name + suffix).gr_gid < 1000

    state = root / "var/lib/onetui"
    info = state.stat()
    assert (stat.S_IMODE(info.st_mode), info.st_uid) == (0o700, user.pw_uid)
    config = root / "etc/onetui/config.toml"
    info = config.stat()
    assert (stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid) == (0o640, 0, user.pw_gid)
    assert tomllib.loads(config.read_text())["roles"] == {
        "admin": [f"{name}-admin"], "operator": [f"{name}-ops"],
        "labstaff": [f"{name}-labs"], "viewer": [f"{name}-view"]}
    unit = root / "etc/systemd/system/onetui.service"
    assert f"User={name}" in unit.read_text().splitlines()
    assert _verify(unit).returncode == 0

    config.write_text('[labs]\nadmin_user = "teacher"\n')  # the admin's own, without roles
    again = system("install", "--root", str(root), "--user", name).stdout
    assert f"user {name}: exists" in again and "[roles] table added" in again
    kept = tomllib.loads(config.read_text())
    assert kept["labs"] == {"admin_user": "teacher"} and "roles" in kept
    assert pwd.getpwnam(name).pw_uid == user.pw_uid

    (state / "onetui.db").write_bytes(b"")  # stands for the daemon's store in the test
    out = system("uninstall", "--root", str(root), "--user", name).stdout
    assert not unit.exists() and "kept" in out
    assert (state / "onetui.db").exists() and config.exists() and not _gone(pwd.getpwnam, name)

    refused = system("uninstall", "--root", str(root), "--user", name, "--purge",
                     input="n\n", check=False)
    assert refused.returncode == 2 and state.exists()
    system("uninstall", "--root", str(root), "--user", name, "--purge", "--yes")
    assert not state.exists() and not config.parent.exists()
    assert _gone(pwd.getpwnam, name)
    assert all(_gone(grp.getgrnam, name + s)
               for s in ("", "-admin", "-ops", "-labs", "-view", "-daemon"))


@needs_root
def test_only_the_daemons_user_opens_the_store_and_only_root_installs(
        name: str, root: Path, testbed_users: dict[str, str]) -> None:
    """alice (labstaff) and adam (admin!) alike: the store is the daemon's alone."""
    system("install", "--root", str(root), "--user", name)
    state = root / "var/lib/onetui"
    env = {"ONETUI_STATE": str(state)}
    as_daemon = as_user(name, "vm", "list", env=env)
    assert as_daemon.returncode == 0, as_daemon.stderr
    assert (state / "onetui.db").stat().st_uid == pwd.getpwnam(name).pw_uid

    for user in ("alice", "adam"):
        as_other = as_user(user, "vm", "list", env=env)
        assert as_other.returncode == 2
        assert as_other.stderr == (f"onetui: {state}/onetui.db: cannot open the store: "
                                   "Permission denied\n")
    install = as_user("adam", "system", "install", "--root", str(root), "--user", name)
    assert install.returncode == 2
    assert install.stderr.startswith("onetui: system install/uninstall make users, groups "
                                     "and files in /etc: run it as root")


@needs_root
def test_a_bad_daemon_user_name_is_one_line_and_nothing_is_made(root: Path) -> None:
    bad = system("install", "--root", str(root), "--user", "Bad Name", check=False)
    assert bad.returncode == 2 and bad.stderr.startswith("onetui: user name 'Bad Name': ")
    assert list(root.iterdir()) == []


@needs_root
def test_config_is_not_for_the_clients_group(name: str, root: Path,
                                             testbed_users: dict[str, str]) -> None:
    """Clients reach the socket through group NAME; the config (it may name key files)
    is root's and the daemon's own group's: a client in group NAME cannot read it."""
    system("install", "--root", str(root), "--user", name)
    subprocess.run(["usermod", "-aG", name, "bob"], check=True)
    try:
        config = root / "etc/onetui/config.toml"
        read = subprocess.run(["runuser", "-u", "bob", "--", "cat", str(config)],
                              capture_output=True, text=True, check=False)
        assert read.returncode != 0 and "Permission denied" in read.stderr
        daemon = subprocess.run(["runuser", "-u", name, "--", "cat", str(config)],
                                capture_output=True, text=True, check=False)
        assert daemon.returncode == 0 and "[roles]" in daemon.stdout
    finally:
        subprocess.run(["gpasswd", "-d", "bob", name], capture_output=True, check=False)


@needs_root
def test_install_from_code_the_daemon_must_not_run_is_refused(name: str, root: Path) -> None:
    """This venv's interpreter lives under /root (pyenv): the daemon could not run it.
    (Where it is world-runnable, the check has nothing to refuse.)"""
    python = Path(sys.executable).resolve()
    if all(p.stat().st_mode & 0o001 and p.stat().st_uid == 0 for p in python.parents):
        pytest.skip(f"{python} is root's and open to all here")
    refused = onetui("system", "install", "--root", str(root), "--user", name, check=False)
    assert refused.returncode == 2 and len(refused.stderr.splitlines()) == 1
    assert refused.stderr.startswith(f"onetui: {Path(sys.executable).parent}/")
    assert ": the daemon would run the onetui here, but " in refused.stderr
    assert "install onetui system-wide" in refused.stderr
    assert list(root.iterdir()) == [] and _gone(pwd.getpwnam, name)


@needs_root
@pytest.mark.parametrize("link", ["var/lib/onetui", "var/lib", "etc/onetui",
                                  "etc/onetui/config.toml", "etc/systemd/system"])
def test_install_writes_nothing_through_a_symbolic_link(name: str, root: Path,
                                                         tmp_path: Path, link: str) -> None:
    """A link where install expects a directory or a file (placed by whoever could write
    there) is refused: what it points at keeps its owner, mode and text."""
    victim = tmp_path / "victim"
    victim.mkdir(mode=0o755)
    (victim / "config.toml").write_text("secret = 1\n")
    os.chmod(victim / "config.toml", 0o600)
    target = victim / "config.toml" if link.endswith(".toml") else victim
    (root / link).parent.mkdir(parents=True, exist_ok=True)
    (root / link).symlink_to(target)
    before = [(p.stat().st_uid, p.stat().st_gid, stat.S_IMODE(p.stat().st_mode))
              for p in (victim, victim / "config.toml")]
    result = system("install", "--root", str(root), "--user", name, check=False)
    assert result.returncode == 2, result.stdout
    assert f"{root / link}: " in result.stderr and "symbolic link" in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert sorted(p.name for p in victim.iterdir()) == ["config.toml"]
    assert (victim / "config.toml").read_text() == "secret = 1\n"
    assert [(p.stat().st_uid, p.stat().st_gid, stat.S_IMODE(p.stat().st_mode))
            for p in (victim, victim / "config.toml")] == before


@needs_root
def test_a_link_inside_the_state_directory_is_refused(name: str, root: Path,
                                                      tmp_path: Path) -> None:
    state = root / "var/lib/onetui"
    state.mkdir(parents=True)
    victim = tmp_path / "shadow"
    victim.write_text("x")
    (state / "onetui.db").symlink_to(victim)
    result = system("install", "--root", str(root), "--user", name, check=False)
    assert result.returncode == 2
    assert f"{state}/onetui.db: a symbolic link in the state directory" in result.stderr
    assert victim.stat().st_uid == 0


@needs_root
def test_an_existing_user_is_never_the_daemon_nor_purged(root: Path,
                                                         testbed_users: dict[str, str]) -> None:
    """www-data or a login user: install refuses to adopt them (group libvirt is root's
    equal); uninstall --purge removes only what install made, so never them."""
    for user in ("alice", "www-data"):
        if _gone(pwd.getpwnam, user):
            continue
        groups = sorted(g.gr_name for g in grp.getgrall() if user in g.gr_mem)
        refused = system("install", "--root", str(root), "--user", user, check=False)
        assert refused.returncode == 2 and len(refused.stderr.splitlines()) == 1
        assert refused.stderr.startswith(f"onetui: --user {user}: an existing user (uid ")
        assert sorted(g.gr_name for g in grp.getgrall() if user in g.gr_mem) == groups
        out = system("uninstall", "--root", str(root), "--user", user, "--purge",
                     "--yes").stdout
        assert not _gone(pwd.getpwnam, user)
        assert "no users or groups removed" in out


@needs_root
def test_purge_removes_only_the_groups_install_made(name: str, root: Path) -> None:
    subprocess.run(["groupadd", "--system", f"{name}-view"], check=True)  # the admin's own
    out = system("install", "--root", str(root), "--user", name).stdout
    assert f"group {name}-view: exists" in out
    record = root / "etc/onetui/install.record"
    info = record.stat()
    assert (info.st_uid, stat.S_IMODE(info.st_mode)) == (0, 0o600)
    assert f"group:{name}-view" not in record.read_text().splitlines()
    system("uninstall", "--root", str(root), "--user", name, "--purge", "--yes")
    assert _gone(pwd.getpwnam, name) and _gone(grp.getgrnam, f"{name}-labs")
    assert not _gone(grp.getgrnam, f"{name}-view")


@needs_root
def test_a_record_someone_else_could_write_is_not_trusted(name: str, root: Path) -> None:
    system("install", "--root", str(root), "--user", name)
    record = root / "etc/onetui/install.record"
    os.chmod(record, 0o666)
    result = system("uninstall", "--root", str(root), "--user", name, "--purge", "--yes",
                    check=False)
    assert result.returncode == 2
    assert f"{record}: not root's own file" in result.stderr
    assert not _gone(pwd.getpwnam, name)
