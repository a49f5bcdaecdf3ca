"""Printing for the CLI: JSON, and failing with one line (tables: onetui.view.rows)."""

from __future__ import annotations

import json
import math
import sys
from typing import Any

import click

from onetui.view.rows import pairs, table

__all__ = ["echo_json", "fail", "pairs", "table"]


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=False, default=str))


def fail(message: str, code: int = 2) -> None:
    click.echo(f"onetui: {message}", err=True)
    sys.exit(code)


# `--json` on every list and show: the same words everywhere.
json_option = click.option("--json", "as_json", is_flag=True,
                           help="Print JSON (OpenNebula's conventions) instead of a table.")


def finite(_ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    """A click callback: NaN passes FloatRange's comparisons, so refuse it here."""
    if value is not None and not math.isfinite(value):
        raise click.BadParameter(f"expected a number, got {value}", param=param)
    return value
