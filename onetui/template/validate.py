"""Checks beyond syntax: REQUIREMENTS and RANK must parse, errors at their file position."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from onetui.template.errors import TemplateError
from onetui.template.expr import Rank, Requirement, parse_rank, parse_requirements
from onetui.template.model import Template, Vector

T = TypeVar("T")


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


def requirements_of(tpl: Template) -> Requirement | None:
    return _expression(tpl, "REQUIREMENTS", parse_requirements)


def rank_of(tpl: Template) -> Rank | None:
    return _expression(tpl, "RANK", parse_rank)


def validate(tpl: Template) -> None:
    """Raise TemplateError (with file position) if REQUIREMENTS or RANK cannot be used."""
    for attr in tpl:
        if attr.name in ("REQUIREMENTS", "RANK") and attr is not tpl.attribute(attr.name):
            raise TemplateError(f"{attr.name} given more than once", tpl.source,
                                attr.line or 1, attr.col or 1)
    requirements_of(tpl)
    rank_of(tpl)
