"""`onetui vm …`: create VMs from templates and drive their life cycle, like `onevm`."""

from __future__ import annotations

import dataclasses
import sys
import time

import click

from onetui.cli.context import Context
from onetui.cli.output import echo_json, pairs, table
from onetui.engine import actions, instantiate
from onetui.errors import UserError
from onetui.model import VM
from onetui.render import NUMERIC, VM_COLUMNS, stamp, vm_row
from onetui.store import Store
from onetui.template import Vector, parse

pass_ctx = click.make_pass_decorator(Context)


@click.group()
def vm() -> None:
    """Virtual machines: create, list, show, shutdown, delete, hold/release, suspend/resume."""


@vm.command("create")
@click.argument("template", metavar="TEMPLATE_FILE_OR_NAME")
@click.option("--count", default=1, show_default=True, help="How many VMs.")
@click.option("--name", help="Name pattern; %i is the index (web-%i, lab-%02i).")
@click.option("--hold", is_flag=True, help="Create them on hold (the scheduler skips them).")
@click.option("--wait", is_flag=True, help="Wait until every VM runs or fails.")
@click.option("--timeout", default=600.0, show_default=True, help="Seconds --wait waits.")
@pass_ctx
def create_cmd(ctx: Context, template: str, count: int, name: str | None, hold: bool,
               wait: bool, timeout: float) -> None:
    """Write the VMs' intents and print their IDs; the engine deploys them."""
    ids = instantiate.create(ctx.store, template, count=count, name=name, hold=hold)
    for vid in ids:
        click.echo(f"ID: {vid}")
    if wait and not hold:
        _wait(ctx.store, ids, timeout)


def _wait(store: Store, ids: list[int], timeout: float) -> None:
    lease = store.leader.current()
    if lease is None or not lease.alive:
        click.echo("onetui: no engine is running; `onetui serve` (or the console) deploys "
                   "these VMs", err=True)
    deadline = time.monotonic() + timeout
    while True:
        vms = store.vms.by_ids(ids)
        if all(v.state in ("runn", "fail", "done") for v in vms):
            break
        if time.monotonic() > deadline:
            waiting = ", ".join(f"{v.id} {v.state}" for v in vms if v.state != "runn")
            raise UserError(f"timed out after {timeout:g} s waiting for: {waiting}")
        time.sleep(0.3)
    failed = [v for v in vms if v.state != "runn"]
    for v in failed:
        click.echo(f"VM {v.id} {v.state}: {v.message}", err=True)
    if failed:
        sys.exit(1)


@vm.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include VMs that are done.")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def list_cmd(ctx: Context, show_all: bool, as_json: bool) -> None:
    vms = ctx.store.vms.list(include_done=show_all)
    if as_json:
        echo_json([vm_json(v) for v in vms])
        return
    now = time.time()
    click.echo(table(VM_COLUMNS, [vm_row(v, now) for v in vms], right=NUMERIC))


def vm_json(v: VM) -> dict:
    return {**dataclasses.asdict(v), "vm_state": v.vm_state, "lcm_state": v.lcm_state}


def _cloud_lines(v: VM) -> list[tuple[str, str]]:
    """EC2 VMs: the instance, its addresses, and the worker's VPN identity."""
    info = v.info
    keys = (("INSTANCE STATE", "guest_instance_state"), ("INSTANCE TYPE", "guest_instance_type"),
            ("PUBLIC DNS", "guest_public_dns"), ("PUBLIC IP", "guest_public_ip"),
            ("PRIVATE IP", "guest_private_ip"), ("VPN IP", "vpn_ip"),
            ("VPN HOSTNAME", "vpn_hostname"), ("LAUNCH", "launch"))
    return [(label, str(info[key])) for label, key in keys if info.get(key)]


def _template_lines(body: str) -> list[tuple[str, str]]:
    """The template as `onevm show` prints it: vectors as K=V,K=V."""
    out = []
    for attr in parse(body, "template"):
        value = attr.value
        if isinstance(value, Vector):
            value = ",".join(f"{k}={v}" for k, v in value.items)
        out.append((attr.name, value))
    return out


@vm.command("show")
@click.argument("ref", metavar="ID")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def show_cmd(ctx: Context, ref: str, as_json: bool) -> None:
    """Everything about a VM, including why it is still pending."""
    v = ctx.store.vms.get(ref)
    events = ctx.store.events.recent(limit=10, kind="vm", obj_id=v.id)
    if as_json:
        echo_json({**vm_json(v), "events": [dataclasses.asdict(e) for e in events]})
        return
    click.echo(f"VIRTUAL MACHINE {v.id} INFORMATION")
    click.echo(pairs([
        ("ID", v.id), ("NAME", v.name), ("TEMPLATE ID", v.template_id if v.template_id
                                          is not None else -1),
        ("STATE", v.vm_state), ("LCM STATE", v.lcm_state), ("SHORT STATE", v.state),
        ("PENDING ACTION", v.intent or "-"), ("HOST", v.host_name or "-"),
        ("DEPLOY ID", v.deploy_id or "-"), ("CPU", f"{v.cpu:g}"), ("MEMORY", f"{v.memory} MB"),
        ("IP", v.ip or "-"), ("MAC", v.mac or "-"), *_cloud_lines(v),
        ("CREATED", stamp(v.created_at)), ("START TIME", stamp(v.started_at)),
        ("STOP TIME", stamp(v.stopped_at)), ("LAST POLL", stamp(v.polled_at)),
        ("MESSAGE", v.message or "-"),
    ]))
    if v.sched:
        click.echo("\nWHY PENDING")
        click.echo(table(("HOST", "REASON"), [(r["host"], r["reason"]) for r in v.sched]))
    click.echo("\n....: Template :....")
    click.echo(pairs(_template_lines(v.body)))
    if events:
        click.echo("\nEVENTS")
        for e in reversed(events):
            click.echo(f"{stamp(e.at)}  {e.message}")


def _action_command(name: str, action, help_text: str) -> None:  # type: ignore[no-untyped-def]
    @vm.command(name, help=help_text)
    @click.argument("refs", nargs=-1, required=True, metavar="ID...")
    @pass_ctx
    def command(ctx: Context, refs: tuple[str, ...]) -> None:
        for ref in refs:
            click.echo(action(ctx.store, ref))


_action_command("shutdown", actions.shutdown, "Shut VMs down (ACPI), then clean up.")
_action_command("delete", actions.delete, "Destroy VMs at once and remove their disks.")
_action_command("hold", actions.hold, "Keep pending VMs from being scheduled.")
_action_command("release", actions.release, "Let held VMs be scheduled.")
_action_command("suspend", actions.suspend, "Pause running VMs (they keep their host).")
_action_command("stop", actions.stop, "Save VMs to disk, freeing their host's CPU and memory.")
_action_command("resume", actions.resume, "Resume suspended or stopped VMs.")
