"""`onetui ec2 …`: what only an EC2 admin needs — orphaned instances, listed and, on the
admin's word, terminated."""

from __future__ import annotations

import click

from onetui.cli.context import Context
from onetui.cli.output import echo_json, json_option, table
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
@json_option
@pass_ctx
def orphans_cmd(ctx: Context, terminate: bool, as_json: bool) -> None:
    """Instances tagged with this store that no VM owns, as the engine last saw them."""
    rows = []
    for h in ctx.store.hosts.list():
        if h.driver == "ec2":
            rows += [(h.name, iid) for iid in h.monitor.get("ORPHANS", [])]
    if as_json and not terminate:
        echo_json([{"host": host, "instance": iid} for host, iid in rows])
        return
    if not terminate:
        click.echo(table(("HOST", "INSTANCE"), rows))
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
