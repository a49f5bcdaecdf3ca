"""Stored templates: list, get, import (text the client read), the shipped seed, update
(or --append), clone, delete. The daemon never opens a path a client names: files come as
their text, with the file's name for messages (`source`)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from onetui.access import Caller
from onetui.api.registry import operation, optional, required
from onetui.data import SHIPPED_TEMPLATES, TEMPLATES
from onetui.model import TemplateRecord
from onetui.store import Store
from onetui.template import parse, write

_FIELDS = tuple(f.name for f in dataclasses.fields(TemplateRecord))


def template_record(r: TemplateRecord) -> dict[str, Any]:
    """A stored template as `template list --json` prints it."""
    return {f: getattr(r, f) for f in _FIELDS}


def template_of(record: dict[str, Any]) -> TemplateRecord:
    return TemplateRecord(**{f: record[f] for f in _FIELDS})


def default_name(file: str) -> str:
    """The name a template file is stored under: its file name without `.template`."""
    base = Path(file).name
    return base.removesuffix(".template") or base


@operation("template.list")
def template_list(store: Store, caller: Caller) -> list[dict[str, Any]]:
    return [template_record(r) for r in store.templates.list()]


@operation("template.get", ref=required(str, int))
def template_get(store: Store, caller: Caller, ref: str | int) -> dict[str, Any]:
    return template_record(store.templates.get(ref))


@operation("template.add", name=required(str), body=required(str),
           source=optional(None, str))
def template_add(store: Store, caller: Caller, name: str, body: str,
                 source: str | None) -> int:
    return store.templates.add(name, body, source=source).id


@operation("template.seed")
def template_seed(store: Store, caller: Caller) -> list[str]:
    """Store the shipped templates not stored yet; a line for each."""
    lines = []
    for shipped in SHIPPED_TEMPLATES:
        stored = default_name(shipped)
        if store.templates.find(stored) is not None:
            lines.append(f"{stored}: stored already")
            continue
        rec = store.templates.add(stored, (TEMPLATES / shipped).read_text(encoding="utf-8"))
        lines.append(f"{stored}: ID {rec.id}")
    return lines


@operation("template.update", ref=required(str, int), body=required(str),
           source=optional(None, str), append=optional(False, bool))
def template_update(store: Store, caller: Caller, ref: str | int, body: str,
                    source: str | None, append: bool) -> str:
    """Replace a stored template's text, or with `append` set only the attributes `body`
    has; checked first (VMs made from it keep their copy)."""
    if append:
        merged = parse(store.templates.get(ref).body, str(ref))
        for attr in parse(body, source or str(ref)):
            merged.set(attr.name, attr.value)
        body = write(merged)
    rec = store.templates.update(ref, body, source=source)
    return f"template {rec.id} {rec.name} updated"


@operation("template.clone", ref=required(str, int), name=required(str))
def template_clone(store: Store, caller: Caller, ref: str | int, name: str) -> int:
    return store.templates.clone(ref, name).id


@operation("template.delete", ref=required(str, int))
def template_delete(store: Store, caller: Caller, ref: str | int) -> str:
    rec = store.templates.delete(ref)
    return f"deleted template {rec.id} {rec.name}"
