"""From a template to VM intents: names, sizes, and errors before anything is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from onetui.errors import UserError
from onetui.model import expand_name
from onetui.ops import instantiate
from onetui.store import Store
from onetui.template import TemplateError, load, validate

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
    assert str(err.value) == (f"{f}:2:10: MEMORY: expected a whole number above 0 and at "
                              "most 16,777,216 MB, found 'lots'")
    assert store.vms.list() == []


@pytest.mark.parametrize("line", [
    "CPU = nan", "CPU = inf", "CPU = 1e308", "CPU = 1_0", "CPU = -1", "CPU = 0", "CPU = 2000",
    "MEMORY = abc", "MEMORY = 0", "MEMORY = 99999999999999999999999999", "MEMORY = 1.5",
    "MEMORY = [ size = 1 ]",
])
def test_hostile_sizes_are_refused_the_same_by_validate_and_create(
        store: Store, tmp_path: Path, line: str) -> None:
    """What `template validate` accepts, `vm create` accepts: one check, at the value."""
    f = tmp_path / "hostile.template"
    body = {"CPU": "CPU = 1", "MEMORY": "MEMORY = 512"}
    body[line.split()[0]] = line
    f.write_text("\n".join(body.values()) + "\n")
    with pytest.raises(TemplateError) as by_validate:
        validate(load(str(f)))
    with pytest.raises(TemplateError) as by_create:
        instantiate.create(store, str(f))
    assert str(by_validate.value) == str(by_create.value)
    text = str(by_create.value)
    assert text.startswith(f"{f}:") and "Vector(" not in text
    assert store.vms.list() == []


def test_a_control_character_a_bom_and_a_huge_file(store: Store, tmp_path: Path) -> None:
    nul = tmp_path / "nul.template"
    nul.write_text('CPU = 1\nMEMORY = 64\nOS = [ kernel = "/boot/vm\x00linuz" ]\n')
    with pytest.raises(TemplateError, match=r"nul.template:3:\d+: OS.KERNEL: control char"):
        instantiate.create(store, str(nul))
    bom = tmp_path / "bom.template"
    bom.write_bytes(b"\xef\xbb\xbfCPU = 1\nMEMORY = 64\n")
    (vid,) = instantiate.create(store, str(bom))  # as Windows editors save it
    assert store.vms.get(vid).memory == 64
    big = tmp_path / "big.template"
    big.write_text("CPU = 1\nMEMORY = 64\n" + "# padding\n" * 40_000)
    with pytest.raises(TemplateError, match=r"big.template: larger than 256 KiB"):
        instantiate.create(store, str(big))


def test_counts_and_names_have_bounds(store: Store, tmp_path: Path) -> None:
    f = tmp_path / "one.template"
    f.write_text("CPU=1\nMEMORY=64\n")
    with pytest.raises(UserError, match="--count: expected 1 to 10000, got 100000000"):
        instantiate.create(store, str(f), count=100_000_000)
    with pytest.raises(UserError, match="expected %i or %0Ni with N from 1 to 8"):
        instantiate.create(store, str(f), count=2, name="w%99999999999999999999i")
    named = tmp_path / "named.template"
    named.write_text("CPU=1\nMEMORY=64\nNAME = \"" + "x" * 200_000 + "!\"\n")
    with pytest.raises(TemplateError) as err:
        instantiate.create(store, str(named))
    assert str(err.value).startswith(f"{named}:3:9: VM name 'xxxx")
    assert len(str(err.value)) < 300  # the 200 KB name is not echoed back
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
