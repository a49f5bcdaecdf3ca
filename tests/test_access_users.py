"""Roles for real: the test users of scripts/testbed/users.sh connect to a Unix socket as
themselves (runuser), the kernel says who they are (SO_PEERCRED), and `authorize` decides
from their unix groups: alice makes and reads her lab, is refused bob's… and every host or
VM change; bob only looks; olga shuts a VM down and the event names her."""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import socket
import struct
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from onetui import access
from onetui.access import Caller, Refused, authorize
from onetui.store import Store
from tests.beds.users import interpreter

CONNECT = "import socket, sys; s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.recv(1)"


@pytest.fixture
def door() -> Iterator[socket.socket]:
    """A listening socket every test user may connect to (0777 in a 0755 directory)."""
    where = Path(f"/var/tmp/onetui-access-test-{secrets.token_hex(4)}")
    where.mkdir(mode=0o755)
    os.chmod(where, 0o755)
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(where / "sock"))
    os.chmod(where / "sock", 0o777)
    server.listen(4)
    server.settimeout(60)
    yield server
    server.close()
    shutil.rmtree(where, ignore_errors=True)


def peer(door: socket.socket, user: str) -> Caller:
    """Who the kernel says connected, when `user` connects."""
    python = interpreter()[0][0]
    proc = subprocess.Popen(["runuser", "-u", user, "--", python, "-c", CONNECT,
                             door.getsockname()])
    try:
        conn, _ = door.accept()
        with conn:
            pid, uid, gid = struct.unpack("3i", conn.getsockopt(
                socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))
            conn.sendall(b".")
    finally:
        proc.wait(timeout=60)
    return Caller.from_peer(uid, gid, pid)


def test_each_test_user_has_the_role_of_their_group(testbed_users: dict[str, str],
                                                    door: socket.socket, store: Store) -> None:
    roles = {user: access.caller_role(peer(door, user), {}, store) for user in testbed_users}
    assert roles == {"alice": "labstaff", "bob": "viewer", "olga": "operator", "adam": "admin"}
    alice = peer(door, "alice")
    assert alice.user == "alice" and {"onetui", "onetui-labs"} <= set(alice.groups)
    assert alice.pid != os.getpid() and alice.uid != 0


def test_alice_runs_her_lab_and_nothing_else_and_olga_is_named(
        testbed_users: dict[str, str], door: socket.socket, store: Store) -> None:
    alice, bob, olga = (peer(door, u) for u in ("alice", "bob", "olga"))
    net = store.networks.add("labnet", "127.0.4.10", "127.0.4.15")
    assert authorize(alice, "lab.create", {"name": "os1"}, store, {}).role == "labstaff"
    store.labs.create("os1", None, net, [], "student%02i", None, {}, owner=alice.user,
                      owner_uid=alice.uid)
    store.labs.create("os2", None, net, [], "student%02i", None, {}, owner="adam",
                      owner_uid=pwd.getpwnam("adam").pw_uid)
    assert authorize(alice, "lab.creds", {"lab": "os1"}, store, {}).passwords
    for op, args in (("lab.creds", {"lab": "os2"}), ("lab.destroy", {"lab": "os2"}),
                     ("host.update", {"name": "ursa03"}), ("host.delete", {"name": "ursa03"}),
                     ("vm.action", {"action": "shutdown", "refs": [5]}),
                     ("vm.create", {"name": "x"})):
        with pytest.raises(Refused):
            authorize(alice, op, args, store, {})
    assert not authorize(bob, "lab.show", {"lab": "os1"}, store, {}).passwords

    args = {"action": "shutdown", "refs": [5]}
    with pytest.raises(Refused) as refused:
        authorize(bob, "vm.action", args, store, {})
    access.audit_refusal(store, bob, refused.value, "vm.action", args, obj_id=5)
    grant = authorize(olga, "vm.action", args, store, {})
    access.audit(store, olga, grant.role, "vm.action", args, obj_id=5)
    events = store.events.recent(2, kind="vm", obj_id=5)
    assert [(e.user, e.pid, e.message) for e in reversed(events)] == [
        ("bob", bob.pid, "bob (viewer): refused vm shutdown 5 (needs operator)"),
        ("olga", olga.pid, "olga (operator): vm shutdown 5")]
