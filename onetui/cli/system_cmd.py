"""`onetui system install|uninstall`: onetui as a service on a Debian front-end.

System mode is what a shared front-end runs: a `onetui` system user owns the store, the
secrets and known_hosts in /var/lib/onetui (0700), `onetui serve` runs as it under systemd
(onetui.service, shipped in the package), and the people who log in reach it through the
socket in /run/onetui (group `onetui`, the clients' group), with a role from the unix groups
in /etc/onetui/config.toml's `[roles]`. The daemon's own primary group is `onetui-daemon`:
the config (root:onetui-daemon 0640) is not for the clients. No admin reads the store
directly: the socket is the only door.

Like a Debian package: install is idempotent (run it again after an upgrade), uninstall
keeps the data, the config, the user and the groups unless `--purge`, and `--purge` removes
only the users and groups install made (listed in /etc/onetui/install.record, root's own).
`--root DIR` puts the files under DIR (as DESTDIR does; the unit and config still name the
real paths), for images and tests; the user and the groups are always made on this system.
Every file is written without following a link (a link where a file or directory is
expected is refused): install runs as root and must not be turned against /etc.
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from onetui.data import SYSTEMD
from onetui.errors import UserError
from onetui.integrations.accounts import check_user

STATE = Path("/var/lib/onetui")
CONFIG = Path("/etc/onetui/config.toml")
RECORD = Path("/etc/onetui/install.record")  # what install made: all that --purge removes
UNIT = Path("/etc/systemd/system/onetui.service")
F = TypeVar("F", bound=Callable[..., Any])
ROLE_SUFFIXES = {"admin": "admin", "operator": "ops", "labstaff": "labs", "viewer": "view"}
DAEMON_SUFFIX = "daemon"  # the daemon user's primary group: NAME-daemon


@click.group()
def system() -> None:
    """System mode: onetui as a systemd service with roles from unix groups (root only)."""


def _options(func: F) -> F:
    func = click.option("--user", "name", default="onetui", show_default=True, metavar="NAME",
                        help="The daemon's system user (made by install; its primary group "
                        "is NAME-daemon) and the clients' group NAME (who may reach the "
                        "socket); the role groups are NAME-admin, -ops, -labs, -view.")(func)
    return click.option("--root", "root", default="/", show_default=True, metavar="DIR",
                        type=click.Path(file_okay=False),
                        help="Put the files under DIR (users and groups are still made "
                        "here).")(func)


@system.command("install")
@_options
def install_cmd(root: str, name: str) -> None:
    """Make the `onetui` system user and groups, /var/lib/onetui (0700), the config with a
    [roles] table and onetui.service (restarted on failure); again after an upgrade."""
    _check(name)
    prefix = Path(root).resolve()
    executable = _executable()
    for path in (STATE, CONFIG, RECORD, UNIT):  # before any user or group is made
        _refuse_links(prefix, _under(prefix, path))
    record_path = _under(prefix, RECORD)
    made = read_record(record_path)
    _check_daemon_user(name, made)
    groups = _role_groups(name)
    daemon_group = f"{name}-{DAEMON_SUFFIX}"
    for group in (name, daemon_group, *groups.values()):
        _say(f"group {group}", _ensure_group(group, made))
        _write_record(prefix, record_path, made)
    _say(f"user {name}", _ensure_user(name, daemon_group, made))
    _write_record(prefix, record_path, made)
    state = _under(prefix, STATE)
    _own_dir(prefix, state, name)
    click.echo(f"{state}: the store's directory (0700, {name})")
    config = _under(prefix, CONFIG)
    click.echo(f"{config}: {_write_config(prefix, config, daemon_group, groups)}")
    unit = _under(prefix, UNIT)
    _dirs(prefix, unit.parent)
    _write(unit, render_unit(name, executable), 0o644)
    click.echo(f"{unit}: written")
    if _systemd_runs(prefix):
        _run(["systemctl", "daemon-reload"])
    click.echo(f"next: systemctl enable --now onetui; let people in with "
               f"`usermod -aG {name},{groups['labstaff']} USER` (or another role's group)")


@system.command("uninstall")
@_options
@click.option("--purge", is_flag=True, help="Also delete the store, secrets, config, and "
              "the user and groups install made.")
@click.option("--yes", is_flag=True, help="Do not ask before --purge deletes the store.")
def uninstall_cmd(root: str, name: str, purge: bool, yes: bool) -> None:
    """Stop and remove onetui.service; the store, config, user and groups stay unless
    --purge (which removes only the users and groups install made)."""
    _check(name)
    prefix = Path(root).resolve()
    state, config, unit = (_under(prefix, p) for p in (STATE, CONFIG, UNIT))
    for path in (state, config.parent, unit):
        _refuse_links(prefix, path)
    made = read_record(_under(prefix, RECORD))
    if purge and not yes and not click.confirm(
            f"Delete {state} (the store, secrets.key, known_hosts), {config.parent}, and the "
            f"users and groups install made ({', '.join(sorted(made)) or 'none recorded'})?"):
        raise UserError("nothing removed")
    if _systemd_runs(prefix) and unit.exists():
        _run(["systemctl", "disable", "--now", "onetui.service"])
    if unit.exists():
        unit.unlink()
        click.echo(f"{unit}: removed")
        if _systemd_runs(prefix):
            _run(["systemctl", "daemon-reload"])
    if purge:
        _purge(made, state, config)
    else:
        click.echo(f"kept {state}, {config}, the user {name} and its groups "
                   "(--purge removes them)")


def _purge(made: set[str], state: Path, config: Path) -> None:
    """The files, then only the users and groups the record says install made (a user
    or group that was there before install, such as www-data, is never removed)."""
    for path in (state, config.parent):
        if path.exists():
            shutil.rmtree(path)
            click.echo(f"{path}: removed")
    for item in sorted(i for i in made if i.startswith("user:")):
        user = item.removeprefix("user:")
        if _exists(pwd.getpwnam, user):
            _run(["userdel", user])
            click.echo(f"user {user}: removed")
    for item in sorted(i for i in made if i.startswith("group:")):
        group = item.removeprefix("group:")
        if _exists(grp.getgrnam, group):
            _run(["groupdel", group])
            click.echo(f"group {group}: removed")
    if not made:
        click.echo("no users or groups removed: no record of install making any")


# -- what install made --------------------------------------------------------------------------

def read_record(path: Path) -> set[str]:
    """`user:NAME` and `group:NAME` lines: what install made. Only a regular file of
    root's that nobody else may write counts (the state directory is the daemon's, but
    this file is in /etc/onetui, root's); anything else is refused in one line."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return set()
    except OSError as exc:
        raise UserError(f"{path}: cannot read the install record ({exc.strerror}); "
                        "expected a regular file of root's") from None
    with os.fdopen(fd) as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_uid != 0 or info.st_mode & 0o022:
            raise UserError(f"{path}: not root's own file (owner uid {info.st_uid}, mode "
                            f"{stat.S_IMODE(info.st_mode):04o}); not trusted as the record "
                            "of what install made")
        lines = {line.strip() for line in fh}
    return {line for line in lines if line.partition(":")[0] in ("user", "group")}


def _write_record(prefix: Path, path: Path, made: set[str]) -> None:
    if not made and not path.exists():
        return
    _dirs(prefix, path.parent)
    _write(path, "".join(f"{line}\n" for line in sorted(made)), 0o600)


# -- the parts --------------------------------------------------------------------------------

def _check(name: str) -> None:
    if os.geteuid() != 0:
        raise UserError("system install/uninstall make users, groups and files in /etc: run "
                        "it as root (sudo onetui system …)")
    if len(name) > 25:  # + "-daemon" within the 32 characters of a group name
        raise UserError(f"--user {name!r}: at most 25 characters")
    check_user(name)
    for tool in ("useradd", "groupadd", "userdel", "groupdel"):
        if shutil.which(tool) is None:
            raise UserError(f"{tool} not found: system mode needs the passwd package")


def _check_daemon_user(name: str, made: set[str]) -> None:
    """The daemon runs as a user of its own, made by install: an existing account (a
    login user, www-data) would be put in group libvirt, which is root's equal, and its
    files and processes would be the daemon's. Its primary group likewise."""
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        entry = None
    if entry is not None and f"user:{name}" not in made:
        raise UserError(f"--user {name}: an existing user (uid {entry.pw_uid}, home "
                        f"{entry.pw_dir}) that `onetui system install` did not make; the "
                        "daemon needs a user of its own: give a new name")
    group = f"{name}-{DAEMON_SUFFIX}"
    if _exists(grp.getgrnam, group) and f"group:{group}" not in made:
        raise UserError(f"--user {name}: the group {group} exists already and install did "
                        "not make it; the daemon's primary group must be its own")


def _role_groups(name: str) -> dict[str, str]:
    return {role: f"{name}-{suffix}" for role, suffix in ROLE_SUFFIXES.items()}


def _under(prefix: Path, path: Path) -> Path:
    return prefix / path.relative_to("/")


def _exists(lookup: Callable[[str], object], key: str) -> bool:
    try:
        lookup(key)
    except KeyError:
        return False
    return True


def _ensure_group(group: str, made: set[str]) -> str:
    if _exists(grp.getgrnam, group):
        return "exists"
    _run(["groupadd", "--system", group])
    made.add(f"group:{group}")
    return "made"


def _ensure_user(name: str, primary: str, made: set[str]) -> str:
    """A system user without a login shell or a home of its own but the state directory,
    its primary group `primary`, also in the clients' group `name` (its socket's group)
    and in group libvirt when there is one (qemu:///system answers its members)."""
    done = "exists"
    if not _exists(pwd.getpwnam, name):
        _run(["useradd", "--system", "--gid", primary, "--groups", name, "--home-dir",
              str(STATE), "--no-create-home", "--shell", "/usr/sbin/nologin", "--comment",
              "onetui daemon", name])
        made.add(f"user:{name}")
        done = "made"
    if _exists(grp.getgrnam, "libvirt") and name not in grp.getgrnam("libvirt").gr_mem:
        _run(["usermod", "--append", "--groups", "libvirt", name])
        done += ", added to group libvirt"
    return done


def _refuse_links(prefix: Path, path: Path) -> None:
    """Every component of `path` below `prefix` that exists is what it says, not a
    symbolic link (one line naming the link otherwise)."""
    current = prefix
    for part in path.relative_to(prefix).parts:
        current = current / part
        try:
            info = current.lstat()
        except FileNotFoundError:
            return
        if stat.S_ISLNK(info.st_mode):
            raise UserError(f"{current}: is a symbolic link (to {os.readlink(current)}); "
                            "expected a real directory or file: nothing written through it")


def _dirs(prefix: Path, path: Path, mode: int = 0o755) -> None:
    """`path` and its parents below `prefix`, made where missing, none of them a link."""
    current = prefix
    for part in path.relative_to(prefix).parts:
        current = current / part
        with contextlib.suppress(FileExistsError):
            os.mkdir(current, mode)
        info = current.lstat()
        if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
            kind = "a symbolic link" if stat.S_ISLNK(info.st_mode) else "not a directory"
            raise UserError(f"{current}: is {kind}; expected a real directory: nothing "
                            "written through it")


def _own_dir(prefix: Path, path: Path, name: str) -> None:
    """The state directory and everything in it (a store moved in from user mode too)
    belong to the daemon's user; the directory is 0700 whatever the umask. Nothing is
    followed: a link for the directory, or inside it, is refused (a store has none)."""
    user = pwd.getpwnam(name)
    _dirs(prefix, path.parent)
    with contextlib.suppress(FileExistsError):
        os.mkdir(path, 0o700)
    fd = _open_dir(path)
    try:
        os.fchmod(fd, 0o700)
        os.fchown(fd, user.pw_uid, user.pw_gid)
        for top, dirs, files, top_fd in os.fwalk(".", dir_fd=fd, follow_symlinks=False):
            for entry in (*dirs, *files):
                info = os.stat(entry, dir_fd=top_fd, follow_symlinks=False)
                if stat.S_ISLNK(info.st_mode):
                    shown = path / top / entry
                    raise UserError(f"{shown}: a symbolic link in the state directory; "
                                    "expected none (remove it and run install again)")
                os.chown(entry, user.pw_uid, user.pw_gid, dir_fd=top_fd,
                         follow_symlinks=False)
    finally:
        os.close(fd)


def _open_dir(path: Path) -> int:
    try:
        return os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError as exc:
        raise UserError(f"{path}: {exc.strerror}; expected a real directory (not a "
                        "symbolic link)") from None


def config_text(groups: dict[str, str]) -> str:
    lines = ["", "# Who may do what through the daemon (onetui system install): members of",
             "# these unix groups get the role; everyone must also be in the clients' group",
             "# to reach its socket. Root is admin.", "[roles]"]
    lines += [f'{role} = ["{group}"]' for role, group in groups.items()]
    return "\n".join(lines) + "\n"


def _write_config(prefix: Path, path: Path, group: str, groups: dict[str, str]) -> str:
    """A new config with the [roles] table, or [roles] added to one that has none; kept
    as it is otherwise. root:`group` (the daemon's own primary group, not the clients')
    0640: it may name key files. Read and rewritten without following a link."""
    from onetui.config import load_config

    _dirs(prefix, path.parent)
    fd = _open_dir(path.parent)
    try:
        os.fchmod(fd, 0o755)
    finally:
        os.close(fd)
    _refuse_links(prefix, path)
    gid = grp.getgrnam(group).gr_gid
    if not path.exists():
        _write(path, config_text(groups).lstrip("\n"), 0o640, gid=gid)
        return "written with a [roles] table"
    if not path.is_file():
        raise UserError(f"{path}: not a regular file; expected the config")
    if "roles" not in load_config(path):
        _write(path, path.read_text() + config_text(groups), 0o640, gid=gid)
        return "kept; [roles] table added"
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        os.fchown(fd, 0, gid)
        os.fchmod(fd, 0o640)
    finally:
        os.close(fd)
    return "kept (it has a [roles] table)"


def render_unit(name: str, executable: str) -> str:
    """The shipped unit for this install: run as `name` (group `name`, the clients', for
    the socket; its own `name`-daemon for the config), ExecStart at `executable`."""
    swap = {"User=onetui": f"User={name}", "Group=onetui": f"Group={name}",
            "SupplementaryGroups=onetui-daemon": f"SupplementaryGroups={name}-{DAEMON_SUFFIX}"}
    out = []
    for line in (SYSTEMD / "onetui.service").read_text().splitlines():
        if line.startswith("ExecStart=/usr/bin/onetui "):
            line = line.replace("/usr/bin/onetui", executable, 1)
        out.append(swap.get(line, line))
    return "\n".join(out) + "\n"


def _executable() -> str:
    """The onetui that runs this command: its console script beside the interpreter (a
    venv or /usr/bin), else the interpreter with -m. The daemon will run it: it must be
    root's and nobody else's to change, and the daemon's user must be able to run it."""
    beside = Path(sys.executable).parent / "onetui"
    command = str(beside) if os.access(beside, os.X_OK) else f"{sys.executable} -m onetui"
    for path in dict.fromkeys((beside if os.access(beside, os.X_OK) else None,
                               Path(sys.executable))):
        if path is not None:
            _trusted(path)
    return command


def _trusted(path: Path) -> None:
    """`path`, and every directory up to /, (through links too) root's, not group- or
    world-writable, and open to others (the daemon's user reads and runs it)."""
    seen = [path, path.resolve()]
    for target in seen:
        for part in (target, *target.parents):
            info = part.lstat()
            why = ("is not root's" if info.st_uid != 0 else
                   "is group- or world-writable" if info.st_mode & 0o022
                   and not stat.S_ISLNK(info.st_mode) else
                   "cannot be read by other users" if not stat.S_ISLNK(info.st_mode)
                   and not info.st_mode & 0o001 else "")
            if why:
                raise UserError(
                    f"{path}: the daemon would run the onetui here, but {part} {why}; "
                    "install onetui system-wide (root-owned, e.g. `sudo python3 -m venv "
                    "/opt/onetui && sudo /opt/onetui/bin/pip install onetui`) and run "
                    "`sudo /opt/onetui/bin/onetui system install` from there")


def _write(path: Path, text: str, mode: int, uid: int = 0, gid: int = 0) -> None:
    """`text` into `path` in one rename: a fresh temporary file beside it (random name,
    O_EXCL), its owner and mode set on the open file, never by path."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fchown(fh.fileno(), uid, gid)
            os.fchmod(fh.fileno(), mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _systemd_runs(prefix: Path) -> bool:
    """Only the running system's systemd is told (not an image's under --root)."""
    return prefix.resolve() == Path("/") and Path("/run/systemd/system").is_dir()


def _run(argv: list[str]) -> None:
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        why = (proc.stderr or proc.stdout).strip().splitlines()
        raise UserError(f"{' '.join(argv)}: {why[-1] if why else f'exit {proc.returncode}'}")


def _say(what: str, done: str) -> None:
    click.echo(f"{what}: {done}")
