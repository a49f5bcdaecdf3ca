"""Roles and what each may do: every role × every operation against a table written here
independently of onetui.access, lab ownership, the password rule for reads, refusals that
name the role needed, and the audit events with the caller's user and pid."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click
import pytest

from onetui import access
from onetui.access import Caller, NoRole, Refused, authorize
from onetui.errors import NotFound, UserError
from onetui.store import Store

CFG: dict[str, Any] = {"roles": {"admin": ["onetui-admin"], "operator": ["onetui-ops"],
                                 "labstaff": ["onetui-labs"], "viewer": ["onetui-view"]}}

# uids that are neither root nor the store file's owner (the tests run as root)
ADAM = Caller(5001, 5001, 101, "adam", ("adam", "onetui-admin"))
OLGA = Caller(5002, 5002, 102, "olga", ("olga", "onetui-ops"))
ALICE = Caller(5003, 5003, 103, "alice", ("alice", "onetui-labs"))
LARA = Caller(5004, 5004, 104, "lara", ("lara", "onetui-labs"))  # labstaff, not os1's owner
BOB = Caller(5005, 5005, 105, "bob", ("bob", "onetui-view"))
CAROL = Caller(5006, 5006, 106, "carol", ("carol", "users"))  # in no role

# who may: a = admin, o = operator, L = labstaff on the lab they own, l = any labstaff,
# v = viewer. Written from the role list, not from onetui.access.OPS.
EXPECTED = {
    "vm.list": "aolLv", "vm.show": "aolLv", "vm.create": "ao", "vm.action": "ao",
    "host.list": "aolLv", "host.show": "aolLv", "host.create": "a", "host.update": "a",
    "host.enable": "a", "host.delete": "a",
    "template.list": "aolLv", "template.show": "aolLv", "template.create": "a",
    "template.update": "a", "template.delete": "a",
    "net.list": "aolLv", "net.show": "aolLv", "net.hosts": "aolLv", "net.create": "a",
    "net.delete": "a",
    "ec2.orphans": "aolLv", "ec2.terminate": "a", "ssh.trust": "a",
    "service.list": "aolLv", "service.show": "aolLv", "service.create": "ao",
    "service.scale": "ao", "service.delete": "ao", "service.rule": "ao",
    "lab.list": "aolLv", "lab.show": "aolLv", "lab.create": "alL",
    "lab.extend": "aL", "lab.reset-password": "aL", "lab.reset-seat": "aL",
    "lab.destroy": "aL", "lab.creds": "aL", "lab.handout": "aL", "lab.reveal": "aL",
    "lab.ssh": "aL",
    "sge.qstat": "aolLv", "sge.hosts": "aolLv", "sge.submit": "ao",
    "sge.scale": "ao", "sge.history": "aolLv",
    "events.list": "aolLv",
}
WHO = {"a": ADAM, "o": OLGA, "L": ALICE, "l": LARA, "v": BOB}


@pytest.fixture
def labs(store: Store) -> Store:
    """Lab os1, owned by alice; lab old, made before roles (no owner)."""
    net = store.networks.add("labnet", "127.0.4.10", "127.0.4.15")
    store.labs.create("os1", None, net, [], "student%02i", None, {}, owner="alice",
                      owner_uid=ALICE.uid)
    store.labs.create("old", None, net, [], "student%02i", None, {})
    return store


def _allowed(caller: Caller, op: str, store: Store, lab: str | int = "os1") -> bool:
    try:
        authorize(caller, op, {"lab": lab} if op.startswith("lab.") and op not in (
            "lab.list", "lab.create") else {}, store, CFG)
    except Refused:
        return False
    return True


def test_the_table_covers_every_operation() -> None:
    assert set(EXPECTED) == set(access.OPS)


@pytest.mark.parametrize("lab", ["os1", 1, "1"])  # os1 is lab 1: by name, by id
@pytest.mark.parametrize("op", sorted(EXPECTED))
@pytest.mark.parametrize("who", sorted(WHO))
def test_every_role_and_operation(labs: Store, op: str, who: str, lab: str | int) -> None:
    assert _allowed(WHO[who], op, labs, lab) == (who in EXPECTED[op])


@pytest.mark.parametrize("op", sorted(EXPECTED))
def test_may_answers_as_authorize_does_for_the_console(op: str) -> None:
    roles = {"a": "admin", "o": "operator", "l": "labstaff", "v": "viewer"}
    assert {k for k, role in roles.items() if access.may(role, op)} == \
        set(EXPECTED[op]) - {"L"}
    assert access.may("labstaff", op, owns_lab=True) == ("L" in EXPECTED[op])
    assert not access.may(None, op)


@pytest.mark.parametrize("op", sorted(EXPECTED))
def test_a_user_in_no_role_gets_nothing_not_even_a_look(labs: Store, op: str) -> None:
    with pytest.raises(NoRole, match=r"you are not in any onetui role \(carol\); an admin "
                       r"adds you to one of the groups onetui-admin, onetui-labs, "
                       r"onetui-ops, onetui-view"):
        authorize(CAROL, op, {"lab": "os1"}, labs, CFG)


def test_a_lab_from_before_roles_is_for_admins_only(labs: Store) -> None:
    with pytest.raises(Refused, match=r"lab creds old: refused for alice \(labstaff\): needs "
                       r"admin, or labstaff owning the lab \(lab old has no owner"):
        authorize(ALICE, "lab.creds", {"lab": "old"}, labs, CFG)
    assert authorize(ADAM, "lab.creds", {"lab": "old"}, labs, CFG).passwords


def test_refusals_name_the_role_needed(labs: Store) -> None:
    with pytest.raises(Refused) as refused:
        authorize(BOB, "vm.action", {"action": "shutdown", "refs": [5]}, labs, CFG)
    assert str(refused.value) == "vm shutdown 5: refused for bob (viewer): needs operator"
    assert (refused.value.role, refused.value.needs) == ("viewer", "operator")
    with pytest.raises(Refused, match=r"^host update ursa03: refused for olga \(operator\): "
                       r"needs admin$"):
        authorize(OLGA, "host.update", {"name": "ursa03"}, labs, CFG)
    with pytest.raises(Refused, match=r"lab creds os1 --csv: refused for lara \(labstaff\): "
                       r"needs admin, or labstaff owning the lab \(lab os1 is alice's\)"):
        authorize(LARA, "lab.creds", {"lab": "os1", "format": "csv"}, labs, CFG)
    with pytest.raises(Refused, match=r"lab create os2: refused for bob \(viewer\): needs "
                       r"labstaff$"):
        authorize(BOB, "lab.create", {"name": "os2"}, labs, CFG)


def test_a_lab_for_someone_else_is_made_by_an_admin_only(labs: Store) -> None:
    assert authorize(ALICE, "lab.create", {"name": "os2", "owner": "alice"}, labs,
                     CFG).role == "labstaff"
    with pytest.raises(Refused, match=r"lab create os2 --owner lara: refused for alice "
                       r"\(labstaff\): needs admin \(only an admin creates a lab for someone "
                       r"else \(lara\)\)"):
        authorize(ALICE, "lab.create", {"name": "os2", "owner": "lara"}, labs, CFG)
    assert authorize(ADAM, "lab.create", {"name": "os2", "owner": "lara"}, labs,
                     CFG).role == "admin"


def test_the_seat_admin_account_and_orphan_termination_are_for_admins(labs: Store) -> None:
    assert authorize(ALICE, "lab.ssh", {"lab": "os1", "seat": 1}, labs, CFG)
    with pytest.raises(Refused, match="needs admin"):
        authorize(ALICE, "lab.ssh", {"lab": "os1", "seat": 1, "admin": True}, labs, CFG)
    assert authorize(BOB, "ec2.orphans", {}, labs, CFG).role == "viewer"
    with pytest.raises(Refused, match=r"ec2 orphans --terminate: refused for olga "
                       r"\(operator\): needs admin"):
        authorize(OLGA, "ec2.orphans", {"terminate": True}, labs, CFG)


@pytest.mark.parametrize(("who", "lab", "passwords"), [
    (ADAM, "os1", True), (ALICE, "os1", True), (LARA, "os1", False), (OLGA, "os1", False),
    (BOB, "os1", False), (ALICE, None, False), (OLGA, None, False), (BOB, None, False)])
def test_reads_carry_passwords_only_for_admins_and_the_labs_owner(
        labs: Store, who: Caller, lab: str | None, passwords: bool) -> None:
    op, args = ("lab.show", {"lab": lab}) if lab else ("lab.list", {})
    assert authorize(who, op, args, labs, CFG).passwords is passwords


def test_without_passwords_drops_them_however_deep() -> None:
    data = {"name": "os1", "seats": [{"user": "s1", "password": "abcd-efgh-ijkm"}],
            "passwords": {"1": "x"}, "nested": ({"password": "y", "ip": "10.0.0.1"},),
            "admin_password": "ap", "config": {"secret_access_key": "sk", "region": "r1",
                                               "access_token": "t"},
            "attrs": {"USERDATA": {"ROOT_PW": "pw"}, "userdata_vars": {"K": "v"},
                      "CPU": 1}, "admin_key": "/etc/onetui/id_ed25519"}
    assert access.without_passwords(data) == {
        "name": "os1", "seats": [{"user": "s1"}], "nested": [{"ip": "10.0.0.1"}],
        "config": {"region": "r1"}, "attrs": {"CPU": 1}}


def test_unknown_operations_and_labs_are_clear_errors(labs: Store) -> None:
    with pytest.raises(UserError, match=r"unknown operation 'vm\.explode'"):
        authorize(ADAM, "vm.explode", {}, labs, CFG)
    with pytest.raises(NotFound):
        authorize(ALICE, "lab.creds", {"lab": "nope"}, labs, CFG)


# -- roles from groups -----------------------------------------------------------------------

def test_role_of_takes_the_first_role_whose_group_the_user_is_in() -> None:
    assert access.role_of("root", (), {}) is None  # a name is nobody: root is admin by uid
    assert access.role_of("olga", ("onetui-view", "onetui-ops"), CFG) == "operator"
    assert access.role_of("carol", ("users",), CFG) is None
    cfg = {"roles": {"operator": ["wheel"], "viewer": "staff"}}
    assert access.role_of("dave", ("staff",), cfg) == "viewer"
    assert access.role_of("erin", ("wheel",), cfg) == "operator"
    assert access.role_of("adam", ("onetui-admin",), cfg) is None  # only what [roles] says
    assert access.role_of("adam", ("onetui-admin",), {}) == "admin"  # no [roles]: defaults


@pytest.mark.parametrize(("roles", "message"), [
    ({"boss": ["wheel"]}, r"config \[roles\] boss: no such role; expected one of admin, "
                          r"operator, labstaff, viewer"),
    ({"admin": [1, 2]}, r"config \[roles\] admin: expected a list of unix group names"),
    ({"viewer": [""]}, r"config \[roles\] viewer: expected a list of unix group names"),
    ("admin", r"config \[roles\]: expected a table")])
def test_a_wrong_roles_table_is_one_line_naming_the_key(roles: object, message: str) -> None:
    with pytest.raises(UserError, match=message):
        access.role_of("adam", ("wheel",), {"roles": roles})


def test_root_and_the_owner_of_the_store_file_are_admins(labs: Store) -> None:
    root = Caller(0, 0, 1, "root", ("root",))
    assert authorize(root, "host.delete", {}, labs, {"roles": {}}).role == "admin"
    owner = Caller(4242, 4242, 2, "u4242", ())
    with pytest.raises(NoRole):
        authorize(owner, "vm.list", {}, labs, {"roles": {}})
    os.chown(labs.path, 4242, 4242)
    assert authorize(owner, "host.delete", {}, labs, {"roles": {}}).role == "admin"


def test_a_caller_from_peer_credentials_has_its_groups_from_the_system() -> None:
    me = Caller.current()
    assert (me.uid, me.pid) == (os.getuid(), os.getpid())
    assert me.user == "root" and "root" in me.groups
    nobody = Caller.from_peer(59999, 59999, 1)  # a uid with no passwd entry
    assert nobody.user == "59999" and nobody.groups == ()
    lost = Caller.from_peer(59999, 0, 1)  # ... whatever gid its process has
    assert lost.groups == ()


def test_the_peers_gid_is_not_a_group_the_user_is_in() -> None:
    """A process may run with any gid it could setgid to; the groups come from the uid's
    passwd and group entries only: nobody with gid 0 is not in group root."""
    import pwd

    entry = pwd.getpwnam("nobody")
    caller = Caller.from_peer(entry.pw_uid, 0, 1)
    assert caller.user == "nobody" and "root" not in caller.groups
    assert access.role_of(caller.user, caller.groups, {"roles": {"admin": ["root"]}}) is None


def test_a_user_named_root_is_not_admin(labs: Store) -> None:
    fake = Caller(5009, 5009, 1, "root", ("users",))
    with pytest.raises(NoRole):
        authorize(fake, "vm.list", {}, labs, CFG)


def test_a_lab_is_owned_by_uid_not_by_name(labs: Store) -> None:
    """An account deleted and made again under the same name is someone else."""
    again = Caller(6003, 6003, 1, "alice", ("alice", "onetui-labs"))
    with pytest.raises(Refused, match=r"lab os1 is alice's"):
        authorize(again, "lab.creds", {"lab": "os1"}, labs, CFG)
    assert not authorize(again, "lab.show", {"lab": "os1"}, labs, CFG).passwords


def test_labs_are_reached_by_id_or_by_name_never_one_for_the_other(store: Store) -> None:
    """Lab 1 is adam's; alice's lab 2 would have been named "1" if names could be digits
    only: `1` is lab 1 for everyone, and the grant carries the lab that was checked."""
    net = store.networks.add("labnet", "127.0.4.10", "127.0.4.15")
    store.labs.create("os1", None, net, [], "student%02i", None, {}, owner="adam",
                      owner_uid=ADAM.uid)
    with pytest.raises(UserError, match=r"^lab name '1': expected at least one letter"):
        store.labs.create("1", None, net, [], "student%02i", None, {}, owner="alice",
                          owner_uid=ALICE.uid)
    store.labs.create("a1", None, net, [], "student%02i", None, {}, owner="alice",
                      owner_uid=ALICE.uid)
    for ref in (1, "1", "os1"):
        with pytest.raises(Refused, match=r"is adam's"):
            authorize(ALICE, "lab.creds", {"lab": ref}, store, CFG)
    for ref in (2, "2", "a1"):
        grant = authorize(ALICE, "lab.creds", {"lab": ref}, store, CFG)
        assert grant.lab is not None and (grant.lab.id, grant.lab.name) == (2, "a1")
    with pytest.raises(NotFound):
        authorize(ALICE, "lab.creds", {"lab": 9}, store, CFG)


def test_the_daemons_own_keys_and_ssh_settings_are_for_admins(labs: Store) -> None:
    for key, value in (("admin_key", "/root/.ssh/id_ed25519"), ("admin_user", "root"),
                       ("ssh_timeout", 5.0)):
        flag = "--" + key.replace("_", "-")
        with pytest.raises(Refused, match=rf"^lab create os2: refused for alice \(labstaff\): "
                           rf"needs admin \({flag}: the daemon's own keys"):
            authorize(ALICE, "lab.create", {"name": "os2", key: value}, labs, CFG)
        assert authorize(ADAM, "lab.create", {"name": "os2", key: value}, labs,
                         CFG).role == "admin"


# -- every command has its operation -----------------------------------------------------------

def _leaves(group: click.Group, ctx: click.Context, prefix: str = "") -> list[str]:
    out = []
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        path = f"{prefix}{name}"
        if isinstance(cmd, click.Group):
            out += _leaves(cmd, ctx, path + " ")
        else:
            out.append(path)
    return out


def test_every_command_of_the_cli_is_an_operation_or_local() -> None:
    from onetui.cli import cli

    commands = set(_leaves(cli, click.Context(cli)))
    assert commands == set(access.COMMAND_OPS) | access.LOCAL_COMMANDS
    assert set(access.COMMAND_OPS.values()) <= set(access.OPS)


# -- the audit trail ---------------------------------------------------------------------------

def test_audit_events_name_the_user_role_and_pid(labs: Store) -> None:
    grant = authorize(ALICE, "lab.creds", {"lab": "os1", "format": "csv"}, labs, CFG)
    assert [op for op in access.OPS if access.should_audit(op)] == [
        op for op, who in EXPECTED.items() if who != "aolLv"]  # all but what everyone may
    access.audit(labs, ALICE, grant.role, "lab.creds", {"lab": "os1", "format": "csv"},
                 outcome="12 seats", obj_id=grant.lab.id if grant.lab else None)
    args = {"action": "shutdown", "refs": ["5"]}
    with pytest.raises(Refused) as refused:
        authorize(BOB, "vm.action", args, labs, CFG)
    access.audit_refusal(labs, BOB, refused.value, "vm.action", args, obj_id=5)
    with pytest.raises(NoRole) as no_role:
        authorize(CAROL, "lab.list", {}, labs, CFG)
    access.audit_refusal(labs, CAROL, no_role.value, "lab.list", {})

    events = labs.events.tail(3)
    assert [(e.kind, e.obj_id, e.level, e.user, e.pid, e.message) for e in events] == [
        ("lab", 1, "info", "alice", 103, "alice (labstaff): lab creds os1 --csv (12 seats)"),
        ("vm", 5, "warning", "bob", 105, "bob (viewer): refused vm shutdown 5 (needs operator)"),
        ("lab", None, "warning", "carol", 106, "carol (no role): refused lab list (needs a role)"),
    ]
    assert [e.message for e in labs.events.tail(10, user="bob")] == [
        "bob (viewer): refused vm shutdown 5 (needs operator)"]


def test_command_text_never_carries_a_secret_or_a_control_character() -> None:
    text = access.command_text("lab.create", {
        "name": "os1\n2026-11-29 alice (admin): host delete all", "admin_key": "/k",
        "password": "hunter2", "root_token": "t0k", "seats": 3, "hold": False})
    assert "\n" not in text and "hunter2" not in text and "t0k" not in text
    assert text.startswith("lab create os1\\n2026-11-29") and "--seats 3" in text
    assert "--hold" not in text and "/k" not in text
    assert len(access.command_text("vm.create", {"name": "x" * 999})) <= 200


@pytest.mark.parametrize(("op", "args", "secret"), [
    ("host.create", {"name": "aws1", "driver": "ec2",
                     "config": {"secret_access_key": "AKIASECRET", "region": "r"}}, "AKIASECRET"),
    ("template.update", {"name": "t1", "body": "USERDATA=[ROOT_PW=hunter2]"}, "hunter2"),
    ("template.create", {"name": "t1", "body": 'USERDATA = [ ROOT_PW = "hunter2" ]'}, "hunter2"),
    ("ssh.trust", {"host": "h1", "key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB"}, "AAAAC3Nz"),
    ("ssh.trust", {"name": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB"}, "AAAAC3Nz"),
    ("host.update", {"name": "aws1", "user_data": "#cloud-config\npassword: x"}, "cloud"),
    ("host.update", {"name": "aws1", "userdata_var": ["ROOT_PW=hunter2"]}, "hunter2"),
    ("vm.create", {"name": "v", "requirements": ["ROOT_PW=hunter2"]}, "hunter2"),
])
def test_command_text_shows_only_the_operations_own_options(
        op: str, args: dict[str, Any], secret: str) -> None:
    text = access.command_text(op, args)
    assert secret not in text
    assert "{" not in text and "[" not in text  # no dict or list is ever stringified


def test_command_text_escapes_c1_and_bidi_controls() -> None:
    text = access.command_text("vm.create", {"name": "evil\x9b31m\u202etxt.exe\u2066"})
    assert text == "vm create evil\\x9b31m\\u202etxt.exe\\u2066"


def test_the_journal_line_of_an_event_escapes_controls(store: Store) -> None:
    from onetui.cli.serve_cmd import EventLog

    store.events.add("vm", 7, "VM x\x1b[2J\u202efdp.exe\rengine: all fine")
    log = EventLog(store, journal=True)
    (event,) = store.events.tail(1)
    line = log.line(event)
    assert line == "<6>vm 7: VM x\\x1b[2J\\u202efdp.exe engine: all fine"


def test_events_written_while_acting_for_a_caller_name_them(labs: Store, tmp_path: Path) -> None:
    import threading

    from onetui.store.events import acting

    with acting("olga", 777):
        labs.hosts.add("ursa03", "libvirt", {"uri": "test:///default"})
        other = threading.Thread(target=labs.events.add, args=("engine", None, "a pass"))
        other.start()  # another thread (the engine's) is not the caller's
        other.join()
    labs.events.add("engine", None, "after")
    newest = labs.events.tail(3)
    assert [(e.message, e.user, e.pid) for e in newest] == [
        ("host ursa03 created (libvirt)", "olga", 777), ("a pass", "", None), ("after", "", None)]
