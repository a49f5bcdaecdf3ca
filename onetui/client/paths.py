"""Where the daemon's socket is: system mode's, the user's, the one a command or `onetui
serve` uses by default. Only os and pathlib: a command finds out whether a daemon may be
there before it loads any of the HTTP client."""

from __future__ import annotations

import os
import stat
from pathlib import Path

SYSTEM_SOCKET = Path("/run/onetui/onetui.sock")


def system_socket() -> Path:
    """System mode's socket (the daemon runs as its own user; group onetui may connect)."""
    return SYSTEM_SOCKET


def user_socket() -> Path:
    """User mode's socket: under $XDG_RUNTIME_DIR, or /tmp/onetui-UID when it is unset."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    base = Path(runtime) / "onetui" if runtime else Path(f"/tmp/onetui-{os.getuid()}")
    return base / "onetui.sock"


def default_socket(*, serving: bool = False) -> Path:
    """$ONETUI_SOCKET, else: for a client, the user's socket when one is there, else the
    system's; for `onetui serve`, the system's when run as root or by onetui.service (its
    RuntimeDirectory=onetui is systemd's $RUNTIME_DIRECTORY, /run/onetui: system mode's
    daemon runs as its own user), else the user's."""
    given = os.environ.get("ONETUI_SOCKET")
    if given:
        return Path(given)
    if serving:
        runtime = os.environ.get("RUNTIME_DIRECTORY", "").split(":")
        system = os.getuid() == 0 or str(SYSTEM_SOCKET.parent) in runtime
        return system_socket() if system else user_socket()
    mine = user_socket()
    if not own_directory(mine.parent):
        mine = SYSTEM_SOCKET  # someone else's /tmp/onetui-UID: never talked to
    return SYSTEM_SOCKET if not reachable(mine) and reachable(SYSTEM_SOCKET) else mine


def own_directory(path: Path) -> bool:
    """Whether `path` is this user's own directory that no one else may write into (or
    not there yet): where the user socket may be trusted. Without $XDG_RUNTIME_DIR it is
    /tmp/onetui-UID, which anyone could have made first, with a socket of theirs in it
    that would be told this user's requests and answer them."""
    try:
        st = path.lstat()
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and not st.st_mode & 0o022


def private_dir() -> Path:
    """The caller's own 0700 directory for what onetui keeps for them (a seat's pinned
    host keys): user_socket()'s directory. One that is a link, or not theirs, is refused
    (under /tmp another user could have made it first)."""
    base = user_socket().parent
    base.mkdir(mode=0o700, parents=True, exist_ok=True)
    st = base.lstat()
    if not own_directory(base) or st.st_mode & 0o077:
        raise PermissionError(f"{base}: not a private directory of this user (a link, "
                              "another user's, or open to others); remove it")
    return base


def reachable(path: Path) -> bool:
    """Whether a socket is there for this user to see: a path in a directory they may not
    enter (system mode's /run/onetui for someone outside group onetui) is not."""
    try:
        return path.exists()
    except OSError:  # PermissionError: Path.exists lets EACCES through
        return False
