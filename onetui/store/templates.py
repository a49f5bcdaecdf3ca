"""Stored templates: kept as the exact text that was imported, validated on the way in."""

from __future__ import annotations

import sqlite3
import time

from onetui.errors import Conflict, NotFound
from onetui.model import TemplateRecord
from onetui.store.db import Database
from onetui.store.events import record
from onetui.store.records import by_id_or_name, check_object_name, next_id, template_from


def _check(body: str, source: str) -> None:
    """Parse and validate a template's text. The template language is imported here, by
    the writes that need it: every command opens the store, few import a template."""
    from onetui.template import parse, validate

    validate(parse(body, source))


class Templates:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, name: str, body: str, source: str | None = None) -> TemplateRecord:
        """Store a template under `name`; it must parse (errors name `source`, line, column)."""
        check_object_name("template", name)
        _check(body, source or name)
        with self.db.transaction() as cur:
            try:
                cur.execute(
                    "INSERT INTO templates(id, name, body, created_at) VALUES (?, ?, ?, ?)",
                    (next_id(cur, "templates"), name, body, time.time()),
                )
            except sqlite3.IntegrityError:
                raise Conflict(f"template {name!r} exists already") from None
            tid = cur.lastrowid
            record(cur, "template", tid, f"template {name} imported")
        return self.get(name)

    def get(self, ref: str | int) -> TemplateRecord:
        """By name, or by numeric id."""
        return template_from(by_id_or_name(self.db, "templates", "template", ref))

    def find(self, ref: str | int) -> TemplateRecord | None:
        try:
            return self.get(ref)
        except NotFound:
            return None

    def list(self) -> list[TemplateRecord]:
        return [template_from(r) for r in self.db.read("SELECT * FROM templates ORDER BY id")]

    def update(self, ref: str | int, body: str, source: str | None = None) -> TemplateRecord:
        """Replace a template's text (checked first: a bad one changes nothing). VMs made
        from it keep their own copy, as in OpenNebula."""
        tpl = self.get(ref)
        _check(body, source or tpl.name)
        with self.db.transaction() as cur:
            cur.execute("UPDATE templates SET body = ? WHERE id = ?", (body, tpl.id))
            record(cur, "template", tpl.id, f"template {tpl.name} updated")
        return self.get(tpl.id)

    def clone(self, ref: str | int, name: str) -> TemplateRecord:
        """A copy of a stored template under a new name."""
        return self.add(name, self.get(ref).body)

    def delete(self, ref: str | int) -> TemplateRecord:
        tpl = self.get(ref)
        with self.db.transaction() as cur:
            cur.execute("DELETE FROM templates WHERE id = ?", (tpl.id,))
            record(cur, "template", tpl.id, f"template {tpl.name} deleted")
        return tpl
