"""`onetui template …`: validate and show template files; import, list, show and delete
stored templates."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from onetui.api.templates import default_name, template_of
from onetui.cli.completion import template_names, template_names_or_files
from onetui.cli.context import Context
from onetui.cli.output import Output, echo_json, list_options, pairs, pools, show_options
from onetui.cli.vm_cmds import create_cmd
from onetui.errors import UserError
from onetui.model import TemplateRecord
from onetui.template import Template, TemplateError, load, parse, validate, write

pass_ctx = click.make_pass_decorator(Context)


@click.group()
def template() -> None:
    """OpenNebula templates: validate, import, list, show, update, clone, instantiate,
    delete."""


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
    rec = _stored(ctx, ref)
    return parse(rec.body, rec.name), {
        "ID": rec.id, "NAME": rec.name,
        "REGISTER TIME": time.strftime("%m/%d %H:%M:%S", time.localtime(rec.created_at)),
    }


def _stored(ctx: Context, ref: str) -> TemplateRecord:
    return template_of(ctx.client.call("template.get", ref=ref))


@template.command("show")
@click.argument("ref", metavar="FILE_OR_NAME", shell_complete=template_names_or_files)
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
        out.print_one(pools().template_element(_stored(ctx, ref)))
        return
    if out.as_json:
        named = {"ID": info["ID"], "NAME": info["NAME"]} if info else {}
        echo_json({**named, **{k: v for k, v in tpl.to_json_obj().items() if k not in named}})
        return
    if info:
        click.echo(f"TEMPLATE {info['ID']} INFORMATION")
        click.echo(pairs(list(info.items())))
        click.echo("\nTEMPLATE CONTENTS")
        click.echo(_stored(ctx, ref).body.rstrip("\n"))
    else:
        click.echo(write(tpl), nl=False)


@template.command("import")
@click.argument("file", type=click.Path(dir_okay=False), required=False)
@click.option("--name", help="Name to store it under (default: the file name without "
              "a .template suffix).")
@click.option("--seed", is_flag=True, help="Store the templates onetui ships (the seed's "
              "five and the lab master linux-master) that are not stored yet.")
@pass_ctx
def import_cmd(ctx: Context, file: str | None, name: str | None, seed: bool) -> None:
    """Store a template file (kept verbatim) for `vm create NAME`."""
    if seed == bool(file) or (seed and name):
        raise click.UsageError("give a FILE (and maybe --name), or --seed alone")
    if seed:
        for line in ctx.client.call("template.seed"):
            click.echo(line)
        return
    assert file is not None
    tid = ctx.client.call("template.add", name=name or default_name(file), body=_read(file),
                          source=file)
    click.echo(f"ID: {tid}")


def _read(file: str) -> str:
    """A template file's text; a missing or unreadable one is one line (no position)."""
    try:
        return Path(file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TemplateError(f"cannot read: {exc}", source=file) from None


@template.command("update")
@click.argument("ref", metavar="NAME", shell_complete=template_names)
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--append", is_flag=True, help="Set only the attributes FILE has, keeping the "
              "others (like `onetemplate update --append`).")
@pass_ctx
def update_cmd(ctx: Context, ref: str, file: str, append: bool) -> None:
    """Replace a stored template's text with FILE's (checked first; VMs made from it keep
    their copy)."""
    click.echo(ctx.client.call("template.update", ref=ref, body=_read(file), source=file,
                               append=append))


@template.command("clone")
@click.argument("ref", metavar="NAME", shell_complete=template_names)
@click.argument("new_name", metavar="NEW_NAME")
@pass_ctx
def clone_cmd(ctx: Context, ref: str, new_name: str) -> None:
    """Store a copy of a template under NEW_NAME."""
    click.echo(f"ID: {ctx.client.call('template.clone', ref=ref, name=new_name)}")


@template.command("list")
@list_options(("ID", "NAME", "REGTIME"), right=("ID",), one="VMTEMPLATE")
@pass_ctx
def list_cmd(ctx: Context, out: Output) -> None:
    """Stored templates."""
    records = [template_of(r) for r in ctx.client.call("template.list")]
    out.emit(records, row=_template_row, as_json=_template_json,
             one=lambda kept: pools().template_pool(kept))


def _template_row(r: TemplateRecord) -> tuple[str, ...]:
    return (str(r.id), r.name, time.strftime("%m/%d %H:%M:%S", time.localtime(r.created_at)))


def _template_json(r: TemplateRecord) -> dict:
    return {"id": r.id, "name": r.name, "created_at": r.created_at, "body": r.body}


@template.command("delete")
@click.argument("names", nargs=-1, required=True, shell_complete=template_names)
@pass_ctx
def delete_cmd(ctx: Context, names: tuple[str, ...]) -> None:
    """Delete stored templates (VMs made from them keep their copy)."""
    for name in names:
        click.echo(ctx.client.call("template.delete", ref=name))


# one command, two names: `onetemplate instantiate` habits, the same options as vm create
template.add_command(create_cmd, "instantiate")
