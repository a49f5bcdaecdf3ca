"""Printing for the CLI: aligned tables like OpenNebula's, and JSON."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

import click


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]],
          right: Sequence[str] = ()) -> str:
    """Columns padded to their widest cell; the columns named in `right` align right
    (numbers), as `onevm list` and `onehost list` print them."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]

    def line(row: Sequence[str]) -> str:
        parts = [
            cell.rjust(w) if head in right else cell.ljust(w)
            for cell, w, head in zip(row, widths, headers, strict=True)
        ]
        return " ".join(parts).rstrip()

    return "\n".join([line(list(headers)), *(line(r) for r in cells)])


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=False, default=str))


def pairs(items: Sequence[tuple[str, Any]]) -> str:
    """`KEY : value` lines with the colons aligned, as `onevm show` prints them."""
    width = max((len(k) for k, _ in items), default=0)
    return "\n".join(f"{k.ljust(width)} : {v}" for k, v in items)


def fail(message: str, code: int = 2) -> None:
    click.echo(f"onetui: {message}", err=True)
    sys.exit(code)
