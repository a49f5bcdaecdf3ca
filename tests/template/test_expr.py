"""REQUIREMENTS and RANK as the scheduler evaluates them against host attributes."""

from __future__ import annotations

import math

import pytest

from onetui.template import TemplateError, parse_rank, parse_requirements

HOST = {"HOSTNAME": "ursa03", "TCPU": 800, "FMEM": "4096", "RACK": "r1",
        "PCI": ["10de", "8086"], "TAGS": "gpu,ssd"}


@pytest.mark.parametrize(("expr", "expected"), [
    ('HOSTNAME = "ursa03"', True),
    ('HOSTNAME = "ursa*"', True),
    ('HOSTNAME = "ur?a0[0-3]"', True),
    ('HOSTNAME != "ursa*"', False),
    ("HOSTNAME = ursa03", True),  # a bare word is a string
    ("TCPU > 400", True),
    ("TCPU < 400", False),
    ("FMEM >= 4096", True),  # numeric strings compare as numbers
    ("FMEM > 10000", False),
    ("TCPU = 800.0", True),
    ("TCPU > -1", True),
    ('PCI @> "10de"', True),
    ('PCI @> "1234"', False),
    ('TAGS @> "ssd"', True),
    ('MISSING = "x"', False),
    ('MISSING != "x"', False),  # a missing attribute makes any comparison false
    ('!(MISSING = "x")', True),
    ('TCPU > 400 & RACK = "r1"', True),
    ('TCPU > 900 | RACK = "r1"', True),
    ('TCPU > 900 | RACK = "r2" & TCPU > 1', False),
    ('!TCPU > 900 & (RACK = "r2" | HOSTNAME = "ursa*")', True),
    ("hostname = ursa03", True),  # attribute names are case-insensitive
    ("", True),
])
def test_requirements(expr: str, expected: bool) -> None:
    assert parse_requirements(expr).evaluate(HOST) is expected


def test_explain_names_the_false_clauses() -> None:
    req = parse_requirements('TCPU > 400 & RACK = "r2" & FMEM > 9000')
    assert req.explain(HOST) == ['RACK = "r2"', "FMEM > 9000"]
    assert parse_requirements('RACK = "r2" | TCPU < 10').explain(HOST) == [
        'RACK = "r2"', "TCPU < 10"]
    assert parse_requirements('!(RACK = "r1")').explain(HOST) == ['!(RACK = "r1")']
    assert parse_requirements("TCPU > 1").explain(HOST) == []


@pytest.mark.parametrize(("expr", "value"), [
    ("TCPU", 800), ("- TCPU", -800), ("TCPU / 2 + FMEM * 2", 400 + 8192),
    ("(1 + 2) * 3", 9), ("-(1 - 3)", 2), ("MISSING + 1", 1), ("TCPU / 0", 0),
    ("HOSTNAME", 0), ("", 0), ("2 * -3", -6),
])
def test_rank(expr: str, value: float) -> None:
    assert parse_rank(expr).evaluate(HOST) == value


ODD = {"YES": True, "BIG": 10**400, "NEG": -0.0, "SPACED": " 12 ", "WORD": "fast",
       "LIST": [1, 2], "ZERO": 0, "HUGE": 1e308}


@pytest.mark.parametrize("expr", [
    "TCPU", "- TCPU", "TCPU / 2 + FMEM * 2", "(1 + 2) * 3", "-(1 - 3)", "MISSING + 1",
    "TCPU / 0", "HOSTNAME", "", "2 * -3", "TCPU - FMEM / (TCPU - 800)", "YES + 1", "BIG",
    "1 / NEG", "SPACED * 2", "WORD - 1", "LIST", "ZERO", "1 / ZERO", "HUGE * HUGE",
    "HUGE * HUGE - HUGE * HUGE", "-(-(-TCPU))", "TCPU * 1.5 / 3 - 2 + RACK",
])
def test_a_compiled_rank_gives_what_evaluate_gives(expr: str) -> None:
    attrs = {**HOST, **ODD}
    compiled = parse_rank(expr).compile(lambda name: lambda d: d.get(name))
    want, got = parse_rank(expr).evaluate(attrs), compiled(attrs)
    assert got == want or (math.isnan(got) and math.isnan(want))
    assert isinstance(got, float)


@pytest.mark.parametrize(("expr", "trend"), [
    ("", 0), ("TCPU", 0), ("FREECPU", -1), ("- FREECPU", 1), ("RVM", 1),
    ("- RVM", -1), ("FREECPU / 1024 + FREECPU", -1), ("FREECPU - RVM", -1),
    ("RVM - FREECPU", 1), ("FREECPU + RVM", None), ("FREECPU * TCPU", None),
    ("2 * FREECPU", -1), ("-2 * FREECPU", 1), ("FREECPU / -4", 1), ("FREECPU / 0", 0),
    ("FREECPU * 0", 0), ("(TCPU + 1) * TCPU", 0), ("TCPU / FREECPU", None),
    ("FREECPU - FREECPU", None), ("-(FREECPU - TCPU) * 3", 1),
])
def test_rank_trend_says_which_way_a_rank_can_go(expr: str, trend: int | None) -> None:
    rank = parse_rank(expr)
    assert rank.trend({"RVM"}, {"FREECPU"}) == trend
    before = rank.evaluate({"TCPU": 800, "FREECPU": 700, "RVM": 1})
    after = rank.evaluate({"TCPU": 800, "FREECPU": 600, "RVM": 3})
    if trend == 1:
        assert after >= before
    elif trend == -1:
        assert after <= before
    elif trend == 0:
        assert after == before


@pytest.mark.parametrize(("expr", "message"), [
    ("TCPU >", "x:3:11: expected a value after '>', found end of expression"),
    ("TCPU 5", "x:3:10: expected a comparison (=, !=, >, <, @>) after TCPU, found '5'"),
    ("(TCPU > 1", "x:3:14: expected ')' to close '(' at 3:5, found end of expression"),
    ("TCPU > 1)", "x:3:13: unexpected ')'"),
    ('A = "open', "x:3:9: unterminated string"),
    ("A = 1 $", "x:3:11: unexpected '$'"),
    ("(" * 500 + "A = 1" + ")" * 500, "x:3:105: expression nested too deeply"),
])
def test_requirement_errors_carry_positions(expr: str, message: str) -> None:
    with pytest.raises(TemplateError) as exc:
        parse_requirements(expr, "x", 3, 5)
    assert str(exc.value) == message


def test_rank_errors() -> None:
    with pytest.raises(TemplateError, match=r"r:1:7: unexpected '\)'"):
        parse_rank("1 + 2 )", "r")
