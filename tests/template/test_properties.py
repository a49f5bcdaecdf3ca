"""Round trips and fuzzing: whatever the input, a template or a positioned error."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onetui.data import SEED_TEMPLATES, TEMPLATES
from onetui.template import (
    Attribute,
    Template,
    TemplateError,
    Vector,
    parse,
    parse_rank,
    parse_requirements,
    write,
)

names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_.\-]{0,12}", fullmatch=True).map(str.upper)
values = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)
vectors = st.lists(st.tuples(names, values), max_size=5).map(lambda items: Vector(tuple(items)))
templates = st.lists(st.tuples(names, st.one_of(values, vectors)), max_size=8).map(
    lambda pairs: Template([Attribute(n, v) for n, v in pairs]))


@pytest.mark.slow
@given(templates)
@settings(max_examples=400, deadline=None)
def test_parse_write_round_trip(tpl: Template) -> None:
    assert parse(write(tpl)) == tpl


def test_seed_templates_round_trip() -> None:
    for name in SEED_TEMPLATES:
        tpl = parse((TEMPLATES / name).read_text(), name)
        assert parse(write(tpl)) == tpl


ALPHABET = [*list('=[],"\'#\n \t\\abcXYZ019_-.@>!&|()'), "\r\n", "é", "\x00"]


def _mutate(text: str, rnd: random.Random) -> str:
    chars = list(text)
    for _ in range(rnd.randint(1, 6)):
        op = rnd.random()
        pos = rnd.randint(0, len(chars))
        if op < 0.4:
            chars.insert(pos, rnd.choice(ALPHABET))
        elif op < 0.7 and chars:
            del chars[min(pos, len(chars) - 1)]
        elif chars:
            chars[min(pos, len(chars) - 1)] = rnd.choice(ALPHABET)
    return "".join(chars)


def _inside(text: str, err: TemplateError) -> bool:
    lines = text.split("\n")
    return 1 <= err.line <= len(lines) and 1 <= err.col <= len(lines[err.line - 1]) + 1


def test_fuzzed_templates_give_a_template_or_a_positioned_error() -> None:
    rnd = random.Random(20261123)
    seeds = [(TEMPLATES / n).read_text() for n in SEED_TEMPLATES]
    outcomes = {"ok": 0, "error": 0}
    for _ in range(4000):
        text = _mutate(rnd.choice(seeds), rnd)
        try:
            tpl = parse(text, "fuzz")
            from onetui.template import validate
            validate(tpl)
            outcomes["ok"] += 1
        except TemplateError as exc:
            assert _inside(text, exc), (text, str(exc))
            outcomes["error"] += 1
    assert outcomes["ok"] > 100 and outcomes["error"] > 100


def test_fuzzed_expressions_give_a_value_or_a_positioned_error() -> None:
    rnd = random.Random(7)
    seeds = ['HOSTNAME = "ursa*" & (TCPU > 400 | !RACK = r1)', "FREECPU * 2 - (RVM / 3)",
             'PCI @> "10de" | FMEM >= -5']
    for _ in range(3000):
        text = _mutate(rnd.choice(seeds), rnd)
        for parser in (parse_requirements, parse_rank):
            try:
                expr = parser(text, "e")
                expr.evaluate({"HOSTNAME": "ursa03", "TCPU": 800, "PCI": ["10de"]})
            except TemplateError as exc:
                assert _inside(text, exc), (text, str(exc))
