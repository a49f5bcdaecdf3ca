"""`onetui net …`: address pools (the seed's VPN range 10.1.1.100-254 for EC2 workers) and
the /etc/hosts lines for their leases."""

from __future__ import annotations

from pathlib import Path

import click

from onetui.cli.completion import network_names
from onetui.cli.context import Context
from onetui.cli.output import Output, echo_json, json_option, list_options, pairs, table
from onetui.integrations.hostsfile import write_block

pass_ctx = click.make_pass_decorator(Context)


@click.group()
def net() -> None:
    """Networks: address ranges whose leases VMs take (IP, MAC from the IP, hostname)."""


@net.command("create", help="Make a network: an address range whose leases VMs take.")
@click.argument("name")
@click.option("--range", "ip_range", required=True, metavar="FIRST-LAST",
              help="Address range, e.g. 10.1.1.100-10.1.1.254.")
@click.option("--hostname", default="", help="Hostname pattern; %i is the address's index "
              "in the range (workernode%i: workernode0 is the first address).")
@click.option("--bridge", help="Bridge that libvirt NICs on this network attach to.")
@pass_ctx
def create_cmd(ctx: Context, name: str, ip_range: str, hostname: str,
               bridge: str | None) -> None:
    nid = ctx.client.call("net.create", name=name, range=ip_range, hostname=hostname,
                          bridge=bridge)
    click.echo(f"ID: {nid}")


@net.command("list", help="Networks with their ranges and free addresses.")
@list_options(("ID", "NAME", "RANGE", "HOSTNAME", "SIZE", "LEASED"),
              right=("ID", "SIZE", "LEASED"))
@pass_ctx
def list_cmd(ctx: Context, out: Output) -> None:
    out.emit(ctx.client.call("net.list"),
             row=lambda n: (str(n["id"]), n["name"], n["range"], n["hostname"] or "-",
                            str(n["size"]), str(n["leased"])),
             as_json=lambda n: n)


@net.command("show", help="A network and its leases.")
@click.argument("name", shell_complete=network_names)
@json_option
@pass_ctx
def show_cmd(ctx: Context, name: str, as_json: bool) -> None:
    n = ctx.client.call("net.show", ref=name)
    if as_json:
        echo_json({k: v for k, v in n.items() if k not in ("size", "free")})
        return
    click.echo(f"NETWORK {n['id']} INFORMATION")
    click.echo(pairs([("NAME", n["name"]), ("RANGE", f"{n['first_ip']}-{n['last_ip']}"),
                      ("HOSTNAME", n["hostname"] or "-"), ("SIZE", n["size"]),
                      ("FREE", n["free"])]))
    click.echo("\nLEASES")
    click.echo(table(("IP", "MAC", "HOSTNAME", "VM"),
                     [(x["ip"], x["mac"], x["hostname"] or "-", x["vm_id"])
                      for x in n["leases"]]))


@net.command("hosts")
@click.argument("name", shell_complete=network_names)
@click.option("--write", "path", type=click.Path(dir_okay=False),
              help="Replace onetui's marked block in this file (e.g. /etc/hosts), atomically.")
@pass_ctx
def hosts_cmd(ctx: Context, name: str, path: str | None) -> None:
    """The /etc/hosts lines of the network's leases."""
    got = ctx.client.call("net.hosts", ref=name)
    lines = got["lines"]
    if path:  # written here, with the caller's rights, not the daemon's
        write_block(Path(path), got["name"], lines)
        click.echo(f"{path}: {len(lines)} line(s) in the onetui {name} block")
    else:
        for line in lines:
            click.echo(line)


@net.command("delete", help="Remove networks no VM holds a lease on.")
@click.argument("names", nargs=-1, required=True, shell_complete=network_names)
@pass_ctx
def delete_cmd(ctx: Context, names: tuple[str, ...]) -> None:
    for name in names:
        click.echo(ctx.client.call("net.delete", ref=name))
