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
    assert "owned by daemon" in store.events.tail(5, kinds=("lab",))[-1].message


def test_an_owner_who_is_no_user_here_is_refused_and_nothing_is_made(
        store: Store, lab_env: Engine, state_dir: Path) -> None:  # noqa: F811
    bad = onetui("lab", "create", "os1", "--template", "master", "--seats", "2", "--owner",
                 "no-such-user-x", state=state_dir, check=False)
    assert bad.returncode == 2
    assert bad.stderr == "onetui: --owner 'no-such-user-x': no such unix user on this host\n"
    assert store.labs.list() == [] and store.vms.list() == []
