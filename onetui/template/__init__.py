"""OpenNebula's template language: parse and write templates, and evaluate the
REQUIREMENTS and RANK expressions the scheduler uses."""

from onetui.template.errors import TemplateError
from onetui.template.expr import Rank, Requirement, parse_rank, parse_requirements
from onetui.template.model import Attribute, Template, Value, Vector
from onetui.template.parser import load, parse
from onetui.template.validate import excerpt, rank_of, requirements_of, sizes, validate
from onetui.template.writer import write

__all__ = [
    "Attribute",
    "Rank",
    "Requirement",
    "Template",
    "TemplateError",
    "Value",
    "Vector",
    "excerpt",
    "load",
    "parse",
    "parse_rank",
    "parse_requirements",
    "rank_of",
    "requirements_of",
    "sizes",
    "validate",
    "write",
]
