"""Turning rows into records and back: JSON columns, and the checks shared by every area."""

from __future__ import annotations

import json
import re
import sqlite3
from typing import Any

from onetui.errors import NotFound, UserError
from onetui.model import MONITORED_STATES, VM, Host, TemplateRecord
from onetui.store.db import Database

NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def check_name(kind: str, name: str) -> str:
    """Names end up in libvirt domain names, EC2 tags, /etc/hosts and remote commands:
    allow only what is safe in all of them."""
    if not NAME_RE.fullmatch(name):
        shown = name if len(name) <= 40 else name[:40] + "…"
        raise UserError(
            f"{kind} name {shown!r}: expected 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name


def check_object_name(kind: str, name: str) -> str:
    """The name of a host, template, network, service or lab: as `check_name` allows, but
    never digits only. Each is reached by id or by name (`by_id_or_name`), and `3` must
    mean one thing only: host 3, not a host named "3"."""
    check_name(kind, name)
    if name.isdigit():
        raise UserError(f"{kind} name {name!r}: expected at least one letter, '.', '_' or "
                        f"'-' (digits alone are a {kind}'s id)")
    return name


def is_id(ref: str | int) -> bool:
    """Whether a reference is an id: an int, or a string of ASCII digits."""
    if isinstance(ref, bool):
        return False
    return isinstance(ref, int) or (ref.isascii() and ref.isdigit())


def by_id_or_name(db: Database, table: str, kind: str, ref: str | int) -> sqlite3.Row:
    """The row with id `ref` when it is an id (`is_id`), else the row named `ref`: one or
    the other, never a fallback from one to the other."""
    if is_id(ref):
        rows = db.read(f"SELECT * FROM {table} WHERE id = ?", (int(ref),))
    else:
        rows = db.read(f"SELECT * FROM {table} WHERE name = ?", (str(ref),))
    if not rows:
        raise NotFound(f"no {kind} {ref!r} (see `onetui {kind} list`)")
    return rows[0]


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def host_from(row: sqlite3.Row) -> Host:
    return Host(
        id=row["id"], name=row["name"], driver=row["driver"],
        config=json.loads(row["config"]), attrs=json.loads(row["attrs"]),
        state=row["state"], enabled=bool(row["enabled"]), monitor=json.loads(row["monitor"]),
        error=row["error"], monitored_at=row["monitored_at"], created_at=row["created_at"],
    )


def template_from(row: sqlite3.Row) -> TemplateRecord:
    return TemplateRecord(row["id"], row["name"], row["body"], row["created_at"])


def vm_from(row: sqlite3.Row) -> VM:
    keys = row.keys()
    # A VM is polled with its host (one call covers all its guests): its LAST POLL is the
    # engine's last look while its host answered (the host row changes only when its
    # figures do; the look's time is one row in meta). `unkn`: its host did not answer.
    polled = row["polled_at"]
    if polled is None and "host_polled_at" in keys and row["state"] in MONITORED_STATES \
            and row["state"] != "unkn":
        polled = row["host_polled_at"]
        if row["host_state"] == "on" and row["last_look"] is not None:
            polled = max(polled or 0.0, row["last_look"])
    return VM(
        id=row["id"], name=row["name"], template_id=row["template_id"], body=row["body"],
        state=row["state"], intent=row["intent"], host_id=row["host_id"],
        deploy_id=row["deploy_id"],
        cpu=row["cpu"], memory=row["memory"], ip=row["ip"], mac=row["mac"],
        message=row["message"], sched=json.loads(row["sched"]), info=json.loads(row["info"]),
        created_at=row["created_at"], started_at=row["started_at"],
        stopped_at=row["stopped_at"], state_at=row["state_at"], polled_at=polled,
        host_name=(row["host_name"] or "") if "host_name" in keys else "",
    )


def next_id(cur: sqlite3.Cursor, table: str, count: int = 1) -> int:
    """The first of `count` ids for new rows of `table`: above every id it ever had, deleted
    rows included (one look however many rows a create makes)."""
    cur.execute(f"UPDATE sequences SET last = MAX(last, (SELECT COALESCE(MAX(id), 0) FROM "
                f"{table})) + ? WHERE name = ?", (count, table))
    return int(cur.execute("SELECT last FROM sequences WHERE name = ?",
                           (table,)).fetchone()[0]) - count + 1
