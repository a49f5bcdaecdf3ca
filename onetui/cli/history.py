"""`--history WINDOW` on `host show`, `vm show` and `service show`, and `sge history`: the
points the engine kept (store.history) over the last WINDOW, as a table or, with --json, a
list of {at, field: value, …} for scripts. Ages (`30s`, `10m`, `6h`, `1d`, `1w`) are read
here for `onetui events --since` too."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

import click

from onetui.cli.output import Output, echo_json
from onetui.client import Client
from onetui.store.history import TIERS, Point
from onetui.view.rows import HISTORY_COLUMNS, history_row, table

F = TypeVar("F", bound=Callable[..., Any])

AGE = re.compile(r"(\d{1,9})([smhdw])")
SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
KEPT = TIERS[-1][1]  # the longest the history keeps anything


def age_seconds(text: str) -> int | None:
    """`30s`, `10m`, `2h`, `1d`, `1w` in seconds; None for anything else."""
    m = AGE.fullmatch(text.strip())
    return int(m.group(1)) * SECONDS[m.group(2)] if m else None


class Window(click.ParamType):
    """How far back: an age up to the week the history keeps."""

    name = "window"

    def convert(self, value: object, param: click.Parameter | None,
                ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        text = str(value)
        seconds = age_seconds(text)
        shown = text if len(text) <= 40 else text[:40] + "…"
        if seconds is None:
            self.fail(f"{shown!r}: expected a window such as 30m, 6h, 1d or 1w", param, ctx)
        if not 0 < seconds <= KEPT:
            self.fail(f"{shown!r}: expected a window from 1s to 1w (history is kept for a "
                      "week)", param, ctx)
        return seconds


def history_option(what: str) -> Callable[[F], F]:
    """--history WINDOW, handed to the command as `history` (seconds or None)."""
    return click.option(
        "--history", "history", type=Window(), metavar="WINDOW",
        help=f"Instead of the {what}, its history over the last WINDOW (30m, 6h, 1d, 1w): "
        "a line per point, finest first kept (pass resolution for 10 minutes, then 1-minute, "
        "then 10-minute means); with --json, a list of {at, …}.")


def refuse_opennebula(out: Output) -> None:
    """-x and --one are OpenNebula's shapes of the object itself: history has none."""
    if out.opennebula:
        raise click.UsageError("--history prints onetui's points (a table, or a list with "
                               "--json): not with -x/--xml or --one")


def print_history(client: Client, kind: str, ref: str | None, window: int,
                  as_json: bool) -> None:
    """The points of one object (`ref`: a host, VM or service; None for the grid) over the
    last `window` seconds, as the API's `history.read` answers them."""
    points = client.call("history.read", kind=kind, ref=ref, window=window)
    if as_json:
        echo_json(points)
        return
    headers = HISTORY_COLUMNS[kind]
    rows = [history_row(kind, Point(p.pop("at"), p)) for p in points]
    click.echo(table(headers, rows, right=headers[1:]))
    if not points:
        click.echo("(no points in this window: the engine records them as it runs — is "
                   "`onetui serve` or the console running?)", err=True)
