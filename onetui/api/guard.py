"""Whether a caller may ask: the one seam every request passes through (registry.respond).

The caller is onetui.access's `Caller`: the daemon takes it from the socket's peer
credentials (SO_PEERCRED), never from anything the client sends; the in-process transport
is this process (`Caller.current()`). `authorize` here is still a placeholder: root and the
daemon's own user may do everything, nobody else anything (deny by default). Roles from
unix groups (onetui.access.authorize) replace its body, not its callers; each operation's
name in onetui.access.OPS is `access_op` already, so that swap is made here alone.
"""

from __future__ import annotations

import os
import pwd
from collections.abc import Mapping
from typing import Any

from onetui.access import ADMIN, Caller, Grant, Refused

# The API's operation names that differ from onetui.access.OPS (where a command's verb
# has an API operation per part, or an operation serves a read everyone may make).
# tests/test_access.py checks that every operation the API offers maps to one there.
ACCESS_OPS: dict[str, str] = {
    "vm.by_ids": "vm.list", "host.by_ids": "host.list",
    # the panes' sparklines: part of the lists they stand in (every kind's history is a
    # read everyone may make, as history.read's HISTORY_OPS below)
    "history.read_many": "host.list",
    "template.get": "template.show", "template.add": "template.create",
    "template.seed": "template.create", "template.clone": "template.create",
    "service.rule_add": "service.rule", "service.rule_delete": "service.rule",
    "lab.ssh_argv": "lab.ssh", "lab.reset_password": "lab.reset-password",
    "lab.reset_seat": "lab.reset-seat",
    "sge.grow": "sge.scale", "sge.shrink": "sge.scale",
    # reads every role may make, with no operation of their own in access.OPS
    "changes": "events.list", "changes.current": "events.list", "daemon.info": "events.list",
    "engine.lease": "events.list",
}
# history.read is the read of the object it is about (`kind`)
HISTORY_OPS = {"host": "host.show", "vm": "vm.show", "service": "service.show",
               "grid": "sge.history"}


def access_op(name: str, args: Mapping[str, Any]) -> str:
    """The operation of onetui.access.OPS that API operation `name` with `args` is."""
    if name == "history.read":
        return HISTORY_OPS.get(str(args.get("kind")), "sge.history")
    return ACCESS_OPS.get(name, name)


def authorize(caller: Caller, name: str, args: Mapping[str, Any]) -> Grant:
    """Allow the request or raise Refused. For now: root and the daemon's own user may do
    everything, nobody else anything (roles come with onetui.access.authorize)."""
    if caller.uid in (0, os.getuid()):
        return Grant(ADMIN, passwords=True)
    op = access_op(name, args)
    raise Refused(f"{caller.user} (uid {caller.uid}) may not {name}: only {_us()} may "
                  "use this onetui daemon until roles are set up", op=op, role=None,
                  needs=ADMIN)


def _us() -> str:
    """Who may, in words: root, and the daemon's own user when that is not root."""
    if os.getuid() == 0:
        return "root"
    try:
        return f"root and {pwd.getpwuid(os.getuid()).pw_name}"
    except KeyError:
        return f"root and uid {os.getuid()}"
