"""`onetui vm …`: create VMs from templates and drive their life cycle, like `onevm`."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from onetui.cli.completion import host_names, template_names_or_files, vm_ids
from onetui.cli.context import Context
from onetui.cli.history import history_option, print_history, refuse_opennebula
from onetui.cli.output import Output, echo_json, list_options, pools, show_options
from onetui.client import Client
from onetui.errors import UserError
from onetui.model import VM, Host
from onetui.view.records import vms_of
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
    overrides = {k: v for k, v in (("CPU", cpu), ("MEMORY", memory),
                                   ("REQUIREMENTS", requirements)) if v is not None}
    ids = ctx.client.call("vm.create", template=template, count=count, name=name,
                          hold=hold, overrides=overrides, host=host,
                          text=template_file_text(template))
    for vid in ids:
        click.echo(f"ID: {vid}")
    if wait and not hold:
        _wait(ctx.client, ids, timeout)


def template_file_text(ref: str) -> str | None:
    """The template file `ref` names, read here with the caller's own rights (the daemon
    never opens a path a client names); None when there is no such file (then `ref` is a
    stored template's name, or the daemon says there is none). A file the parser would
    refuse unread (too large, not UTF-8, unreadable) is refused here in its words."""
    from onetui.template.parser import MAX_BYTES, load  # only commands sending a template

    path = Path(ref)
    if not path.is_file():
        return None
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
        if len(raw) <= MAX_BYTES:
            return raw.removeprefix(b"\xef\xbb\xbf").decode("utf-8")
    except (OSError, UnicodeDecodeError):
        pass
    load(path)  # raises the TemplateError the parser gives for this file
    return None


def _wait(client: Client, ids: list[int], timeout: float) -> None:
    """Print each VM's state as it changes until all run or failed. At the timeout or
    Ctrl-C, say what is left and why (the WHY PENDING reason); the VMs stay either way."""
    lease = client.call("engine.lease")
    if lease is None or not lease["alive"]:
        click.echo("onetui: no engine is running; `onetui serve` (or the console) deploys "
                   "these VMs", err=True)
    deadline = time.monotonic() + timeout
    seen: dict[int, str] = {}
    try:
        while True:
            vms = vms_of(client.call("vm.by_ids", ids=ids))
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
        click.echo(f"onetui: interrupted; {_left(vms_of(client.call('vm.by_ids', ids=ids)))}",
                   err=True)
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
    records = ctx.client.call("vm.list", include_done=show_all)
    now = time.time()
    out.emit(list(zip(vms_of(records), records, strict=True)),
             row=lambda pair: vm_row(pair[0], now), as_json=lambda pair: pair[1],
             one=lambda kept: pools().vm_pool([v for v, _ in kept], _hosts(ctx)))


def _hosts(ctx: Context) -> list[Host]:
    from onetui.view.records import host_of

    return [host_of(h) for h in ctx.client.call("host.list")]


@vm.command("show")
@click.argument("ref", metavar="ID", shell_complete=vm_ids)
@show_options("VM")
@history_option("VM")
@pass_ctx
def show_cmd(ctx: Context, ref: str, out: Output, history: int | None) -> None:
    """Everything about a VM, including why it is still pending."""
    if history is not None:
        refuse_opennebula(out)
        print_history(ctx.client, "vm", ref, history, out.as_json)
        return
    shown = ctx.client.call("vm.show", ref=ref)
    if out.opennebula:
        from onetui.view.records import host_of

        host = host_of(shown["host"]) if shown["host"] else None
        out.print_one(pools().vm_element(vms_of([shown["vm"]])[0], host))
        return
    if out.as_json:
        echo_json({**shown["vm"], "events": shown["events"]})
        return
    click.echo(shown["text"])


def _act(ctx: Context, ref: str, action: str, **fields: object) -> None:
    click.echo(ctx.client.call("vm.action", ref=ref, action=action, **fields))


def _action_command(name: str, help_text: str) -> None:
    @vm.command(name, help=help_text)
    @click.argument("refs", nargs=-1, required=True, metavar="ID...", shell_complete=vm_ids)
    @pass_ctx
    def command(ctx: Context, refs: tuple[str, ...]) -> None:
        for ref in refs:
            _act(ctx, ref, name)


_action_command("shutdown", "Shut VMs down (ACPI), then clean up.")
_action_command("delete", "Destroy VMs at once and remove their disks.")
_action_command("hold", "Keep pending VMs from being scheduled.")
_action_command("release", "Let held VMs be scheduled.")
_action_command("suspend", "Pause running VMs (they keep their host).")
_action_command("stop", "Save VMs to disk, freeing their host's CPU and memory.")
_action_command("resume", "Resume suspended or stopped VMs.")



@vm.command("reboot")
@click.argument("refs", nargs=-1, required=True, metavar="ID...", shell_complete=vm_ids)
@click.option("--hard", is_flag=True, help="Reset at once instead of asking through ACPI.")
@pass_ctx
def reboot_cmd(ctx: Context, refs: tuple[str, ...], hard: bool) -> None:
    """Reboot running VMs (they keep their host, disks and addresses)."""
    for ref in refs:
        _act(ctx, ref, "reboot", hard=hard)


@vm.command("poweroff")
@click.argument("refs", nargs=-1, required=True, metavar="ID...", shell_complete=vm_ids)
@click.option("--hard", is_flag=True, help="Pull the plug instead of asking through ACPI.")
@pass_ctx
def poweroff_cmd(ctx: Context, refs: tuple[str, ...], hard: bool) -> None:
    """Power VMs off but keep them on their host with their disks (`vm resume` boots
    them); unlike shutdown, nothing is removed."""
    for ref in refs:
        _act(ctx, ref, "poweroff", hard=hard)


@vm.command("migrate")
@click.argument("ref", metavar="ID", shell_complete=vm_ids)
@click.argument("host", metavar="HOST", shell_complete=host_names)
@click.option("--live", is_flag=True, help="Keep the guest running while it moves.")
@pass_ctx
def migrate_cmd(ctx: Context, ref: str, host: str, live: bool) -> None:
    """Move a running VM to another libvirt host (libvirt's migration: both hypervisors
    must allow it and see the VM's disks; else the VM stays, with libvirt's reason)."""
    _act(ctx, ref, "migrate", host=host, live=live)


@vm.command("resched")
@click.argument("refs", nargs=-1, required=True, metavar="ID...", shell_complete=vm_ids)
@pass_ctx
def resched_cmd(ctx: Context, refs: tuple[str, ...]) -> None:
    """Move running VMs to the host the scheduler now likes best (another one)."""
    for ref in refs:
        _act(ctx, ref, "resched")


@vm.command("deploy")
@click.argument("ref", metavar="ID", shell_complete=vm_ids)
@click.argument("host", metavar="HOST", shell_complete=host_names)
@pass_ctx
def deploy_cmd(ctx: Context, ref: str, host: str) -> None:
    """Deploy a pending or held VM on HOST, past REQUIREMENTS and RANK (not past the
    host's free CPU and memory: then it waits, saying so)."""
    _act(ctx, ref, "deploy", host=host)
