"""Every operation the API offers is an operation of onetui.access (its roles table), so
roles can be put in the daemon's authorize without renaming either side: the names that
differ are mapped in one place (onetui.api.guard)."""

from __future__ import annotations

from onetui import access
from onetui.api import access_op, load_all
from onetui.api.guard import HISTORY_OPS

# access operations no API operation is: what access.authorize derives from another
# operation's fields
NOT_THROUGH_THE_API = {
    "ec2.terminate": "ec2.orphans with terminate=true",
}


def test_every_api_operation_maps_to_an_access_operation() -> None:
    names = sorted(load_all())
    assert "history.read" in names and "lab.reset_password" in names
    unmapped = [name for name in names if name != "history.read"
                and access_op(name, {}) not in access.OPS]
    assert unmapped == []
    for kind, op in HISTORY_OPS.items():  # history is the read of what it is about
        assert access_op("history.read", {"kind": kind}) == op
        assert op in access.OPS


def test_every_access_operation_is_reached_through_the_api_or_said_why_not() -> None:
    reached = {access_op(name, {}) for name in load_all()} | set(HISTORY_OPS.values())
    assert set(access.OPS) - reached == set(NOT_THROUGH_THE_API)


def test_the_names_that_differ_are_mapped() -> None:
    assert access_op("lab.reset_password", {}) == "lab.reset-password"
    assert access_op("service.rule_delete", {}) == "service.rule"
    assert access_op("sge.grow", {}) == access_op("sge.shrink", {}) == "sge.scale"
    assert access_op("lab.ssh_argv", {}) == "lab.ssh"
    assert access_op("sge.trust", {}) == "ssh.trust"  # the daemon's known_hosts: admins
    assert access_op("vm.action", {"action": "hold"}) == "vm.action"
