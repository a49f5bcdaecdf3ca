"""From a template to VM intents: names, sizes, and errors before anything is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from onetui.errors import UserError
from onetui.model import expand_name
from onetui.ops import instantiate
from onetui.store import Store
from onetui.template import TemplateError

LOCAL = 'CPU = 0.5\nMEMORY = 128\nOS = [kernel="/boot/vmlinuz", root="sda1"]\n'


def test_expand_name_patterns() -> None:
    assert expand_name("web-%i", 3) == "web-3"
    assert expand_name("lab-%02i", 3) == "lab-03"
    assert expand_name("plain", 3) == "plain"


def test_create_from_stored_template_and_file(store: Store, tmp_path: Path) -> None:
    store.templates.add("web", LOCAL)
    ids = instantiate.create(store, "web", count=3, name="web-%i")
    vms = store.vms.by_ids(ids)
    assert [v.name for v in vms] == ["web-0", "web-1", "web-2"]
    assert all(v.state == "pend" and v.cpu == 0.5 and v.memory == 128 for v in vms)
    f = tmp_path / "one.template"
    f.write_text("CPU=1\nMEMORY=64\n")
    (vid,) = instantiate.create(store, str(f), hold=True)
    v = store.vms.get(vid)
    assert (v.name, v.state, v.template_id) == (f"one-{vid}", "hold", None)


def test_bad_sizes_point_at_the_value(store: Store, tmp_path: Path) -> None:
    f = tmp_path / "bad.template"
    f.write_text("CPU = 1\nMEMORY = lots\n")
    with pytest.raises(TemplateError) as err:
        instantiate.create(store, str(f))
    assert str(err.value) == f"{f}:2:10: MEMORY: expected a positive whole number, found 'lots'"
    assert store.vms.list() == []


def test_several_vms_need_a_pattern_and_unknown_refs_are_named(store: Store) -> None:
    store.templates.add("web", LOCAL)
    with pytest.raises(UserError, match="need a pattern with %i"):
        instantiate.create(store, "web", count=2, name="same")
    with pytest.raises(UserError, match="no template 'nope'"):
        instantiate.create(store, "nope")
    with pytest.raises(UserError, match="VM name 'bad name; rm'"):
        instantiate.create(store, "web", name="bad name; rm")
    assert store.vms.list() == []
