"""`lab create --owner USER`: a lab records the unix user it belongs to (by default whoever
made it), shown by `lab show` and `lab list`; an owner that is no user here is refused."""

from __future__ import annotations

import json
import os
import pwd
from pathlib import Path

from onetui.engine.loop import Engine
from onetui.store import Store
from tests.beds.cli import onetui
from tests.ops.test_labs import lab_env  # noqa: F401  (the fixture)


def test_a_lab_belongs_to_its_maker_or_to_the_owner_given(store: Store, lab_env: Engine,  # noqa: F811
                                                          state_dir: Path) -> None:
    me = pwd.getpwuid(os.getuid()).pw_name
    onetui("lab", "create", "os1", "--template", "master", "--seats", "1", state=state_dir)
    onetui("lab", "create", "os2", "--template", "master", "--seats", "1", "--owner", "daemon",
           state=state_dir)
    assert json.loads(onetui("lab", "show", "os1", "--json", state=state_dir).stdout
                      )["owner"] == me
    listed = json.loads(onetui("lab", "list", "--json", state=state_dir).stdout)
    assert [(lab["name"], lab["owner"]) for lab in listed] == [("os1", me), ("os2", "daemon")]
    text = onetui("lab", "list", state=state_dir).stdout.splitlines()
    assert text[0].split()[:3] == ["ID", "NAME", "OWNER"] and text[2].split()[:3] == [
        "2", "os2", "daemon"]
    assert "OWNER    : daemon" in onetui("lab", "show", "os2", state=state_dir).stdout
    lab_events = [e.message for e in store.events.tail(5, kinds=("lab",))]
    assert any("owned by daemon" in m for m in lab_events), lab_events
    assert lab_events[-1] == (f"{me} (admin): lab create os2 --template master --seats 1 "
                              "--owner daemon")


def test_an_owner_who_is_no_user_here_is_refused_and_nothing_is_made(
        store: Store, lab_env: Engine, state_dir: Path) -> None:  # noqa: F811
    bad = onetui("lab", "create", "os1", "--template", "master", "--seats", "2", "--owner",
                 "no-such-user-x", state=state_dir, check=False)
    assert bad.returncode == 2
    assert bad.stderr == "onetui: --owner 'no-such-user-x': no such unix user on this host\n"
    assert store.labs.list() == [] and store.vms.list() == []


def test_a_lab_name_of_digits_only_is_refused_and_nothing_is_made(
        store: Store, lab_env: Engine, state_dir: Path) -> None:  # noqa: F811
    """`1` is lab 1: a lab called "1" would be another lab under the same reference."""
    bad = onetui("lab", "create", "1", "--template", "master", "--seats", "1",
                 state=state_dir, check=False)
    assert bad.returncode == 2
    assert bad.stderr == ("onetui: lab name '1': expected at least one letter, '.', '_' or "
                          "'-' (digits alone are a lab's id)\n")
    assert store.labs.list() == [] and store.vms.list() == []


def test_a_lab_is_reached_by_its_id_and_owned_by_uid(
        store: Store, lab_env: Engine, state_dir: Path) -> None:  # noqa: F811
    onetui("lab", "create", "os1", "--template", "master", "--seats", "1", "--owner",
           "daemon", state=state_dir)
    onetui("lab", "create", "2os", "--template", "master", "--seats", "1", state=state_dir)
    assert store.labs.get("os1").owner_uid == pwd.getpwnam("daemon").pw_uid
    assert store.labs.get("2os").owner_uid == os.getuid()
    assert json.loads(onetui("lab", "show", "2", "--json", state=state_dir).stdout
                      )["name"] == "2os"
    out = onetui("lab", "destroy", "1", state=state_dir).stdout
    assert out.startswith("lab os1: destroying")
    assert store.labs.get("2os").state == "active"


def test_an_operation_acts_on_the_lab_it_was_granted(store: Store, lab_env: Engine) -> None:  # noqa: F811
    """The grant's lab is read again by its id: a name given to another lab meanwhile
    changes nothing."""
    from onetui.ops import labs
    from tests.ops.test_labs import spec

    first = labs.create(store, spec("os1", seats=1))
    labs.destroy(store, first)  # by the record: its id (no VM ran: gone at once)
    assert store.labs.find(first.id) is None
    second = labs.create(store, spec("os1", seats=1))  # the name again, another lab
    assert second.id != first.id
    assert labs.destroy(store, first) == "lab os1: destroyed already"
    assert store.labs.get(second.id).state == "active"
    assert "new password" in labs.reset_password(store, second, 1)
