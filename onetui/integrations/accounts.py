"""A seat's account, made over SSH as the lab's admin and then checked by logging in as the
student with the handed-out password.

The remote command is a fixed script whose only argument is the validated user name; the
password travels on stdin (for `chpasswd`), never on a command line, so it is not in the
guest's process list, its shell history or any log of ours.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING

from onetui.errors import UserError

if TYPE_CHECKING:  # paramiko (~0.2 s) loads when a login is checked, not for check_user
    from onetui.remote.ssh import Connection, Target

USER_RE = re.compile(r"[a-z_][a-z0-9_-]{0,31}")

# The comment (GECOS) field marks the accounts onetui made: an account that exists on the
# seat without it (root, daemon, the admin's own) is never touched.
MARK = "onetui lab seat"

# useradd/chpasswd: the standard tools on Debian, Ubuntu, RHEL (and our test guest).
ACCOUNT_SCRIPT = r"""
set -e
u=$1 mark=$2
entry=$(getent passwd "$u" 2>/dev/null || grep "^$u:" /etc/passwd || true)
if [ -z "$entry" ]; then
  useradd -m -s /bin/sh -c "$mark" "$u"
else
  case "$(echo "$entry" | cut -d: -f5)" in
    "$mark"*) ;;
    *) echo "user $u exists on the seat and was not made by onetui" \
            "(uid $(echo "$entry" | cut -d: -f3)); refusing to change its password" >&2
       exit 3 ;;
  esac
fi
chpasswd
echo "account $u ok"
"""


def check_user(name: str) -> str:
    if not USER_RE.fullmatch(name):
        raise UserError(f"user name {name!r}: expected 1-32 lower-case letters, digits, '_' "
                        "or '-', starting with a letter or '_' (from --user, e.g. student%02i)")
    return name


def make_account(admin: Connection, user: str, password: str) -> None:
    """Create `user` if missing and set its password; a failure raises with the guest's
    own message."""
    check_user(user)
    if not password:
        # a wiped password (the lab is being destroyed) must never become an empty one
        raise UserError(f"no password to set for {user} (credentials wiped)")
    result = admin.run(["sh", "-c", ACCOUNT_SCRIPT, "onetui-account", user, MARK],
                       stdin=f"{user}:{password}\n".encode(), timeout=60)
    if not result.ok:
        said = (result.err.strip() or result.out.strip() or f"exit status {result.code}")
        raise UserError(said.splitlines()[-1])


def verify_login(target: Target, user: str, password: str, timeout: float = 15) -> None:
    """Log in as the student with the password alone (no keys, no agent), host key checked
    like every connection of ours; raises when the login or `id -un` does not say `user`."""
    from onetui.remote.ssh import Connection

    conn = Connection(replace(target, user=user, key_files=()), timeout=timeout, password=password)
    try:
        result = conn.run(["id", "-un"], timeout=timeout)
    finally:
        conn.close()
    if not result.ok or result.out.strip() != user:
        raise UserError(f"logged in, but `id -un` said {result.out.strip()!r} "
                        f"{result.err.strip()}".strip())
