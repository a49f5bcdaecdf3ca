"""The template language as admins write it, and every error with its place."""

from __future__ import annotations

from pathlib import Path

import pytest

from onetui.data import SEED_TEMPLATES, TEMPLATES
from onetui.template import TemplateError, Vector, load, parse, validate


def err(text: str) -> str:
    with pytest.raises(TemplateError) as exc:
        validate(parse(text, "t"))
    return str(exc.value)


def test_the_seed_templates_load_unchanged() -> None:
    sge = load(TEMPLATES / "sgehost01.template")
    disks = sge.get_all("DISK")
    assert [d.get("source") for d in disks] == [
        "/local/xen/domains/xen/domains/sgehost/disk.img",
        "/local/xen/domains/xen/domains/sgehost/swap.img"]
    assert [d.get("TARGET") for d in disks] == ["sda1", "sda2"]
    assert sge.get("NIC") == Vector((("MAC", "00:16:3e:01:01:03"),))
    assert sge.get("OS").get("boot") == "hd"
    local = load(TEMPLATES / "xen.local01")
    assert (local.get("CPU"), local.get("MEMORY")) == ("0.5", "128")
    assert local.get("OS").get("INITRD") == "/boot/initrd"  # `initrd= "/boot/initrd"`
    ec2 = load(TEMPLATES / "ec2.template")
    assert ec2.get("REQUIREMENTS") == 'HOSTNAME = "ec2"'
    assert ec2.get("EC2").get("AUTHORIZED_PORTS") == "22-25"
    assert load(TEMPLATES / "sge-ec2.template").get("EC2").get("ELASTICIP") == "75.101.155.97"
    for name in SEED_TEMPLATES:
        validate(load(TEMPLATES / name))


def test_values_quotes_comments_and_case() -> None:
    tpl = parse('cpu = 1 # one core\n'
                'Name = "web \\"front\\" \\\\ end"\n'
                "REQ = 'A = \"b\"'\n"
                'MULTI = "line one\nline two"\n'
                "EMPTY =\n"
                "EMPTY2 = # nothing\n"
                "BARE = some words here\n")
    assert tpl.pairs() == [
        ("CPU", "1"), ("NAME", 'web "front" \\ end'), ("REQ", 'A = "b"'),
        ("MULTI", "line one\nline two"), ("EMPTY", ""), ("EMPTY2", ""),
        ("BARE", "some words here")]


def test_vectors_span_lines_repeat_and_keep_order() -> None:
    tpl = parse("DISK = [\n  source = a ,\n  target\n = sda,\n]\n"
                "DISK=[source=b]\r\nNIC = [ ]\n")
    assert tpl.get_all("DISK") == [Vector((("SOURCE", "a"), ("TARGET", "sda"))),
                                   Vector((("SOURCE", "b"),))]
    assert tpl.get("NIC") == Vector(())
    assert tpl.to_json_obj() == {"DISK": [{"SOURCE": "a", "TARGET": "sda"}, {"SOURCE": "b"}],
                                 "NIC": {}}


def test_positions_are_kept_for_messages() -> None:
    tpl = parse('CPU = 1\n\n  MEMORY = "64"\n')
    attr = tpl.attribute("memory")
    assert (attr.line, attr.col, attr.value_line, attr.value_col) == (3, 3, 3, 13)


@pytest.mark.parametrize(("text", "message"), [
    ('CPU = 1\nDISK = [source="/images/local01.disk",target="sda"\n',
     "t:3:1: expected ']' to close the vector attribute DISK opened at 2:1"),
    ("DISK = [source=a target=b]",
     "t:1:18: expected ',' or ']' in the vector attribute DISK opened at 1:1, found 't'"),
    ("DISK = [source=a\nNIC = [mac=b]",
     "t:2:1: expected ',' or ']' in the vector attribute DISK opened at 1:1, found 'N'"),
    ("DISK = [source=[x]]",
     "t:1:16: expected ']' to close the vector attribute DISK opened at 1:1 "
     "(vector attributes do not nest)"),
    ("CPU 1", "t:1:5: expected '=' after CPU, found '1'"),
    ("\n= 3", "t:2:1: expected an attribute name, found '='"),
    ('A = "abc\n\n', "t:1:5: unterminated string started at 1:5"),
    ('A = "x" y', "t:1:9: unexpected 'y' after the value of A"),
    ("A = [k=1] z", "t:1:11: unexpected 'z' after the vector attribute A"),
    ("A = [1=2]", "t:1:6: expected ']' to close the vector attribute A opened at 1:1, found '1'"),
    ("A = [k 2]", "t:1:8: expected '=' after K in the vector attribute A, found '2'"),
    ('CPU=1\nREQUIREMENTS = "HOSTNAME = "', "t:2:28: expected a value after '=', found end "
     "of expression"),
    ("REQUIREMENTS = [a=b]", "t:1:1: REQUIREMENTS must be an expression, not a vector "
     "attribute"),
    ("RANK = FREECPU +", "t:1:17: expected a number, an attribute or '(', found end of "
     "expression"),
    ("REQUIREMENTS = A = 1\nREQUIREMENTS = B = 1",
     "t:2:1: REQUIREMENTS given more than once"),
])
def test_errors_say_where_and_what_was_expected(text: str, message: str) -> None:
    assert err(text) == message


def test_expression_errors_map_to_their_line_in_the_file() -> None:
    text = ("CPU = 1\nMEMORY = 64\n\n\nREQUIREMENTS = 'TCPU > 100 &\n"
            "   (HOSTNAME = \"ursa*\" | )'\n")
    assert err(text) == "t:6:26: expected an attribute name, found ')'"


def test_files_that_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match=r"nope.template: no such file$"):
        load(tmp_path / "nope.template")
    bad = tmp_path / "latin1.template"
    bad.write_bytes(b"CPU = 1\nNAME = caf\xe9\n")
    with pytest.raises(TemplateError, match=r"latin1.template:2:11: not UTF-8 text"):
        load(bad)
