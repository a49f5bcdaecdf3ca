"""Whether a caller may ask: the one seam every request passes through (registry.respond).

The caller is onetui.access's `Caller`: the daemon takes it from the socket's peer
credentials (SO_PEERCRED), never from anything the client sends; the in-process transport
is this process (`Caller.current()`). The decision is onetui.access.authorize's (roles from
unix groups in the config's [roles] table; root, the daemon's user and the store's owner
are admins); this module only says which of its operations an API request is
(`access_op`) and with which arguments (`access_args`: the API names a lab `ref`, the
rules and the audit trail name it `lab`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from onetui import access
from onetui.access import Caller, Config, Grant
from onetui.store import Store

# The API's operation names that differ from onetui.access.OPS (where a command's verb
# has an API operation per part, or an operation serves a read everyone may make).
# tests/test_access.py checks that every operation the API offers maps to one there.
ACCESS_OPS: dict[str, str] = {
    "vm.by_ids": "vm.list", "host.by_ids": "host.list",
    "template.get": "template.show", "template.add": "template.create",
    "template.seed": "template.create", "template.clone": "template.create",
    "service.rule_add": "service.rule", "service.rule_delete": "service.rule",
    "lab.ssh_argv": "lab.ssh", "lab.reset_password": "lab.reset-password",
    "lab.reset_seat": "lab.reset-seat",
    "sge.grow": "sge.scale", "sge.shrink": "sge.scale",
    "sge.trust": "ssh.trust",  # pins the master's key in the daemon's known_hosts
    # reads every role may make, with no operation of their own in access.OPS
    "changes": "events.list", "changes.current": "events.list", "daemon.info": "events.list",
    "engine.lease": "events.list",
}
# history.read (one object) and history.read_many (the panes' sparklines) are reads of
# what they are about (`kind`)
HISTORY_OPS = {"host": "host.show", "vm": "vm.show", "service": "service.show",
               "grid": "sge.history"}


def access_op(name: str, args: Mapping[str, Any]) -> str:
    """The operation of onetui.access.OPS that API operation `name` with `args` is."""
    if name in ("history.read", "history.read_many"):
        return HISTORY_OPS.get(str(args.get("kind")), "sge.history")
    return ACCESS_OPS.get(name, name)


def access_args(name: str, args: Mapping[str, Any]) -> dict[str, Any]:
    """The request's arguments as onetui.access reads them: a lab operation's `ref` is
    the `lab` it is about (whose owner decides; `lab creds os1` in the audit trail)."""
    out = dict(args)
    if name.startswith("lab.") and name != "lab.create" and "ref" in out:
        out["lab"] = out.pop("ref")
    return out


def authorize(caller: Caller, name: str, args: Mapping[str, Any], store: Store,
              cfg: Config) -> Grant:
    """The grant of API operation `name` for `caller`, or NoRole / Refused (the role it
    needs), as onetui.access decides."""
    return access.authorize(caller, access_op(name, args), access_args(name, args), store,
                            cfg)


def writes(name: str, args: Mapping[str, Any]) -> bool:
    """Whether API operation `name` changes something: its rule in onetui.access says so
    (the same word the audit trail goes by; the daemon wakes its long-polls after one)."""
    rule = access.OPS.get(access_op(name, args))
    return rule is not None and rule.writes
