"""`onetui vm …`: create VMs from templates and drive their life cycle, like `onevm`."""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Callable

import click

from onetui.cli.completion import host_names, template_names_or_files, vm_ids
from onetui.cli.context import Context
from onetui.cli.history import history_option, print_history, refuse_opennebula
from onetui.cli.output import Output, echo_json, list_options, pools, show_options
from onetui.errors import UserError
from onetui.model import VM
from onetui.ops import vm_actions as actions
from onetui.store import Store
from onetui.view.describe import vm_text
from onetui.view.rows import NUMERIC, VM_COLUMNS, vm_row

pass_ctx = click.make_pass_decorator(Context)


@click.group()
def vm() -> None:
    """Virtual machines: create, list, show; shutdown, delete, hold/release, suspend, stop,
    resume, reboot, poweroff; deploy, migrate, resched."""


@vm.command("create")
@click.argument("template", metavar="TEMPLATE_FILE_OR_NAME",
                shell_complete=template_names_or_files)
@click.option("--count", default=1, show_default=True, help="How many VMs.")
@click.option("--name", help="Name pattern; %i is the index (web-%i, lab-%02i).")
@click.option("--hold", is_flag=True, help="Create them on hold (the scheduler skips them).")
@click.option("--cpu", help="CPU share per VM instead of the template's (e.g. 0.5, 2).")
@click.option("--memory", help="Memory per VM in MB instead of the template's.")
@click.option("--requirements", help='REQUIREMENTS instead of the template\'s '
              '(e.g. \'HYPERVISOR = "QEMU"\').')
@click.option("--host", shell_complete=host_names, help="Deploy on this host (past "
              "REQUIREMENTS and RANK, not past its room), as `vm deploy`.")
@click.option("--wait", is_flag=True, help="Wait until every VM runs or fails, printing "
              "states as they change.")
@click.option("--timeout", default=600.0, show_default=True, help="Seconds --wait waits.")
@pass_ctx
def create_cmd(ctx: Context, template: str, count: int, name: str | None, hold: bool,
               cpu: str | None, memory: str | None, requirements: str | None,
               host: str | None, wait: bool, timeout: float) -> None:
    """Write the VMs' intents and print their IDs; the engine deploys them."""
    from onetui.ops import instantiate  # with the template language: only `vm create` needs it

    overrides = {k: v for k, v in (("CPU", cpu), ("MEMORY", memory),
                                   ("REQUIREMENTS", requirements)) if v is not None}
    ids = instantiate.create(ctx.store, template, count=count, name=name, hold=hold,
                             overrides=overrides, host=host)
    for vid in ids:
        click.echo(f"ID: {vid}")
    if wait and not hold:
        _wait(ctx.store, ids, timeout)


def _wait(store: Store, ids: list[int], timeout: float) -> None:
    """Print each VM's state as it changes until all run or failed. At the timeout or
    Ctrl-C, say what is left and why (the WHY PENDING reason); the VMs stay either way."""
    lease = store.leader.current()
    if lease is None or not lease.alive:
        click.echo("onetui: no engine is running; `onetui serve` (or the console) deploys "
                   "these VMs", err=True)
    deadline = time.monotonic() + timeout
    seen: dict[int, str] = {}
    try:
        while True:
            vms = store.vms.by_ids(ids)
            for v in vms:
                if seen.get(v.id) != v.state:
                    seen[v.id] = v.state
                    why = f": {v.message}" if v.message and v.state in ("pend", "fail") else ""
                    click.echo(f"VM {v.id} {v.name}: {v.state}{why}")
            if all(v.state in ("runn", "fail", "done") for v in vms):
                break
            if time.monotonic() > deadline:
                raise UserError(f"timed out after {timeout:g} s; " + _left(vms))
            time.sleep(0.3)
    except KeyboardInterrupt:
        click.echo(f"onetui: interrupted; {_left(store.vms.by_ids(ids))}", err=True)
        sys.exit(130)
    failed = [v for v in vms if v.state != "runn"]
    for v in failed:
        click.echo(f"VM {v.id} {v.state}: {v.message}", err=True)
    if failed:
        sys.exit(1)


def _left(vms: list[VM]) -> str:
    waiting = [v for v in vms if v.state not in ("runn", "fail", "done")]
    lines = [f"VM {v.id} {v.state}" + (f" ({v.message})" if v.message else "")
             for v in waiting]
    return ("not yet running: " + "; ".join(lines) + ". The VMs stay: the engine goes on "
            f"(`onetui vm delete {' '.join(str(v.id) for v in waiting)}` removes them)")


@vm.command("list", help="VMs as `onevm list` prints them (done ones with --all).")
@click.option("--all", "show_all", is_flag=True, help="Include VMs that are done.")
@list_options(VM_COLUMNS, right=NUMERIC, one="VM")
@pass_ctx
def list_cmd(ctx: Context, show_all: bool, out: Output) -> None:
    vms = ctx.store.vms.list(include_done=show_all)
    now = time.time()
    out.emit(vms, row=lambda v: vm_row(v, now), as_json=vm_json,
             one=lambda kept: pools().vm_pool(kept, ctx.store.hosts.list()))


def vm_json(v: VM) -> dict:
    return {**dataclasses.asdict(v), "vm_state": v.vm_state, "lcm_state": v.lcm_state}


@vm.command("show")
@click.argument("ref", metavar="ID", shell_complete=vm_ids)
@show_options("VM")
@history_option("VM")
@pass_ctx
def show_cmd(ctx: Context, ref: str, out: Output, history: int | None) -> None:
    """Everything about a VM, including why it is still pending."""
    if history is not None:
        refuse_opennebula(out)
    v = ctx.store.vms.get(ref)
    if history is not None:
        print_history(ctx.store, "vm", str(v.id), history, out.as_json)
        return
    if out.opennebula:
        host = ctx.store.hosts.by_ids({v.host_id}) if v.host_id is not None else []
        out.print_one(pools().vm_element(v, host[0] if host else None))
        return
    if out.as_json:
        events = ctx.store.events.recent(limit=10, kind="vm", obj_id=v.id)
        echo_json({**vm_json(v), "events": [dataclasses.asdict(e) for e in events]})
        return
    click.echo(vm_text(ctx.store, v.id)[1])


def _action_command(name: str, action: Callable[[Store, str], str], help_text: str) -> None:
    @vm.command(name, help=help_text)
    @click.argument("refs", nargs=-1, required=True, metavar="ID...", shell_complete=vm_ids)
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



@vm.command("reboot")
@click.argument("refs", nargs=-1, required=True, metavar="ID...", shell_complete=vm_ids)
@click.option("--hard", is_flag=True, help="Reset at once instead of asking through ACPI.")
@pass_ctx
def reboot_cmd(ctx: Context, refs: tuple[str, ...], hard: bool) -> None:
    """Reboot running VMs (they keep their host, disks and addresses)."""
    for ref in refs:
        click.echo(actions.reboot(ctx.store, ref, hard=hard))


@vm.command("poweroff")
@click.argument("refs", nargs=-1, required=True, metavar="ID...", shell_complete=vm_ids)
@click.option("--hard", is_flag=True, help="Pull the plug instead of asking through ACPI.")
@pass_ctx
def poweroff_cmd(ctx: Context, refs: tuple[str, ...], hard: bool) -> None:
    """Power VMs off but keep them on their host with their disks (`vm resume` boots
    them); unlike shutdown, nothing is removed."""
    for ref in refs:
        click.echo(actions.poweroff(ctx.store, ref, hard=hard))


@vm.command("migrate")
@click.argument("ref", metavar="ID", shell_complete=vm_ids)
@click.argument("host", metavar="HOST", shell_complete=host_names)
@click.option("--live", is_flag=True, help="Keep the guest running while it moves.")
@pass_ctx
def migrate_cmd(ctx: Context, ref: str, host: str, live: bool) -> None:
    """Move a running VM to another libvirt host (libvirt's migration: both hypervisors
    must allow it and see the VM's disks; else the VM stays, with libvirt's reason)."""
    click.echo(actions.migrate(ctx.store, ref, host, live=live))


@vm.command("resched")
@click.argument("refs", nargs=-1, required=True, metavar="ID...", shell_complete=vm_ids)
@pass_ctx
def resched_cmd(ctx: Context, refs: tuple[str, ...]) -> None:
    """Move running VMs to the host the scheduler now likes best (another one)."""
    for ref in refs:
        click.echo(actions.resched(ctx.store, ref))


@vm.command("deploy")
@click.argument("ref", metavar="ID", shell_complete=vm_ids)
@click.argument("host", metavar="HOST", shell_complete=host_names)
@pass_ctx
def deploy_cmd(ctx: Context, ref: str, host: str) -> None:
    """Deploy a pending or held VM on HOST, past REQUIREMENTS and RANK (not past the
    host's free CPU and memory: then it waits, saying so)."""
    click.echo(actions.deploy(ctx.store, ref, host))
