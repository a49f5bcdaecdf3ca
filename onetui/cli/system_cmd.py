"""`onetui system install|uninstall`: onetui as a service on a Debian front-end.

System mode is what a shared front-end runs: a `onetui` system user owns the store, the
secrets and known_hosts in /var/lib/onetui (0700), `onetui serve` runs as it under systemd
(onetui.service, shipped in the package), and the people who log in reach it through the
socket in /run/onetui, with a role from the unix groups in /etc/onetui/config.toml's
`[roles]`. No admin reads the store directly: the socket is the only door.

Like a Debian package: install is idempotent (run it again after an upgrade), uninstall
keeps the data, the config, the user and the groups unless `--purge`. `--root DIR` puts the
files under DIR (as DESTDIR does; the unit and config still name the real paths), for
images and tests; the user and the groups are always made on this system.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from onetui.data import SYSTEMD
from onetui.errors import UserError
from onetui.integrations.accounts import check_user

STATE = Path("/var/lib/onetui")
CONFIG = Path("/etc/onetui/config.toml")
UNIT = Path("/etc/systemd/system/onetui.service")
F = TypeVar("F", bound=Callable[..., Any])
ROLE_SUFFIXES = {"admin": "admin", "operator": "ops", "labstaff": "labs", "viewer": "view"}


@click.group()
def system() -> None:
    """System mode: onetui as a systemd service with roles from unix groups (root only)."""


def _options(func: F) -> F:
    func = click.option("--user", "name", default="onetui", show_default=True, metavar="NAME",
                        help="The daemon's system user (and group: who may reach the "
                        "socket); the role groups are USER-admin, -ops, -labs, -view.")(func)
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
    prefix = Path(root)
    groups = _role_groups(name)
    for group in (name, *groups.values()):
        _say(f"group {group}", _ensure_group(group))
    _say(f"user {name}", _ensure_user(name))
    state = _under(prefix, STATE)
    _own_dir(state, name)
    click.echo(f"{state}: the store's directory (0700, {name})")
    config = _under(prefix, CONFIG)
    click.echo(f"{config}: {_write_config(config, name, groups)}")
    unit = _under(prefix, UNIT)
    unit.parent.mkdir(parents=True, exist_ok=True)
    _write(unit, render_unit(name, _executable()), 0o644)
    click.echo(f"{unit}: written")
    if _systemd_runs(prefix):
        _run(["systemctl", "daemon-reload"])
    click.echo(f"next: systemctl enable --now onetui; let people in with "
               f"`usermod -aG {name},{groups['labstaff']} USER` (or another role's group)")


@system.command("uninstall")
@_options
@click.option("--purge", is_flag=True, help="Also delete the store, secrets, config, the "
              "user and the groups.")
@click.option("--yes", is_flag=True, help="Do not ask before --purge deletes the store.")
def uninstall_cmd(root: str, name: str, purge: bool, yes: bool) -> None:
    """Stop and remove onetui.service; the store, config, user and groups stay unless
    --purge."""
    _check(name)
    prefix = Path(root)
    state, config, unit = (_under(prefix, p) for p in (STATE, CONFIG, UNIT))
    if purge and not yes and not click.confirm(
            f"Delete {state} (the store, secrets.key, known_hosts), {config.parent}, the user "
            f"{name} and its groups?"):
        raise UserError("nothing removed")
    if _systemd_runs(prefix) and unit.exists():
        _run(["systemctl", "disable", "--now", "onetui.service"])
    if unit.exists():
        unit.unlink()
        click.echo(f"{unit}: removed")
        if _systemd_runs(prefix):
            _run(["systemctl", "daemon-reload"])
    if purge:
        _purge(name, state, config)
    else:
        click.echo(f"kept {state}, {config}, the user {name} and its groups "
                   "(--purge removes them)")


def _purge(name: str, state: Path, config: Path) -> None:
    for path in (state, config.parent):
        if path.exists():
            shutil.rmtree(path)
            click.echo(f"{path}: removed")
    if _exists(pwd.getpwnam, name):
        _run(["userdel", name])
        click.echo(f"user {name}: removed")
    for group in (*_role_groups(name).values(), name):
        if _exists(grp.getgrnam, group):
            _run(["groupdel", group])
            click.echo(f"group {group}: removed")


# -- the parts --------------------------------------------------------------------------------

def _check(name: str) -> None:
    if os.geteuid() != 0:
        raise UserError("system install/uninstall make users, groups and files in /etc: run "
                        "it as root (sudo onetui system …)")
    if len(name) > 26:  # + "-admin" within the 32 characters of a group name
        raise UserError(f"--user {name!r}: at most 26 characters")
    check_user(name)
    for tool in ("useradd", "groupadd", "userdel", "groupdel"):
        if shutil.which(tool) is None:
            raise UserError(f"{tool} not found: system mode needs the passwd package")


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


def _ensure_group(group: str) -> str:
    if _exists(grp.getgrnam, group):
        return "exists"
    _run(["groupadd", "--system", group])
    return "made"


def _ensure_user(name: str) -> str:
    """A system user without a login shell or a home of its own but the state directory;
    in group libvirt when there is one (qemu:///system answers its members)."""
    made = "exists"
    if not _exists(pwd.getpwnam, name):
        _run(["useradd", "--system", "--gid", name, "--home-dir", str(STATE),
              "--no-create-home", "--shell", "/usr/sbin/nologin", "--comment",
              "onetui daemon", name])
        made = "made"
    if _exists(grp.getgrnam, "libvirt") and name not in grp.getgrnam("libvirt").gr_mem:
        _run(["usermod", "--append", "--groups", "libvirt", name])
        made += ", added to group libvirt"
    return made


def _own_dir(path: Path, name: str) -> None:
    """The state directory and everything in it (a store moved in from user mode too)
    belong to the daemon's user; the directory is 0700 whatever the umask."""
    user = pwd.getpwnam(name)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    for top, dirs, files in os.walk(path):
        for entry in (top, *(os.path.join(top, f) for f in (*dirs, *files))):
            os.chown(entry, user.pw_uid, user.pw_gid, follow_symlinks=False)


def config_text(groups: dict[str, str]) -> str:
    lines = ["", "# Who may do what through the daemon (onetui system install): members of",
             "# these unix groups get the role; everyone must also be in the daemon's group",
             "# to reach its socket. Root is admin.", "[roles]"]
    lines += [f'{role} = ["{group}"]' for role, group in groups.items()]
    return "\n".join(lines) + "\n"


def _write_config(path: Path, name: str, groups: dict[str, str]) -> str:
    """A new config with the [roles] table, or [roles] added to one that has none; kept
    as it is otherwise. Readable by the daemon's group only (it may name key files)."""
    from onetui.config import load_config

    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o755)
    if not path.exists():
        _write(path, config_text(groups).lstrip("\n"), 0o640)
        said = "written with a [roles] table"
    elif "roles" not in load_config(path):
        with path.open("a") as fh:
            fh.write(config_text(groups))
        said = "kept; [roles] table added"
    else:
        said = "kept (it has a [roles] table)"
    os.chown(path, 0, grp.getgrnam(name).gr_gid)
    os.chmod(path, 0o640)
    return said


def render_unit(name: str, executable: str) -> str:
    """The shipped unit for this install: run as `name`, ExecStart at `executable`."""
    text = (SYSTEMD / "onetui.service").read_text()
    return (text.replace("ExecStart=/usr/bin/onetui ", f"ExecStart={executable} ")
            .replace("User=onetui\n", f"User={name}\n")
            .replace("Group=onetui\n", f"Group={name}\n"))


def _executable() -> str:
    """The onetui that runs this command: its console script beside the interpreter (a
    venv or /usr/bin), else the interpreter with -m."""
    beside = Path(sys.executable).parent / "onetui"
    if os.access(beside, os.X_OK):
        return str(beside)
    return f"{sys.executable} -m onetui"


def _write(path: Path, text: str, mode: int) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, mode)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


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
