"""Turning a template into VM intents (`vm create`, the console's form, labs, services).

The checks happen here, before anything is written: a CPU that is not a number or a name
pattern that makes duplicates is refused with the file, line and column, and no VM exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from onetui.errors import UserError
from onetui.model import expand_name, has_index
from onetui.store import Store
from onetui.store.records import check_name
from onetui.template import Template, TemplateError, load, parse, validate, write


@dataclass(frozen=True)
class Source:
    """A template and where it came from (a stored template's id, or a file)."""

    template: Template
    template_id: int | None
    label: str


def resolve(store: Store, ref: str) -> Source:
    """A stored template by name or id, or else a template file."""
    rec = store.templates.find(ref)
    if rec is not None:
        return Source(parse(rec.body, rec.name), rec.id, rec.name)
    if Path(ref).is_file():
        tpl = load(ref)
        return Source(tpl, None, ref)
    raise UserError(f"no template {ref!r}: neither a stored template (see `onetui template "
                    "list`) nor a file")


def _number(tpl: Template, name: str, kind: type, default: float | None) -> float:
    attr = tpl.attribute(name)
    if attr is None:
        if default is None:
            raise TemplateError(f"{name} is required", source=tpl.source)
        return default
    value = attr.value
    try:
        if not isinstance(value, str):
            raise ValueError
        number = kind(value)
        if number <= 0:
            raise ValueError
    except ValueError:
        what = "a positive whole number" if kind is int else "a positive number"
        raise TemplateError(f"{name}: expected {what}, found {value!r}", source=tpl.source,
                            line=attr.value_line or attr.line, col=attr.value_col or attr.col
                            ) from None
    return number


def sizes(tpl: Template) -> tuple[float, int]:
    """CPU share and MEMORY (MB) of a template, checked."""
    cpu = _number(tpl, "CPU", float, 1.0)
    memory = int(_number(tpl, "MEMORY", int, None))
    return cpu, memory


def specs(source: Source, count: int = 1, name: str | None = None,
          overrides: dict[str, str] | None = None) -> list[dict]:
    """VM specs ready for `store.vms.create`: checked, named, with their own template copy."""
    if count < 1:
        raise UserError(f"--count: expected at least 1, got {count}")
    tpl = source.template.copy()
    for key, value in (overrides or {}).items():
        tpl.set(key.upper(), value)
    validate(tpl)
    cpu, memory = sizes(tpl)
    if name and count > 1 and not has_index(name):
        raise UserError(f"--name {name!r}: {count} VMs need a pattern with %i (e.g. web-%i)")
    given = tpl.get("NAME")
    if not name and isinstance(given, str) and given:
        name = given if count == 1 or has_index(given) else f"{given}-%i"
    out = []
    for i in range(count):
        vm_tpl = tpl.copy()
        vm_name = expand_name(name, i) if name else ""
        if vm_name:
            check_name("VM", vm_name)
            vm_tpl.set("NAME", vm_name)
        out.append({"name": vm_name, "body": write(vm_tpl), "cpu": cpu, "memory": memory,
                    "template_id": source.template_id})
    return out


def create(store: Store, ref: str, count: int = 1, name: str | None = None,
           hold: bool = False, overrides: dict[str, str] | None = None) -> list[int]:
    """Write the intents for `count` VMs of template `ref`; the engine does the rest."""
    return store.vms.create(specs(resolve(store, ref), count, name, overrides), hold=hold)
