"""`onetui host …`: declare hypervisor hosts and see what monitoring says of them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from onetui.cli.completion import host_names
from onetui.cli.context import Context
from onetui.cli.history import history_option, print_history, refuse_opennebula
from onetui.cli.output import Output, echo_json, list_options, pools, show_options
from onetui.errors import UserError
from onetui.view.records import host_of
from onetui.view.rows import HOST_COLUMNS, NUMERIC, host_row

pass_ctx = click.make_pass_decorator(Context)


@click.group()
def host() -> None:
    """Hypervisor hosts: create, list, show, update, enable/disable, delete."""


def _settings(create: bool) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """The driver settings, the same options for `create` and `update` (where a setting not
    given keeps its value, so nothing has a default there)."""
    def default(value: object) -> dict[str, Any]:
        return {"default": value, "show_default": True} if create else {}
    options = [
        click.option("--uri", help="libvirt: URI of the hypervisor."),
        click.option("--domain-type", help="libvirt: domain type to create (default: the "
                     "best the host offers; use qemu where KVM is not available)."),
        click.option("--region", help="ec2: AWS region."),
        click.option("--profile", help="ec2: AWS profile (credentials come from boto3's "
                     "chain)."),
        click.option("--endpoint-url", help="ec2: another EC2 endpoint (e.g. a moto server)."),
        click.option("--max-instances", type=click.IntRange(1, 100_000), **default(20),
                     help="ec2: how many instances this host may run."),
        click.option("--max-cpu", type=click.IntRange(1, 10_000_000), help="ec2: CPU limit "
                     "in percent (default 100 per instance)."),
        click.option("--max-memory", type=click.IntRange(1, 10**10), help="ec2: memory limit "
                     "in MB (default 1700 per instance)."),
        click.option("--network", help="ec2: onetui network whose leases the workers take "
                     "(VPN pool)."),
        click.option("--userdata-var", multiple=True, metavar="KEY=VALUE",
                     help="ec2: a value for the bootstrap (vpn_server, nfs_server, "
                     "sge_master, …)" + ("; KEY= removes one." if not create else ".")),
        click.option("--userdata-template", help="ec2: your own bootstrap template file."),
    ]

    def apply(fn: Callable[..., None]) -> Callable[..., None]:
        for option in reversed(options):
            fn = option(fn)
        return fn
    return apply


def _given(opts: dict[str, Any]) -> dict[str, Any]:
    """The settings given as the API takes them (a template file as an absolute path)."""
    given = {k: list(v) if isinstance(v, tuple) else v for k, v in opts.items()
             if v not in (None, ())}
    if "userdata_template" in given:
        given["userdata_template"] = str(Path(str(given["userdata_template"])).resolve())
    return given


@host.command("create")
@click.argument("name")
@click.option("--driver", type=click.Choice(["libvirt", "ec2"]), default="libvirt",
              show_default=True, help="A hypervisor reached by libvirt, or an EC2 region.")
@_settings(create=True)
@pass_ctx
def create_cmd(ctx: Context, name: str, driver: str, **opts: Any) -> None:
    """Add a host; the engine monitors it from its next pass."""
    if driver == "libvirt" and opts["max_instances"] == 20:
        opts["max_instances"] = None  # the default, not the admin's word
    hid = ctx.client.call("host.create", name=name, driver=driver, settings=_given(opts))
    click.echo(f"ID: {hid}")


@host.command("list")
@list_options(HOST_COLUMNS, right=NUMERIC, one="HOST")
@pass_ctx
def list_cmd(ctx: Context, out: Output) -> None:
    """OpenNebula's columns: CPU in percent (100 per core), memory in binary units."""
    records = ctx.client.call("host.list")
    out.emit([(host_of(r), r) for r in records], row=lambda pair: host_row(pair[0]),
             as_json=lambda pair: pair[1],
             one=lambda kept: pools().host_pool([h for h, _ in kept], _vm_ids(ctx)))


def _vm_ids(ctx: Context) -> dict[int, list[int]]:
    """The VMs on each host (done ones are on none), by host id."""
    on: dict[int, list[int]] = {}
    for vm in ctx.client.call("vm.list", include_done=False):
        if vm["host_id"] is not None:
            on.setdefault(vm["host_id"], []).append(vm["id"])
    return on


@host.command("show", help="Everything about a host: its driver, figures, attributes and VMs.")
@click.argument("name", shell_complete=host_names)
@show_options("HOST")
@history_option("host")
@pass_ctx
def show_cmd(ctx: Context, name: str, out: Output, history: int | None) -> None:
    if history is not None:
        refuse_opennebula(out)
        print_history(ctx.client, "host", name, history, out.as_json)
        return
    shown = ctx.client.call("host.show", ref=name)
    if out.opennebula:
        out.print_one(pools().host_element(host_of(shown["host"]), shown["vms"]))
        return
    if out.as_json:
        echo_json({**shown["host"], "vms": shown["vms"]})
        return
    click.echo(shown["text"])


@host.command("update")
@click.argument("name", shell_complete=host_names)
@click.argument("assignments", nargs=-1, metavar="[KEY=VALUE]...")
@_settings(create=False)
@pass_ctx
def update_cmd(ctx: Context, name: str, assignments: tuple[str, ...], **opts: Any) -> None:
    """Change a host in place: attributes REQUIREMENTS and RANK can use (KEY=VALUE; KEY=
    removes one) and driver settings (--endpoint-url, --uri, --max-instances, …; the
    others keep their values). VMs stay; the engine uses the new settings at its next pass."""
    attrs: dict[str, str | None] = {}
    for item in assignments:
        key, sep, value = item.partition("=")
        if not sep or not key.replace("_", "").isalnum():
            raise UserError(f"{item!r}: expected KEY=VALUE (KEY of letters, digits, _)")
        attrs[key.upper()] = value if value else None
    given = {k: v for k, v in opts.items() if v not in (None, ())}
    if not attrs and not given:
        raise click.UsageError("nothing to change: give KEY=VALUE attributes or settings "
                               "such as --endpoint-url (see --help)")
    click.echo(ctx.client.call("host.update", ref=name, attrs=attrs, settings=_given(given)))


def _enabling(name: str, enabled: bool, help_text: str) -> None:
    @host.command(name, help=help_text)
    @click.argument("names", nargs=-1, required=True, shell_complete=host_names)
    @pass_ctx
    def command(ctx: Context, names: tuple[str, ...]) -> None:
        for host_name in names:
            ctx.client.call("host.enable", ref=host_name, enabled=enabled)


_enabling("enable", True, "Let the scheduler place VMs on these hosts again.")
_enabling("disable", False, "The scheduler places nothing new here; running VMs stay.")


@host.command("delete", help="Remove hosts that no VM is on any more.")
@click.argument("names", nargs=-1, required=True, shell_complete=host_names)
@pass_ctx
def delete_cmd(ctx: Context, names: tuple[str, ...]) -> None:
    for name in names:
        click.echo(ctx.client.call("host.delete", ref=name))
