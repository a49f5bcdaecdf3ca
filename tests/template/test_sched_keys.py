"""SCHED_REQUIREMENTS and SCHED_RANK (what OpenNebula 4 and later write) are read as
REQUIREMENTS and RANK: they constrain and order placement, never silently ignored; a
template giving both names must give the same expression."""

from __future__ import annotations

import pytest

from onetui.engine.placement import request_for
from onetui.engine.scheduler import HostView, schedule
from onetui.ops.instantiate import Source, specs
from onetui.template import TemplateError, parse, rank_of, requirements_of
from onetui.template.validate import validate


def hosts() -> list[HostView]:
    return [HostView(1, "ursa03", "libvirt", 800, 16384, attrs={"RACK": "r1"}),
            HostView(2, "ursa04", "libvirt", 400, 8192, attrs={"RACK": "r2"})]


def place(text: str) -> tuple[dict[int, int], dict[str, str]]:
    tpl = parse(text, "t.tpl")
    validate(tpl)
    d = schedule([request_for(7, 1, 512, tpl)], hosts())
    return d.placements, {r["host"]: r["reason"] for r in d.pending.get(7, [])}


def test_sched_requirements_constrains_placement() -> None:
    placed, _ = place('CPU = 1\nMEMORY = 512\nSCHED_REQUIREMENTS = "RACK = \\"r2\\""\n')
    assert placed == {7: 2}
    placed, why = place('CPU = 1\nMEMORY = 512\nSCHED_REQUIREMENTS = "RACK = \\"r9\\""\n')
    assert placed == {}
    assert why == {"ursa03": 'REQUIREMENTS false: RACK = "r9"',
                   "ursa04": 'REQUIREMENTS false: RACK = "r9"'}


def test_sched_rank_orders_the_hosts() -> None:
    # without a rank, the default packs onto the host running most VMs (a tie: the first)
    assert place("CPU = 1\nMEMORY = 512\n")[0] == {7: 1}
    assert place('CPU = 1\nMEMORY = 512\nSCHED_RANK = "- TCPU"\n')[0] == {7: 2}


def test_the_same_expression_under_both_names_is_accepted() -> None:
    tpl = parse('MEMORY = 512\nREQUIREMENTS = "RACK = r2"\nSCHED_REQUIREMENTS = " RACK = r2 "\n'
                'RANK = "FREECPU"\nSCHED_RANK = "FREECPU"\n', "t.tpl")
    validate(tpl)
    req, rank = requirements_of(tpl), rank_of(tpl)
    assert req is not None and rank is not None
    assert (req.text, rank.text) == ("RACK = r2", "FREECPU")


@pytest.mark.parametrize(("name", "first", "second"), [
    ("REQUIREMENTS", "RACK = r1", "RACK = r2"),
    ("RANK", "FREECPU", "- FREECPU"),
])
def test_different_expressions_under_both_names_are_refused_naming_both_lines(
        name: str, first: str, second: str) -> None:
    text = f'MEMORY = 512\n{name} = "{first}"\nCPU = 1\nSCHED_{name} = "{second}"\n'
    with pytest.raises(TemplateError) as err:
        validate(parse(text, "t.tpl"))
    assert str(err.value) == (f"t.tpl:4:1: {name} (line 2) and SCHED_{name} (line 4) differ: "
                              "they are the same setting, keep one")


def test_a_broken_sched_requirements_is_refused_at_its_place() -> None:
    with pytest.raises(TemplateError) as err:
        validate(parse('CPU = 1\nMEMORY = 64\nSCHED_REQUIREMENTS = "FREECPU >"\n', "t.tpl"))
    assert str(err.value).startswith("t.tpl:3:")


def test_sched_requirements_given_twice_is_refused() -> None:
    with pytest.raises(TemplateError, match="SCHED_REQUIREMENTS given more than once"):
        validate(parse('MEMORY = 64\nSCHED_REQUIREMENTS = "A = 1"\n'
                       'SCHED_REQUIREMENTS = "A = 2"\n', "t.tpl"))


def test_requirements_given_at_create_replace_sched_requirements() -> None:
    """`vm create --requirements` (and the console's form) replace the template's, under
    either name: the VM gets what was given, not a refusal that the two differ."""
    tpl = parse('MEMORY = 64\nSCHED_REQUIREMENTS = "RACK = r1"\n', "t.tpl")
    made = specs(Source(tpl, None, "t.tpl"), overrides={"REQUIREMENTS": "RACK = r2"})
    body = parse(made[0]["body"], "vm")
    assert body.get("SCHED_REQUIREMENTS") is None
    req = requirements_of(body)
    assert req is not None and req.text == "RACK = r2"
