"""`onetui host …`: declare hypervisor hosts and see what monitoring says of them."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from onetui.cli.completion import host_names
from onetui.cli.context import Context
from onetui.cli.history import history_option, print_history, refuse_opennebula
from onetui.cli.output import Output, echo_json, list_options, pools, show_options
from onetui.drivers.userdata import DEFAULTS, check_var
from onetui.errors import UserError
from onetui.model import Host
from onetui.view.describe import host_text
from onetui.view.rows import HOST_COLUMNS, NUMERIC, host_row

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


def _libvirt_config(uri: str | None, domain_type: str | None) -> dict[str, Any]:
    if not uri:
        raise UserError("--uri is required for a libvirt host")
    cfg = {"uri": _check_uri(uri)}
    if domain_type:
        cfg["domain_type"] = domain_type
    return cfg




def _ec2_config(ctx: Context, opts: dict) -> dict:
    """An EC2 host's settings. No credentials: boto3 finds them (profile, environment,
    instance role), and onetui never stores them."""
    if not opts["region"]:
        raise UserError("--region is required for an ec2 host (e.g. us-east-1)")
    cfg = {k: opts[k] for k in ("region", "profile", "endpoint_url") if opts[k]}
    limit = opts["max_instances"]
    cfg["max_instances"] = limit
    cfg["max_cpu"] = opts["max_cpu"] or limit * 100
    cfg["max_memory"] = opts["max_memory"] or limit * 1700
    if opts["network"]:
        cfg["network"] = ctx.store.networks.get(opts["network"]).name
    variables = {}
    for item in opts["userdata_var"]:
        key, sep, value = item.partition("=")
        if not sep:
            raise UserError(f"--userdata-var {item[:60]!r}: expected KEY=VALUE with KEY one "
                            f"of {', '.join(DEFAULTS)}")
        variables[key] = check_var(key, value)
    if variables:
        cfg["userdata"] = variables
    if opts["userdata_template"]:
        path = Path(opts["userdata_template"]).resolve()
        if not path.is_file():
            raise UserError(f"--userdata-template {path}: no such file")
        cfg["userdata_template"] = str(path)
    return cfg


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


_LIBVIRT_OPTS = ("uri", "domain_type")


def _config(ctx: Context, driver: str, opts: dict[str, Any]) -> dict[str, Any]:
    given = [k for k, v in opts.items() if v not in (None, ())]
    wrong = [k for k in given if (k in _LIBVIRT_OPTS) != (driver == "libvirt")]
    if wrong:
        names = ", ".join("--" + k.replace("_", "-") for k in wrong)
        raise UserError(f"{names}: not a setting of {driver} hosts")
    if driver == "ec2":
        return _ec2_config(ctx, opts)
    return _libvirt_config(str(opts["uri"] or ""), str(opts["domain_type"] or "") or None)


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
    rec = ctx.store.hosts.add(name, driver, _config(ctx, driver, opts))
    click.echo(f"ID: {rec.id}")


@host.command("list")
@list_options(HOST_COLUMNS, right=NUMERIC, one="HOST")
@pass_ctx
def list_cmd(ctx: Context, out: Output) -> None:
    """OpenNebula's columns: CPU in percent (100 per core), memory in binary units."""
    hosts = ctx.store.hosts.list()
    out.emit(hosts, row=host_row, as_json=host_json,
             one=lambda kept: pools().host_pool(kept, _vm_ids(ctx)))


def _vm_ids(ctx: Context) -> dict[int, list[int]]:
    """The VMs on each host (done ones are on none), by host id."""
    on: dict[int, list[int]] = {}
    for vm in ctx.store.vms.list(include_done=False):
        if vm.host_id is not None:
            on.setdefault(vm.host_id, []).append(vm.id)
    return on


def host_json(h: Host) -> dict[str, Any]:
    return {**dataclasses.asdict(h), "stat": h.stat}


@host.command("show", help="Everything about a host: its driver, figures, attributes and VMs.")
@click.argument("name", shell_complete=host_names)
@show_options("HOST")
@history_option("host")
@pass_ctx
def show_cmd(ctx: Context, name: str, out: Output, history: int | None) -> None:
    if history is not None:
        refuse_opennebula(out)
    h = ctx.store.hosts.get(name)
    if history is not None:
        print_history(ctx.store, "host", str(h.id), history, out.as_json)
        return
    vms = ctx.store.vms.list(host_id=h.id, include_done=False)
    if out.opennebula:
        out.print_one(pools().host_element(h, [vm.id for vm in vms]))
        return
    if out.as_json:
        echo_json({**host_json(h), "vms": [vm.id for vm in vms]})
        return
    click.echo(host_text(ctx.store, h.id)[1])


@host.command("update")
@click.argument("name", shell_complete=host_names)
@click.argument("assignments", nargs=-1, metavar="[KEY=VALUE]...")
@_settings(create=False)
@pass_ctx
def update_cmd(ctx: Context, name: str, assignments: tuple[str, ...], **opts: Any) -> None:
    """Change a host in place: attributes REQUIREMENTS and RANK can use (KEY=VALUE; KEY=
    removes one) and driver settings (--endpoint-url, --uri, --max-instances, …; the
    others keep their values). VMs stay; the engine uses the new settings at its next pass."""
    h = ctx.store.hosts.get(name)
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
    config = _config(ctx, h.driver, {**_options_of(h), **given,
                                     "userdata_var": _merged_vars(h, given)}) \
        if given else None
    ctx.store.hosts.update(h.id, attrs=attrs, config=config)
    click.echo(f"host {h.name} updated")


def _options_of(h: Host) -> dict[str, Any]:
    """A host's stored settings as the options that made them (limits derived from
    --max-instances are left out, so they follow a new one)."""
    cfg = h.config
    if h.driver != "ec2":
        return {k: cfg.get(k) for k in _LIBVIRT_OPTS}
    limit = cfg.get("max_instances", 20)
    derived = {"max_cpu": limit * 100, "max_memory": limit * 1700}
    keys = ("region", "profile", "endpoint_url", "max_instances", "max_cpu", "max_memory",
            "network", "userdata_template")
    return {k: None if derived.get(k) == cfg.get(k) else cfg.get(k) for k in keys}


def _merged_vars(h: Host, given: dict[str, Any]) -> tuple[str, ...]:
    """The bootstrap values kept, changed by `--userdata-var KEY=VALUE`, removed by KEY=."""
    merged = dict(h.config.get("userdata", {}))
    for item in given.get("userdata_var", ()):
        key, sep, value = item.partition("=")
        if not sep:
            raise UserError(f"--userdata-var {item[:60]!r}: expected KEY=VALUE (KEY= removes "
                            f"one) with KEY one of {', '.join(DEFAULTS)}")
        if value:
            merged[key] = value
        else:
            merged.pop(key, None)
    return tuple(f"{k}={v}" for k, v in merged.items())


def _enabling(name: str, enabled: bool, help_text: str) -> None:
    @host.command(name, help=help_text)
    @click.argument("names", nargs=-1, required=True, shell_complete=host_names)
    @pass_ctx
    def command(ctx: Context, names: tuple[str, ...]) -> None:
        for host_name in names:
            ctx.store.hosts.set_enabled(host_name, enabled)


_enabling("enable", True, "Let the scheduler place VMs on these hosts again.")
_enabling("disable", False, "The scheduler places nothing new here; running VMs stay.")


@host.command("delete", help="Remove hosts that no VM is on any more.")
@click.argument("names", nargs=-1, required=True, shell_complete=host_names)
@pass_ctx
def delete_cmd(ctx: Context, names: tuple[str, ...]) -> None:
    for name in names:
        h = ctx.store.hosts.delete(name)
        click.echo(f"deleted host {h.id} {h.name}")
