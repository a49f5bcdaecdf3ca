"""Checks beyond syntax, in one place: what `template validate` accepts, `vm create`, the
console's form, `lab create` and the engine accept too. REQUIREMENTS and RANK (or their
later OpenNebula names SCHED_REQUIREMENTS and SCHED_RANK, read the same) must parse;
CPU and MEMORY are plain decimal numbers within bounds; no value holds a control
character. Every error names its file position."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

from onetui.template.errors import TemplateError
from onetui.template.expr import Rank, Requirement, parse_rank, parse_requirements
from onetui.template.model import Template, Vector

T = TypeVar("T")

MAX_CPU = 1024.0  # a CPU share (1 = one physical core)
MAX_MEMORY = 16 * 1024 * 1024  # MB (16 TiB)
_DECIMAL = re.compile(r"\d{1,7}(\.\d{1,6})?")  # 0.5, 2, 16.25: no 1e3, 1_0, inf, nan
_WHOLE = re.compile(r"\d{1,12}")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
PLACEMENT = ("REQUIREMENTS", "RANK", "SCHED_REQUIREMENTS", "SCHED_RANK")
EXCERPT = 40  # characters of a bad value quoted back


def excerpt(value: object) -> str:
    """A bad value as a message quotes it: short, and never a Python repr of a record."""
    if isinstance(value, Vector):
        return "a vector attribute [ … ]"
    text = str(value)
    return repr(text if len(text) <= EXCERPT else text[:EXCERPT] + "…")


def _number(tpl: Template, name: str, whole: bool, default: float | None,
            top: float) -> float:
    attr = tpl.attribute(name)
    if attr is None:
        if default is None:
            raise TemplateError(f"{name} is required", source=tpl.source)
        return default
    value = attr.value
    pattern = _WHOLE if whole else _DECIMAL
    number = float(value) if isinstance(value, str) and pattern.fullmatch(value.strip()) \
        else None
    if number is None or not 0 < number <= top:
        unit = " MB" if name == "MEMORY" else ""
        what = "a whole number" if whole else "a plain decimal number"
        raise TemplateError(f"{name}: expected {what} above 0 and at most {top:,.0f}{unit}, "
                            f"found {excerpt(value)}", source=tpl.source,
                            line=attr.value_line or attr.line or 1,
                            col=attr.value_col or attr.col or 1)
    return number


def sizes(tpl: Template) -> tuple[float, int]:
    """CPU share and MEMORY (MB) of a template, checked and bounded."""
    cpu = _number(tpl, "CPU", False, 1.0, MAX_CPU)
    memory = int(_number(tpl, "MEMORY", True, None, MAX_MEMORY))
    return cpu, memory


def _values(tpl: Template) -> None:
    """No value holds a control character (a NUL reached libvirt's binding once)."""
    for attr in tpl:
        values = attr.value.items if isinstance(attr.value, Vector) else [("", attr.value)]
        for key, value in values:
            m = _CONTROL.search(value) if isinstance(value, str) else None
            if m:
                where = f"{attr.name}.{key}" if key else attr.name
                raise TemplateError(f"{where}: control character {m.group()!r} in the value",
                                    tpl.source, attr.value_line or attr.line or 1,
                                    attr.value_col or attr.col or 1)


def _expression(tpl: Template, name: str, parse: Callable[..., T]) -> T | None:
    attr = tpl.attribute(name)
    if attr is None:
        return None
    if isinstance(attr.value, Vector):
        raise TemplateError(f"{name} must be an expression, not a vector attribute",
                            tpl.source, attr.line or 1, attr.col or 1)
    if not attr.value.strip():
        return None
    return parse(attr.value, tpl.source, attr.value_line or 1, attr.value_col or 1)


def _placement(tpl: Template, name: str, parse: Callable[..., T]) -> T | None:
    """`name` or SCHED_`name` (OpenNebula 4 and later write that), read alike, so neither
    is ever ignored. Both in one template must say the same: which one wins is nowhere a
    user would look, so two different ones are refused, naming both lines."""
    plain, sched = tpl.attribute(name), tpl.attribute(f"SCHED_{name}")
    value = _expression(tpl, name, parse)
    if sched is None:
        return value
    other = _expression(tpl, f"SCHED_{name}", parse)
    if plain is None:
        return other
    if str(plain.value).strip() != str(sched.value).strip():
        raise TemplateError(f"{name} (line {plain.line or 1}) and SCHED_{name} (line "
                            f"{sched.line or 1}) differ: they are the same setting, keep one",
                            tpl.source, sched.line or 1, sched.col or 1)
    return value


def requirements_of(tpl: Template) -> Requirement | None:
    """Which hosts may take the VM: REQUIREMENTS, or SCHED_REQUIREMENTS (see _placement)."""
    return _placement(tpl, "REQUIREMENTS", parse_requirements)


def rank_of(tpl: Template) -> Rank | None:
    """Which of those is best: RANK, or SCHED_RANK (see _placement)."""
    return _placement(tpl, "RANK", parse_rank)


def validate(tpl: Template) -> None:
    """Raise TemplateError (with file position) for anything `vm create` would refuse."""
    for attr in tpl:
        if attr.name in PLACEMENT and attr is not tpl.attribute(attr.name):
            raise TemplateError(f"{attr.name} given more than once", tpl.source,
                                attr.line or 1, attr.col or 1)
    requirements_of(tpl)
    rank_of(tpl)
    sizes(tpl)
    _values(tpl)
