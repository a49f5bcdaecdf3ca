"""`onetui host …`: declare hypervisor hosts and see what monitoring says of them."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

from onetui.cli.context import Context
from onetui.cli.output import echo_json, pairs, table
from onetui.errors import UserError
from onetui.render import HOST_COLUMNS, NUMERIC, VM_COLUMNS, host_row, human_mb, stamp, vm_row

pass_ctx = click.make_pass_decorator(Context)


@click.group()
def host() -> None:
    """Hypervisor hosts: create, list, show, update, enable/disable, delete."""


def _check_uri(uri: str) -> str:
    if "://" not in uri:
        raise UserError(f"--uri {uri!r}: expected a libvirt URI such as qemu:///system, "
                        "xen:///system, qemu+ssh://user@host/system or test:///default")
    if uri.startswith("test:///") and uri != "test:///default":
        node = Path(uri.removeprefix("test://"))
        if not node.is_file():
            raise UserError(f"--uri {uri}: no test node file at {node}")
    return uri


@host.command("create")
@click.argument("name")
@click.option("--driver", type=click.Choice(["libvirt"]), default="libvirt", show_default=True)
@click.option("--uri", help="libvirt URI of the hypervisor.")
@click.option("--domain-type", help="Domain type to create (default: the best the host "
              "offers; use qemu where KVM is not available).")
@pass_ctx
def create_cmd(ctx: Context, name: str, driver: str, uri: str | None,
               domain_type: str | None) -> None:
    """Add a host; the engine monitors it from its next pass."""
    if not uri:
        raise UserError("--uri is required for a libvirt host")
    cfg = {"uri": _check_uri(uri)}
    if domain_type:
        cfg["domain_type"] = domain_type
    rec = ctx.store.hosts.add(name, driver, cfg)
    click.echo(f"ID: {rec.id}")


@host.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def list_cmd(ctx: Context, as_json: bool) -> None:
    """OpenNebula's columns: CPU in percent (100 per core), memory in binary units."""
    hosts = ctx.store.hosts.list()
    if as_json:
        echo_json([host_json(h) for h in hosts])
        return
    click.echo(table(HOST_COLUMNS, [host_row(h) for h in hosts], right=NUMERIC))


def host_json(h) -> dict:  # type: ignore[no-untyped-def]
    return {**dataclasses.asdict(h), "stat": h.stat}


@host.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def show_cmd(ctx: Context, name: str, as_json: bool) -> None:
    h = ctx.store.hosts.get(name)
    vms = ctx.store.vms.list(host_id=h.id, include_done=False)
    if as_json:
        echo_json({**host_json(h), "vms": [vm.id for vm in vms]})
        return
    mon = h.monitor
    click.echo(f"HOST {h.id} INFORMATION")
    click.echo(pairs([
        ("ID", h.id), ("NAME", h.name), ("DRIVER", h.driver),
        *((k.upper(), v) for k, v in h.config.items()),
        ("STATE", h.stat), ("ERROR", h.error or "-"), ("LAST MONITORED", stamp(h.monitored_at)),
    ]))
    click.echo("\nHOST SHARES")
    click.echo(pairs([
        ("TOTAL CPU", mon.get("TCPU", "-")), ("FREE CPU", mon.get("FCPU", "-")),
        ("AVAILABLE CPU", mon.get("ACPU", "-")), ("TOTAL MEMORY", human_mb(mon.get("TMEM"))),
        ("FREE MEMORY", human_mb(mon.get("FMEM"))),
        ("AVAILABLE MEMORY", human_mb(mon.get("AMEM"))), ("RUNNING VMS", mon.get("RVM", 0)),
        ("HYPERVISOR", mon.get("HYPERVISOR", "-")),
    ]))
    if h.attrs:
        click.echo("\nATTRIBUTES")
        click.echo(pairs(sorted(h.attrs.items())))
    click.echo("\nVIRTUAL MACHINES")
    click.echo(table(VM_COLUMNS, [vm_row(vm) for vm in vms], right=NUMERIC))


@host.command("update")
@click.argument("name")
@click.argument("assignments", nargs=-1, required=True, metavar="KEY=VALUE...")
@pass_ctx
def update_cmd(ctx: Context, name: str, assignments: tuple[str, ...]) -> None:
    """Set attributes REQUIREMENTS and RANK can use (KEY= removes one)."""
    attrs: dict[str, str | None] = {}
    for item in assignments:
        key, sep, value = item.partition("=")
        if not sep or not key.replace("_", "").isalnum():
            raise UserError(f"{item!r}: expected KEY=VALUE (KEY of letters, digits, _)")
        attrs[key.upper()] = value if value else None
    ctx.store.hosts.update_attrs(name, attrs)


def _enabling(name: str, enabled: bool, help_text: str) -> None:
    @host.command(name, help=help_text)
    @click.argument("names", nargs=-1, required=True)
    @pass_ctx
    def command(ctx: Context, names: tuple[str, ...]) -> None:
        for host_name in names:
            ctx.store.hosts.set_enabled(host_name, enabled)


_enabling("enable", True, "Let the scheduler place VMs on these hosts again.")
_enabling("disable", False, "The scheduler places nothing new here; running VMs stay.")


@host.command("delete")
@click.argument("names", nargs=-1, required=True)
@pass_ctx
def delete_cmd(ctx: Context, names: tuple[str, ...]) -> None:
    for name in names:
        h = ctx.store.hosts.delete(name)
        click.echo(f"deleted host {h.id} {h.name}")
