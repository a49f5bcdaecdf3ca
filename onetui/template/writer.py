"""Writing templates back: readable, and parse(write(t)) == t for every template."""

from __future__ import annotations

import re

from onetui.template.model import Template, Vector

_SAFE = re.compile(r"[A-Za-z0-9_./:@+-]+")


def quote(value: str) -> str:
    """Bare when it cannot be misread, else double-quoted with \\ and " escaped."""
    if _SAFE.fullmatch(value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write(template: Template) -> str:
    lines = []
    for attr in template:
        if isinstance(attr.value, Vector):
            if not attr.value.items:
                lines.append(f"{attr.name} = [ ]")
                continue
            body = ",\n".join(f"  {k} = {quote(v)}" for k, v in attr.value.items)
            lines.append(f"{attr.name} = [\n{body} ]")
        else:
            lines.append(f"{attr.name} = {quote(attr.value)}")
    return "".join(line + "\n" for line in lines)
