"""Who is asking, and whether they may: the one seam every request passes through.

The daemon learns the caller from the socket's peer credentials (SO_PEERCRED), never from
anything the client sends; the in-process transport uses the process's own identity.
`authorize` is the only place a request is allowed or refused: roles from unix groups
(issue 16) replace its body, not its callers.
"""

from __future__ import annotations

import grp
import os
import pwd
from dataclasses import dataclass
from typing import Any

from onetui.errors import UserError


@dataclass(frozen=True)
class Caller:
    """A peer as the kernel vouches for it: uid, gid and pid, with the user's name and
    groups looked up from them (for messages and roles)."""

    uid: int
    gid: int
    pid: int
    user: str
    groups: tuple[str, ...]

    @classmethod
    def of(cls, uid: int, gid: int, pid: int) -> Caller:
        try:
            user = pwd.getpwuid(uid).pw_name
        except KeyError:
            user = str(uid)
        try:
            gids = os.getgrouplist(user, gid)
        except OSError:
            gids = [gid]
        names = []
        for g in gids:
            try:
                names.append(grp.getgrgid(g).gr_name)
            except KeyError:
                names.append(str(g))
        return cls(uid, gid, pid, user, tuple(names))

    @classmethod
    def myself(cls) -> Caller:
        """This process: the caller of the in-process transport."""
        return cls.of(os.getuid(), os.getgid(), os.getpid())


class Refused(UserError):
    """The caller may not run this operation; `needs` names the role that may."""

    def __init__(self, message: str, needs: str = "admin") -> None:
        super().__init__(message)
        self.needs = needs


def authorize(caller: Caller, op_name: str, args: dict[str, Any]) -> None:
    """Raise Refused unless `caller` may run `op_name` with `args`. For now: root and the
    daemon's own user may do everything, nobody else anything (roles come later)."""
    if caller.uid in (0, os.getuid()):
        return
    raise Refused(f"{caller.user} (uid {caller.uid}) may not {op_name}: only {_us()} may "
                  "use this onetui daemon until roles are set up", needs="admin")


def _us() -> str:
    """Who may, in words: root, and the daemon's own user when that is not root."""
    if os.getuid() == 0:
        return "root"
    try:
        return f"root and {pwd.getpwuid(os.getuid()).pw_name}"
    except KeyError:
        return f"root and uid {os.getuid()}"
