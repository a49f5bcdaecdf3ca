"""`onetui vm …`: create VMs from templates and drive their life cycle, like `onevm`."""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Callable

import click

from onetui.cli.context import Context
from onetui.cli.output import Output, echo_json, list_options, show_options
from onetui.errors import UserError
from onetui.model import VM
from onetui.ops import instantiate
from onetui.ops import vm_actions as actions
from onetui.store import Store
from onetui.view import pools
from onetui.view.describe import vm_text
from onetui.view.rows import NUMERIC, VM_COLUMNS, vm_row

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


@vm.command("list", help="VMs as `onevm list` prints them (done ones with --all).")
@click.option("--all", "show_all", is_flag=True, help="Include VMs that are done.")
@list_options(VM_COLUMNS, right=NUMERIC, one="VM")
@pass_ctx
def list_cmd(ctx: Context, show_all: bool, out: Output) -> None:
    vms = ctx.store.vms.list(include_done=show_all)
    now = time.time()
    out.emit(vms, row=lambda v: vm_row(v, now), as_json=vm_json,
             one=lambda kept: pools.vm_pool(kept, ctx.store.hosts.list()))


def vm_json(v: VM) -> dict:
    return {**dataclasses.asdict(v), "vm_state": v.vm_state, "lcm_state": v.lcm_state}


@vm.command("show")
@click.argument("ref", metavar="ID")
@show_options("VM")
@pass_ctx
def show_cmd(ctx: Context, ref: str, out: Output) -> None:
    """Everything about a VM, including why it is still pending."""
    v = ctx.store.vms.get(ref)
    if out.opennebula:
        host = ctx.store.hosts.by_ids({v.host_id}) if v.host_id is not None else []
        out.print_one(pools.vm_element(v, host[0] if host else None))
        return
    if out.as_json:
        events = ctx.store.events.recent(limit=10, kind="vm", obj_id=v.id)
        echo_json({**vm_json(v), "events": [dataclasses.asdict(e) for e in events]})
        return
    click.echo(vm_text(ctx.store, v.id)[1])


def _action_command(name: str, action: Callable[[Store, str], str], help_text: str) -> None:
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
