"""`onetui template …`: validate and show template files; import, list, show and delete
stored templates."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from onetui.cli.context import Context
from onetui.cli.output import Output, echo_json, list_options, pairs, show_options
from onetui.errors import UserError
from onetui.model import TemplateRecord
from onetui.template import Template, TemplateError, load, parse, validate, write
from onetui.view import pools

pass_ctx = click.make_pass_decorator(Context)


@click.group()
def template() -> None:
    """OpenNebula templates: validate, import, list, show, delete."""


@template.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
def validate_cmd(files: tuple[str, ...]) -> None:
    """Check template FILES (including REQUIREMENTS and RANK): `FILE: ok` for each good one,
    `FILE:LINE:COL: message` on stderr for each bad one (exit 2)."""
    bad = 0
    for name in files:
        try:
            validate(load(name))
        except TemplateError as exc:
            click.echo(str(exc), err=True)
            bad += 1
        else:
            click.echo(f"{name}: ok")
    if bad:
        sys.exit(2)


def _loaded(ctx: Context, ref: str) -> tuple[Template, dict | None]:
    """A template from a file if `ref` names one, else the stored template of that name."""
    if Path(ref).is_file():
        tpl = load(ref)
        validate(tpl)
        return tpl, None
    rec = ctx.store.templates.get(ref)
    return parse(rec.body, rec.name), {
        "ID": rec.id, "NAME": rec.name,
        "REGISTER TIME": time.strftime("%m/%d %H:%M:%S", time.localtime(rec.created_at)),
    }


@template.command("show")
@click.argument("ref", metavar="FILE_OR_NAME")
@show_options("VMTEMPLATE")
@pass_ctx
def show_cmd(ctx: Context, ref: str, out: Output) -> None:
    """Show a template file or a stored template. --json is one object of its attributes
    (OpenNebula's convention), with a stored template's ID and NAME first."""
    tpl, info = _loaded(ctx, ref)
    if out.opennebula:
        if info is None:
            raise UserError(f"{ref}: -x and --one show a stored template (`template import "
                            f"{ref}` first); --json prints a file's attributes")
        out.print_one(pools.template_element(ctx.store.templates.get(ref)))
        return
    if out.as_json:
        named = {"ID": info["ID"], "NAME": info["NAME"]} if info else {}
        echo_json({**named, **{k: v for k, v in tpl.to_json_obj().items() if k not in named}})
        return
    if info:
        click.echo(f"TEMPLATE {info['ID']} INFORMATION")
        click.echo(pairs(list(info.items())))
        click.echo("\nTEMPLATE CONTENTS")
        click.echo(ctx.store.templates.get(ref).body.rstrip("\n"))
    else:
        click.echo(write(tpl), nl=False)


@template.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--name", help="Name to store it under (default: the file name without "
              "a .template suffix).")
@pass_ctx
def import_cmd(ctx: Context, file: str, name: str | None) -> None:
    """Store a template file (kept verbatim) for `vm create NAME`."""
    try:
        body = Path(file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TemplateError(f"cannot read: {exc}", source=file) from None
    name = name or default_name(file)
    rec = ctx.store.templates.add(name, body, source=file)
    click.echo(f"ID: {rec.id}")


def default_name(file: str) -> str:
    base = Path(file).name
    return base.removesuffix(".template") or base


@template.command("list")
@list_options(("ID", "NAME", "REGTIME"), right=("ID",), one="VMTEMPLATE")
@pass_ctx
def list_cmd(ctx: Context, out: Output) -> None:
    """Stored templates."""
    out.emit(ctx.store.templates.list(), row=_template_row, as_json=_template_json,
             one=pools.template_pool)


def _template_row(r: TemplateRecord) -> tuple[str, ...]:
    return (str(r.id), r.name, time.strftime("%m/%d %H:%M:%S", time.localtime(r.created_at)))


def _template_json(r: TemplateRecord) -> dict:
    return {"id": r.id, "name": r.name, "created_at": r.created_at, "body": r.body}


@template.command("delete")
@click.argument("names", nargs=-1, required=True)
@pass_ctx
def delete_cmd(ctx: Context, names: tuple[str, ...]) -> None:
    """Delete stored templates (VMs made from them keep their copy)."""
    for name in names:
        rec = ctx.store.templates.delete(name)
        click.echo(f"deleted template {rec.id} {rec.name}")
