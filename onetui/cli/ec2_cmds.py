"""`onetui ec2 …`: what only an EC2 admin needs — orphaned instances, listed and, on the
admin's word, terminated."""

from __future__ import annotations

import click

from onetui.cli.context import Context
from onetui.cli.output import Output, list_options
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
    if not terminate:
        out.emit(ctx.client.call("ec2.orphans"), row=lambda r: (r["host"], r["instance"]),
                 as_json=lambda r: r)
        return
    for r in ctx.client.call("ec2.orphans", terminate=True):
        click.echo(f"terminated {r['instance']} on {r['host']}")
