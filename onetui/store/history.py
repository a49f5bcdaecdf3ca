"""History, kept small: what the engine measures each pass (hosts' CPU and memory used and
running VMs, VMs' CPU and memory, the grid's queue, services' sizes and load), kept as a
bounded series per object so the console can draw trends and `--history` can print them.

Why it is shaped like this: at 1,000 hosts and 10,000 VMs a row per object per point would
be tens of millions of rows a week. Instead a row holds ONE POINT OF ONE KIND for every
object measured at that moment (one row per point per kind): the object ids (sorted, int32)
and each field as a float32 column, in a blob. A pass writes one row per kind it measured;
reading one object's series binary-searches its id in each row.

Tiers, each kept for a fixed time and pruned (and rolled up) in the same transaction as
the pass that writes (see `TIERS`): raw points at pass resolution (never closer than
`RAW_STEP`, later samples within it are merged into the newest row), 1-minute means and
10-minute means. A closed bucket of a tier is the mean of the finer tier's points in it.
So the table never holds more than `MAX_ROWS` rows per kind, whatever runs; a row is
4 + objects × (4 + 4 × fields) bytes before zlib (level 1: ~2 ms for 10,000 VMs), about a
quarter of that after.

The API (the console's sparklines and plots read through it):
    KINDS, FIELDS          what can be recorded: host, vm, grid, service
    Point(at, values)      one point; `values` holds the fields measured then
    History.record(cur, at, samples)    inside the caller's transaction (the engine's pass)
    History.read(kind, key, since, until=None)   oldest first, finest resolution kept
    History.read_many(kind, keys, since, until=None)   the same for many objects at once
    History.latest_at()
Keys are str(obj_id) for host/vm/service and "grid" for the grid. Every record() appends
one row to `changes` with kind 'history' (obj_id 0): a live pane that sees it fetches new
points with read(kind, key, since=last_at) instead of polling this table. `since` and
`until` are inclusive, so that read returns the point at last_at again: a look between
passes (closer than RAW_STEP) adds its figures to the newest point rather than making one.

Beyond the agreed API: `read_many` (one decode per row for a pane of many objects),
`size` and `spent` (bench/). The raw tier keeps 10 minutes, not an hour: at 10,000 VMs
and 2 s passes an hour of raw points is 1,800 rows, ~45 MB more, and a window longer
than 10 minutes is answered from minute means anyway (a plot has fewer columns).
"""

from __future__ import annotations

import bisect
import itertools
import math
import sqlite3
import sys
import time
import zlib
from array import array
from collections.abc import Iterable
from dataclasses import dataclass

from onetui.errors import UserError
from onetui.store.db import Database

KINDS = ("host", "vm", "grid", "service")
FIELDS: dict[str, tuple[str, ...]] = {
    "host": ("cpu", "mem", "rvm"),          # percent of CPU used, percent of memory used, VMs
    "vm": ("cpu", "mem"),                   # percent of one core, MiB
    "grid": ("running", "pending", "oldest_pending_s"),
    "service": ("desired", "running", "rps"),
}
GRID_KEY = "grid"
GRID_KIND = "grid"
_NANS = itertools.repeat(math.nan)

# (step, kept for) in seconds, finest first. Tier 0 is the raw tier: its step is the
# least time between two rows (samples closer than that are merged into the newest row).
RAW_STEP = 2.0
TIERS: tuple[tuple[float, float], ...] = (
    (RAW_STEP, 600.0),        # pass resolution, the last 10 minutes
    (60.0, 86_400.0),         # 1-minute means, a day
    (600.0, 7 * 86_400.0),    # 10-minute means, a week
)
# the most rows a kind can hold: every tier full (+1 for a bucket at either end)
MAX_ROWS = sum(int(keep // step) + 1 for step, keep in TIERS)

_SWAP = sys.byteorder != "little"  # blobs are little-endian wherever the store moves


@dataclass(frozen=True)
class Point:
    at: float
    values: dict[str, float]


def check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise UserError(f"history: unknown kind {kind!r} (expected one of: {', '.join(KINDS)})")


def _obj_id(kind: str, key: str) -> int:
    if kind == GRID_KIND:
        if key != GRID_KEY:
            raise UserError(f"history: the grid's key is {GRID_KEY!r}, not {key!r}")
        return 0
    try:
        return int(key)
    except ValueError:
        raise UserError(f"history: {kind} key {key!r} is not an id") from None


# -- the blob: n (uint32), ids (int32, sorted), then each field's column (float32) ----------

Columns = dict[int, tuple[float, ...]]


def encode(kind: str, rows: Columns) -> bytes:
    ids = sorted(rows)
    width = len(FIELDS[kind])
    return _pack(array("i", ids), array("f", [rows[i][f] for f in range(width) for i in ids]))


def _pack(ids: array[int], cols: array[float]) -> bytes:
    head = array("I", [len(ids)])
    if _SWAP:
        ids, cols = array("i", ids), array("f", cols)
        for part in (head, ids, cols):
            part.byteswap()
    return zlib.compress(head.tobytes() + ids.tobytes() + cols.tobytes(), 1)


def _arrays(kind: str, blob: bytes) -> tuple[array[int], array[float]]:
    raw = zlib.decompress(blob)
    n = int.from_bytes(raw[:4], "little")
    ids, cols = array("i"), array("f")
    ids.frombytes(raw[4:4 + 4 * n])
    cols.frombytes(raw[4 + 4 * n:4 + 4 * n + 4 * n * len(FIELDS[kind])])
    if _SWAP:
        ids.byteswap()
        cols.byteswap()
    return ids, cols


def decode(kind: str, blob: bytes) -> Columns:
    ids, cols = _arrays(kind, blob)
    n, width = len(ids), len(FIELDS[kind])
    return {obj: tuple(cols[f * n + i] for f in range(width)) for i, obj in enumerate(ids)}


def _pick(kind: str, ids: array[int], cols: array[float], obj: int) -> dict[str, float] | None:
    i = bisect.bisect_left(ids, obj)
    if i == len(ids) or ids[i] != obj:
        return None
    n = len(ids)
    values = {}
    for f, name in enumerate(FIELDS[kind]):
        value = cols[f * n + i]
        if not math.isnan(value):
            values[name] = round(value, 3)
    return values


def _mean(kind: str, blobs: list[bytes]) -> bytes:
    """Per object and field, the mean of the points that have it (NaN where none has).
    Points of the same objects (the usual: every host looked at together) are summed a
    column at a time; only a mix of object sets goes object by object."""
    width = len(FIELDS[kind])
    same: dict[bytes, tuple[array[int], list[array[float]]]] = {}
    for blob in blobs:
        ids, cols = _arrays(kind, blob)
        same.setdefault(ids.tobytes(), (ids, []))[1].append(cols)
    if len(same) == 1:
        ((ids, group),) = same.values()
        total, count = _column_sums(group)
        return _pack(ids, array("f", [t / c if c else math.nan
                                      for t, c in zip(total, count, strict=True)]))
    sums: dict[int, list[float]] = {}
    counts: dict[int, list[int]] = {}
    for ids, group in same.values():
        total, count = _column_sums(group)
        n = len(ids)
        for i, obj in enumerate(ids):
            s = sums.setdefault(obj, [0.0] * width)
            c = counts.setdefault(obj, [0] * width)
            for f in range(width):
                s[f] += total[f * n + i]
                c[f] += count[f * n + i]
    return encode(kind, {obj: tuple(s[f] / c[f] if c[f] else math.nan for f in range(width))
                         for obj, s in sums.items() for c in (counts[obj],)})


def _column_sums(group: list[array[float]]) -> tuple[list[float], list[int]]:
    """Element-wise sums of same-shaped columns, and how many were not NaN each."""
    if not any(math.isnan(sum(cols)) for cols in group):
        return [sum(v) for v in zip(*group, strict=True)], [len(group)] * len(group[0])
    total, count = [0.0] * len(group[0]), [0] * len(group[0])
    for cols in group:
        for j, value in enumerate(cols):
            if not math.isnan(value):
                total[j] += value
                count[j] += 1
    return total, count


class History:
    """The bounded history table (schema V6): written by the engine, read by the CLI and
    the console."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.spent = 0.0  # seconds spent in record() through this handle (bench/)

    # -- writing (the engine, inside its pass's transaction) --------------------------------

    def record(self, cur: sqlite3.Cursor, at: float,
               samples: Iterable[tuple[str, str, dict[str, float]]]) -> None:
        """Add the points measured at `at` ((kind, key, {field: value}) each; missing fields
        are left out of the point), then roll closed buckets up into the coarser tiers and
        drop what fell out of each tier. One `changes` row (kind 'history') says so."""
        started = time.perf_counter()
        try:
            self._record(cur, at, samples)
        finally:
            self.spent += time.perf_counter() - started

    def _record(self, cur: sqlite3.Cursor, at: float,
                samples: Iterable[tuple[str, str, dict[str, float]]]) -> None:
        by_kind: dict[str, Columns] = {}
        shapes: dict[str, tuple[tuple[str, ...], frozenset[str], Columns]] = {}
        for kind, key, values in samples:
            shape = shapes.get(kind)
            if shape is None:
                check_kind(kind)
                shape = shapes[kind] = (FIELDS[kind], frozenset(FIELDS[kind]),
                                        by_kind.setdefault(kind, {}))
            fields, names, rows = shape
            if not values.keys() <= names:
                unknown = sorted(set(values) - names)[0]
                raise UserError(f"history: {kind} has no field {unknown!r} "
                                f"(expected: {', '.join(fields)})")
            rows[_obj_id(kind, key)] = tuple(map(values.get, fields, _NANS))
        if not by_kind:
            return
        for kind, rows in by_kind.items():
            self._append(cur, kind, at, rows)
            self._roll(cur, kind, at)
        cur.execute("INSERT INTO changes(kind, obj_id) VALUES ('history', 0)")

    def _append(self, cur: sqlite3.Cursor, kind: str, at: float, rows: Columns) -> None:
        last = cur.execute("SELECT id, at, data FROM history WHERE kind = ? AND tier = 0 "
                           "ORDER BY at DESC LIMIT 1", (kind,)).fetchone()
        if last is not None and 0 <= at - last["at"] < RAW_STEP:
            # a look between passes, or passes closer than RAW_STEP: one point, the newest
            # figures of each object (when the new ones cover every object, they are it)
            ids, _cols = _arrays(kind, last["data"])
            if not all(obj in rows for obj in ids):
                rows = {**decode(kind, last["data"]), **rows}
            cur.execute("UPDATE history SET data = ? WHERE id = ?",
                        (encode(kind, rows), last["id"]))
            return
        cur.execute("INSERT INTO history(kind, tier, at, data) VALUES (?, 0, ?, ?)",
                    (kind, at, encode(kind, rows)))

    def _roll(self, cur: sqlite3.Cursor, kind: str, at: float) -> None:
        """Each coarser tier: its buckets that closed by `at`, made from the finer tier's
        points in them; then every tier pruned to what it keeps."""
        for tier in range(1, len(TIERS)):
            step = TIERS[tier][0]
            open_bucket = math.floor(at / step) * step
            done = cur.execute("SELECT MAX(at) FROM history WHERE kind = ? AND tier = ?",
                               (kind, tier)).fetchone()[0]
            start = -math.inf if done is None else done + step
            if start >= open_bucket:
                continue  # no bucket closed since the last roll-up
            source = cur.execute(
                "SELECT at, data FROM history WHERE kind = ? AND tier = ? AND at >= ? "
                "AND at < ? ORDER BY at", (kind, tier - 1, start, open_bucket)).fetchall()
            buckets: dict[float, list[bytes]] = {}
            for row in source:
                buckets.setdefault(math.floor(row["at"] / step) * step, []).append(row["data"])
            for bucket, blobs in buckets.items():
                cur.execute("INSERT INTO history(kind, tier, at, data) VALUES (?, ?, ?, ?)",
                            (kind, tier, bucket, _mean(kind, blobs)))
        for tier, (_step, keep) in enumerate(TIERS):
            cur.execute("DELETE FROM history WHERE kind = ? AND tier = ? AND at < ?",
                        (kind, tier, at - keep))

    # -- reading ---------------------------------------------------------------------------

    def read(self, kind: str, key: str, since: float,
             until: float | None = None) -> list[Point]:
        """`key`'s points from `since` to `until` (or the newest), oldest first: from the
        finest tier that still covers `since`, then finer ones for the time after its last
        closed bucket (so the newest points are always there)."""
        return self.read_many(kind, [key], since, until)[key]

    def read_many(self, kind: str, keys: Iterable[str], since: float,
                  until: float | None = None) -> dict[str, list[Point]]:
        """`read` for several objects of one kind, each stored row decoded once (a pane
        with a sparkline per host)."""
        check_kind(kind)
        wanted = {key: _obj_id(kind, key) for key in keys}
        out: dict[str, list[Point]] = {key: [] for key in wanted}
        with self.db.snapshot():
            newest = self.db.read("SELECT MAX(at) FROM history WHERE kind = ?", (kind,))[0][0]
            if newest is None:
                return out
            end = math.inf if until is None else until
            tier = next((t for t, (_s, keep) in enumerate(TIERS) if since >= newest - keep),
                        len(TIERS) - 1)
            frm = since
            rows: list[tuple[float, bytes]] = []
            for t in range(tier, -1, -1):
                found = self.db.read(
                    "SELECT at, data FROM history WHERE kind = ? AND tier = ? AND at >= ? "
                    "AND at <= ? ORDER BY at", (kind, t, frm, end))
                rows += [(r["at"], r["data"]) for r in found]
                if found and t > 0:
                    frm = found[-1]["at"] + TIERS[t][0]
        for at, blob in rows:
            ids, cols = _arrays(kind, blob)
            for key, obj in wanted.items():
                values = _pick(kind, ids, cols, obj)
                if values:
                    out[key].append(Point(at, values))
        return out

    def latest_at(self) -> float | None:
        """When the newest point (of any kind) was measured; None before the first."""
        value = self.db.read("SELECT MAX(at) FROM history WHERE tier = 0")[0][0]
        return None if value is None else float(value)

    def size(self) -> tuple[int, int]:
        """(rows, bytes of point data) the table holds now: what bench/ reports."""
        row = self.db.read("SELECT COUNT(*), COALESCE(SUM(length(data)), 0) FROM history")[0]
        return int(row[0]), int(row[1])

