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
from onetui.template import (
    Attribute,
    Template,
    TemplateError,
    load,
    parse,
    sizes,
    validate,
    write,
)

MAX_COUNT = 10_000  # VMs in one create (each is a row, a name and a template copy)


@dataclass(frozen=True)
class Source:
    """A template and where it came from (a stored template's id, or a file)."""

    template: Template
    template_id: int | None
    label: str


def resolve(store: Store, ref: str, text: str | None = None, *,
            files: bool = True) -> Source:
    """A stored template by name or id, or else a template file: `text` is that file's
    contents as a client read it; `files=False` never opens a path (the daemon, which must
    not read files for its clients)."""
    rec = store.templates.find(ref)
    if rec is not None:
        return Source(parse(rec.body, rec.name), rec.id, rec.name)
    if text is not None:
        return Source(parse(text, ref), None, ref)
    if files and Path(ref).is_file():
        tpl = load(ref)
        return Source(tpl, None, ref)
    raise UserError(f"no template {ref!r}: neither a stored template (see `onetui template "
                    "list`) nor a file")


def specs(source: Source, count: int = 1, name: str | None = None,
          overrides: dict[str, str] | None = None) -> list[dict]:
    """VM specs ready for `store.vms.create`: checked, named, with their own template copy."""
    if not 1 <= count <= MAX_COUNT:
        raise UserError(f"--count: expected 1 to {MAX_COUNT}, got {count}")
    tpl = source.template.copy()
    for key, value in (overrides or {}).items():
        _check_override(key.upper(), value)
        tpl.set(key.upper(), value)
        tpl.remove(f"SCHED_{key.upper()}")  # a given REQUIREMENTS replaces both names
    validate(tpl)
    cpu, memory = sizes(tpl)
    if name and count > 1 and not has_index(name):
        raise UserError(f"--name {name!r}: {count} VMs need a pattern with %i (e.g. web-%i)")
    name_given = bool(name)
    given = tpl.get("NAME")
    if not name and isinstance(given, str) and given:
        name = given if count == 1 or has_index(given) else f"{given}-%i"
    out = []
    for i in range(count):
        vm_tpl = tpl.copy()
        vm_name = expand_name(name, i) if name else ""
        if vm_name:
            _check_vm_name(vm_name, None if name_given else tpl)
            vm_tpl.set("NAME", vm_name)
        out.append({"name": vm_name, "body": write(vm_tpl), "cpu": cpu, "memory": memory,
                    "template_id": source.template_id})
    return out


def create(store: Store, ref: str, count: int = 1, name: str | None = None,
           hold: bool = False, overrides: dict[str, str] | None = None,
           host: str | None = None, text: str | None = None,
           files: bool = True) -> list[int]:
    """Write the intents for `count` VMs of template `ref`; the engine does the rest.
    `host` deploys them there (past REQUIREMENTS, not past its room), as `vm deploy`;
    `text` and `files` as in resolve."""
    made = specs(resolve(store, ref, text, files=files), count, name, overrides)
    if host is not None:
        pin = f"deploy:{store.hosts.get(host).id}"
        made = [{**spec, "intent": pin} for spec in made]
    return store.vms.create(made, hold=hold)


def _check_override(name: str, value: str) -> None:
    """A value given instead of the template's is refused as itself (`REQUIREMENTS:
    unterminated string at character 12`), not at a place in a file it never was in."""
    alone = Template([Attribute(name, value, 1, 1, 1, 1)]
                     # MEMORY is the one attribute a template must have
                     + ([] if name == "MEMORY" else [Attribute("MEMORY", "1")]), source=name)
    try:
        validate(alone)
    except TemplateError as exc:
        where = f" at character {exc.col}" if exc.line == 1 and exc.col > 1 else ""
        text = exc.message if exc.message.startswith(name) else f"{name}: {exc.message}"
        raise UserError(f"{text}{where}") from None


def _check_vm_name(name: str, tpl: Template | None) -> None:
    """A VM name from the template's NAME is refused at its file position."""
    try:
        check_name("VM", name)
    except UserError as exc:
        attr = tpl.attribute("NAME") if tpl is not None else None
        if tpl is None or attr is None:
            raise
        raise TemplateError(str(exc), tpl.source, attr.value_line or attr.line or 1,
                            attr.value_col or attr.col or 1) from None
