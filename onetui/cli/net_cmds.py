"""`onetui net …`: address pools (the seed's VPN range 10.1.1.100-254 for EC2 workers) and
the /etc/hosts lines for their leases."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import click

from onetui.cli.completion import network_names
from onetui.cli.context import Context
from onetui.cli.output import Output, echo_json, json_option, list_options, pairs, table
from onetui.integrations.hostsfile import write_block
from onetui.store.networks import parse_range

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
    first, last = parse_range(ip_range)
    rec = ctx.store.networks.add(name, first, last, hostname,
                                 {"bridge": bridge} if bridge else {})
    click.echo(f"ID: {rec.id}")


@net.command("list", help="Networks with their ranges and free addresses.")
@list_options(("ID", "NAME", "RANGE", "HOSTNAME", "SIZE", "LEASED"),
              right=("ID", "SIZE", "LEASED"))
@pass_ctx
def list_cmd(ctx: Context, out: Output) -> None:
    nets = [(n, n.size - ctx.store.networks.free(n.id)) for n in ctx.store.networks.list()]
    out.emit(nets,
             row=lambda x: (str(x[0].id), x[0].name, f"{x[0].first_ip}-{x[0].last_ip}",
                            x[0].hostname or "-", str(x[0].size), str(x[1])),
             as_json=lambda x: {"id": x[0].id, "name": x[0].name,
                                "range": f"{x[0].first_ip}-{x[0].last_ip}",
                                "hostname": x[0].hostname, "size": x[0].size,
                                "leased": x[1], "config": x[0].config})


@net.command("show", help="A network and its leases.")
@click.argument("name", shell_complete=network_names)
@json_option
@pass_ctx
def show_cmd(ctx: Context, name: str, as_json: bool) -> None:
    n = ctx.store.networks.get(name)
    leases = ctx.store.networks.leases(n.id)
    if as_json:
        echo_json({"id": n.id, "name": n.name, "first_ip": n.first_ip, "last_ip": n.last_ip,
                   "hostname": n.hostname, "config": n.config,
                   "leases": [{"ip": x.ip, "mac": x.mac, "hostname": x.hostname,
                               "vm_id": x.vm_id} for x in leases]})
        return
    click.echo(f"NETWORK {n.id} INFORMATION")
    click.echo(pairs([("NAME", n.name), ("RANGE", f"{n.first_ip}-{n.last_ip}"),
                      ("HOSTNAME", n.hostname or "-"), ("SIZE", n.size),
                      ("FREE", ctx.store.networks.free(n.id))]))
    click.echo("\nLEASES")
    click.echo(table(("IP", "MAC", "HOSTNAME", "VM"),
                     [(x.ip, x.mac, x.hostname or "-", x.vm_id) for x in leases]))


def hosts_lines(ctx: Context, name: str) -> list[str]:
    leases = ctx.store.networks.leases(name)
    ordered = sorted(leases, key=lambda x: int(ipaddress.IPv4Address(x.ip)))
    return [f"{x.ip}\t{x.hostname}" for x in ordered if x.hostname]


@net.command("hosts")
@click.argument("name", shell_complete=network_names)
@click.option("--write", "path", type=click.Path(dir_okay=False),
              help="Replace onetui's marked block in this file (e.g. /etc/hosts), atomically.")
@pass_ctx
def hosts_cmd(ctx: Context, name: str, path: str | None) -> None:
    """The /etc/hosts lines of the network's leases."""
    lines = hosts_lines(ctx, name)
    if path:
        write_block(Path(path), ctx.store.networks.get(name).name, lines)
        click.echo(f"{path}: {len(lines)} line(s) in the onetui {name} block")
    else:
        for line in lines:
            click.echo(line)


@net.command("delete", help="Remove networks no VM holds a lease on.")
@click.argument("names", nargs=-1, required=True, shell_complete=network_names)
@pass_ctx
def delete_cmd(ctx: Context, names: tuple[str, ...]) -> None:
    for name in names:
        n = ctx.store.networks.delete(name)
        click.echo(f"deleted network {n.id} {n.name}")
