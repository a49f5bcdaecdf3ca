"""`onetui events`: the event log the console's Events pane shows, for scripts and for
watching from a second terminal (`--follow`), as lines or JSON Lines (`--json`). Each event
names the unix user (and pid) whose request caused it: `--user` is the audit trail."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import sys
import time
from typing import Any

import click

from onetui.cli.context import Context
from onetui.cli.history import age_seconds
from onetui.client import Client
from onetui.model import Event
from onetui.store.events import KINDS
from onetui.view.rows import EVENT_COLUMNS, event_row

pass_ctx = click.make_pass_decorator(Context)

POLL = 0.5  # seconds between two looks at the store while following
DEFAULT_LIMIT = 100  # events shown without --since or --limit
_LEVEL_STYLE: dict[str, dict[str, Any]] = {"error": {"fg": "red", "bold": True},
                                           "warning": {"fg": "yellow"}}


class When(click.ParamType):
    """A moment in the past: an age (`10m` ago) or an ISO time (local time unless it
    names its zone)."""

    name = "when"

    def convert(self, value: object, param: click.Parameter | None,
                ctx: click.Context | None) -> float:
        if isinstance(value, float):
            return value
        text = str(value).strip()
        seconds = age_seconds(text)
        if seconds is not None:
            return time.time() - seconds
        try:
            return dt.datetime.fromisoformat(text).timestamp()
        except (ValueError, OverflowError, OSError):
            shown = text if len(text) <= 40 else text[:40] + "…"
            self.fail(f"{shown!r}: expected an age (30s, 10m, 2h, 1d, 1w) or an ISO time "
                      "(2026-11-28, 2026-11-28T14:30, 2026-11-28T14:30+01:00)", param, ctx)


@click.command("events")
@click.option("--since", type=When(), metavar="WHEN",
              help="Only events from then on: an age (10m, 2h, 1d) or an ISO time.")
@click.option("--follow", "-f", is_flag=True,
              help="Keep printing new events as they arrive (Ctrl-C ends).")
@click.option("--json", "as_json", is_flag=True,
              help="One JSON object per line (JSON Lines), for pipes.")
@click.option("--kind", "kinds", type=click.Choice(KINDS), multiple=True,
              help="Only events about this kind of object (repeatable).")
@click.option("--user", metavar="USER",
              help="Only events of this unix user's requests (their audit trail).")
@click.option("--limit", type=click.IntRange(1), metavar="N",
              help=f"At most the N newest (default: {DEFAULT_LIMIT}; with --since: all).")
@pass_ctx
def events(ctx: Context, since: float | None, follow: bool, as_json: bool,
           kinds: tuple[str, ...], user: str | None, limit: int | None) -> None:
    """The event log, oldest first; --follow watches it.

    The lines are the console's Events pane's: number, time, message."""
    client = ctx.client
    got = client.call("events.list", limit=limit or (None if since is not None
                                                     else DEFAULT_LIMIT),
                      kinds=list(kinds), since=since,
                      user=user)  # the tail and the newest id: one moment
    last, shown = got["last"], _events(got["events"])
    width = max(len(EVENT_COLUMNS[0]), len(str(last)))
    try:
        if not as_json:
            click.echo(_line(EVENT_COLUMNS, width))
        _print(shown, as_json, width)
        if follow:
            _follow(client, last, kinds, user, as_json, width)
    except KeyboardInterrupt:  # Ctrl-C is how --follow ends: quietly, exit 0
        return
    except BrokenPipeError:  # `onetui events | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _events(records: list[dict[str, Any]]) -> list[Event]:
    return [Event(**r) for r in records]


def _follow(client: Client, last: int, kinds: tuple[str, ...], user: str | None,
            as_json: bool, width: int) -> None:
    while True:
        new = _events(client.call("events.list", after=last, limit=1000, kinds=list(kinds),
                                  user=user)
                      ["events"])
        if new:
            _print(new, as_json, width)
            last = new[-1].id
        if len(new) < 1000:
            time.sleep(POLL)


def _print(events: list[Event], as_json: bool, width: int) -> None:
    for e in events:
        if as_json:
            click.echo(json.dumps(dataclasses.asdict(e)))
        else:
            click.echo(_line(event_row(e), width, _LEVEL_STYLE.get(e.level)))


def _line(row: tuple[str, str, str], width: int,
          style: dict[str, Any] | None = None) -> str:
    number, when, message = row
    return (f"{number.rjust(width)} {when.ljust(14)} "
            + (click.style(message, **style) if style else message)).rstrip()
