"""Printing for the CLI: JSON, and failing with one line (tables: onetui.view.rows)."""

from __future__ import annotations

import json
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
