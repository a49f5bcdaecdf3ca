"""Printing for the CLI: tables, CSV, JSON and OpenNebula's XML, and failing with one line.

Every list takes the same options (`list_options`), every show of a VM, host or template
the same ones (`show_options`), so a script learns them once: `--csv`, `--no-header`,
`-l/--list COLUMNS`, `--filter KEY=VALUE` shape the table; `--json` prints onetui's own
records; `-x/--xml` and `--json --one` print OpenNebula's pool shapes (onetui.view.pools).
Cells, filters and CSV come from onetui.view.rows.
"""

from __future__ import annotations

import functools
import json
import math
import sys
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import click

from onetui.errors import UserError
from onetui.view.rows import RowFilter, csv_text, pairs, parse_filter, pick_columns, table

if TYPE_CHECKING:  # the pools (and ElementTree) load only for -x / --one
    import xml.etree.ElementTree as ET
    from types import ModuleType


def pools() -> ModuleType:
    """onetui.view.pools, imported when -x or --one asks for it (ElementTree and the
    pools' tables are ~15 ms every other command does not need)."""
    import onetui.view.pools

    return onetui.view.pools

__all__ = ["Output", "echo_json", "fail", "list_options", "pairs", "show_options", "table"]

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=False, default=str))


def fail(message: str, code: int = 2) -> None:
    click.echo(f"onetui: {message}", err=True)
    sys.exit(code)


# `--json` on the shows that have no OpenNebula shape (lab, service, net).
json_option = click.option("--json", "as_json", is_flag=True,
                           help="Print JSON (OpenNebula's conventions) instead of a table.")


def finite(_ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    """A click callback: NaN passes FloatRange's comparisons, so refuse it here."""
    if value is not None and not math.isfinite(value):
        raise click.BadParameter(f"expected a number, got {value}", param=param)
    return value


@dataclass(frozen=True)
class Output:
    """What one list or show was asked to print, checked before anything is read."""

    headers: tuple[str, ...] = ()
    right: frozenset[str] = frozenset()
    as_json: bool = False
    one: bool = False  # OpenNebula's JSON shape, with --json
    xml: bool = False
    csv: bool = False
    header: bool = True
    columns: tuple[int, ...] = ()  # -l: positions in `headers`, in the order asked
    filters: tuple[RowFilter, ...] = ()

    @property
    def opennebula(self) -> bool:
        """-x, or --json --one: the command prints OpenNebula's element (print_one)."""
        return self.xml or self.one

    @property
    def shaped(self) -> bool:
        """Whether any table option was given (a command that prints no list refuses)."""
        return self.csv or not self.header or bool(self.columns) or bool(self.filters)

    def print_one(self, element: ET.Element) -> None:
        if self.xml:
            click.echo(pools().xml_text(element))
        else:
            echo_json(pools().one_json(element))

    def emit(self, items: Iterable[T], row: Callable[[T], Sequence[Any]],
             as_json: Callable[[T], Any],
             one: Callable[[list[T]], ET.Element] | None = None) -> None:
        """Print the items that pass the filters: as OpenNebula's element (`one` makes it
        from them), as JSON (`as_json` of each), or as the table or CSV of their rows."""
        rows = [(item, tuple(row(item))) for item in items]
        kept = [(item, cells) for item, cells in rows if all(f.keep(cells)
                                                              for f in self.filters)]
        if self.opennebula and one is not None:
            self.print_one(one([item for item, _ in kept]))
        elif self.as_json:
            echo_json([as_json(item) for item, _ in kept])
        else:
            self.print_rows([cells for _, cells in kept])

    def print_rows(self, rows: Sequence[Sequence[Any]]) -> None:
        picked = self.columns or tuple(range(len(self.headers)))
        heads = [self.headers[i] for i in picked]
        cells = [[row[i] for i in picked] for row in rows]
        if self.csv:
            click.echo(csv_text(heads, cells, header=self.header), nl=False)
            return
        lines = table(heads, cells, right=self.right).split("\n")
        if not self.header:
            lines = lines[1:]
        if lines:
            click.echo("\n".join(lines))


def _check(out: Output) -> Output:
    """The combinations that mean nothing are refused, naming what goes with what."""
    if out.one and not (out.as_json or out.xml):
        raise UserError("--one chooses the shape of --json: add --json (or use -x/--xml)")
    if out.xml and out.as_json:
        raise UserError("-x/--xml and --json: choose one (--json --one is OpenNebula's JSON)")
    tabled = out.csv or not out.header or out.columns
    if tabled and (out.as_json or out.xml):
        raise UserError("--csv, --no-header and -l/--list shape the table; --json and "
                        "-x/--xml print every field")
    return out


# OpenNebula's element → the command of OpenNebula's that prints it (for the help).
ONE_COMMANDS = {"VM": "onevm", "HOST": "onehost", "VMTEMPLATE": "onetemplate"}


def _names(headers: Sequence[str]) -> str:
    return ",".join(h.replace(" ", "_") for h in headers)


def _one_options(root: str, shape: str, command: str, ours: str) -> list[Any]:
    """-x/--xml and --one: OpenNebula's XML (root element `root`) and JSON (`shape`), as
    its `command` prints them, instead of onetui's `ours`."""
    return [
        click.option("-x", "--xml", "xml", is_flag=True,
                     help=f"Print OpenNebula's XML: <{root}>, as `{command} -x` does."),
        click.option("--one", is_flag=True,
                     help=f"With --json: OpenNebula's JSON shape ({shape}, every value a "
                     f"string, as `{command} --json`) instead of onetui's {ours}."),
    ]


def _decorated(fn: Any, options: list[Any]) -> Any:
    """`fn` with `options` on it, first listed first in --help."""
    for option in reversed(options):
        fn = option(fn)
    return fn


def list_options(headers: Sequence[str], right: Collection[str] = (),
                 one: str | None = None) -> Callable[[F], F]:
    """The options every list takes, handed to the command as `out: Output`. `headers`
    are its table's columns, `right` the numeric ones (right-aligned, ordered by <, >);
    `one` (VM, HOST, VMTEMPLATE) adds -x/--xml and --one for OpenNebula's pool of those."""
    numeric = frozenset(h for h in headers if h in right)
    pool = f"{one}_POOL" if one else None

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kw: Any) -> Any:
            filters = tuple(parse_filter(term, headers, numeric)
                            for given in kw.pop("filters") for term in given.split(",")
                            if term.strip())
            spec = kw.pop("list_columns")
            out = _check(Output(
                headers=tuple(headers), right=numeric, as_json=kw.pop("as_json"),
                one=kw.pop("one", False), xml=kw.pop("xml", False), csv=kw.pop("csv"),
                header=not kw.pop("no_header"),
                columns=pick_columns(headers, spec) if spec is not None else (),
                filters=filters))
            return fn(*args, out=out, **kw)

        options = [
            click.option("--json", "as_json", is_flag=True,
                         help="Print onetui's records as JSON (the shape scripts already "
                         "use)" + ("; with --one, OpenNebula's." if pool else ".")),
            click.option("--csv", is_flag=True, help="Print the table as CSV (a header "
                         "line, then a line per row; fields quoted as RFC 4180 says)."),
            click.option("--no-header", is_flag=True, help="Leave out the header line of "
                         "the table or CSV."),
            click.option("-l", "--list", "list_columns", metavar="COLUMNS",
                         help=f"Only these columns, in this order (comma-separated, any "
                         f"case): {_names(headers)}."),
            click.option("--filter", "filters", multiple=True, metavar="KEY=VALUE",
                         help="Only rows whose column KEY equals VALUE (e.g. STAT=runn); "
                         "also KEY!=VALUE, KEY~PART (contains) and, on numeric columns, "
                         "KEY<N, KEY<=N, KEY>N, KEY>=N (memory as 512M or 2G). Repeat it "
                         "or separate by commas: every one must hold."),
        ]
        if pool:
            options += _one_options(pool, f'{{"{pool}": {{"{one}": [...]}}}}',
                                    f"{ONE_COMMANDS[str(one)]} list", "records")
        return _decorated(wrapper, options)

    return decorate


def show_options(element: str) -> Callable[[F], F]:
    """--json, -x/--xml and --one for a show whose object OpenNebula has (`element`: VM,
    HOST, VMTEMPLATE), handed to the command as `out: Output`."""

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kw: Any) -> Any:
            out = _check(Output(as_json=kw.pop("as_json"), one=kw.pop("one"),
                                xml=kw.pop("xml")))
            return fn(*args, out=out, **kw)

        options = [
            click.option("--json", "as_json", is_flag=True, help="Print onetui's record as "
                         "JSON; with --one, OpenNebula's."),
            *_one_options(element, f'{{"{element}": {{…}}}}',
                          f"{ONE_COMMANDS[element]} show", "record"),
        ]
        return _decorated(wrapper, options)

    return decorate
