"""`onetui ec2 …`: what only an EC2 admin needs — orphaned instances, listed and, on the
admin's word, terminated."""

from __future__ import annotations

import click

from onetui.cli.context import Context
from onetui.cli.output import Output, list_options
from onetui.drivers.base import BatchLauncher
from onetui.drivers.registry import make_driver
from onetui.errors import UserError

pass_ctx = click.make_pass_decorator(Context)


@click.group()
def ec2() -> None:
    """EC2 hosts: orphaned instances."""


@ec2.command("orphans")
@click.option("--terminate", "terminate", is_flag=True,
              help="Terminate them (after checking each is still an orphan).")
@list_options(("HOST", "INSTANCE"))
@pass_ctx
def orphans_cmd(ctx: Context, terminate: bool, out: Output) -> None:
    """Instances tagged with this store that no VM owns, as the engine last saw them."""
    if terminate and out.shaped:
        raise UserError("--terminate ends every orphan and prints what it ended: --csv, "
                        "--no-header, -l/--list and --filter shape only the list")
    rows = []
    for h in ctx.store.hosts.list():
        if h.driver == "ec2":
            rows += [(h.name, iid) for iid in h.monitor.get("ORPHANS", [])]
    if not terminate:
        out.emit(rows, row=lambda r: r, as_json=lambda r: {"host": r[0], "instance": r[1]})
        return
    owned = {vm.deploy_id for vm in ctx.store.vms.list(include_done=False)}
    for h in ctx.store.hosts.list():
        ids = [iid for host, iid in rows if host == h.name and iid not in owned]
        if not ids:
            continue
        driver = make_driver(h, ctx.store.store_id)
        try:
            live = driver.guests()  # still ours, still running?
            ids = [iid for iid in ids if iid in live]
            if isinstance(driver, BatchLauncher):
                driver.terminate(ids)
        except Exception as exc:
            raise UserError(f"host {h.name}: {exc}") from None
        finally:
            driver.close()
        for iid in ids:
            ctx.store.events.add("host", h.id, f"orphan {iid} terminated by the admin")
            click.echo(f"terminated {iid} on {h.name}")
