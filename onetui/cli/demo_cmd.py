"""`onetui demo`: prepare the embedded demo in a throwaway state directory and open it."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import click

from onetui.cli.context import Context
from onetui.cli.output import table
from onetui.runtime import demo as demo_mod
from onetui.store import Store
from onetui.view.rows import HOST_COLUMNS, NUMERIC, VM_COLUMNS, host_row, vm_row


@click.command()
@click.option("--headless", is_flag=True,
              help="Prepare the demo, print what it holds, and exit (for scripts and CI).")
@click.option("--keep", is_flag=True,
              help="Keep the state directory afterwards (use it with --state DIR).")
@click.pass_obj
def demo(ctx: Context, headless: bool, keep: bool) -> None:
    """The seed's scenario on libvirt test-driver hosts and a local EC2 endpoint, in a
    throwaway store, opened in the console (with --headless: printed)."""
    state = Path(tempfile.mkdtemp(prefix="onetui-demo-"))
    try:
        prepared = demo_mod.prepare(state)
        if not headless:
            try:
                from onetui.tui.app import OnetuiApp

                OnetuiApp(state / "onetui.db", theme=ctx.theme, engine_interval=1.0).run()
            finally:
                prepared.close()
            return
        click.echo(f"demo store: {state / 'onetui.db'}")
        click.echo(f"templates:  {', '.join(prepared.templates)}")
        for name, where in prepared.hosts:
            click.echo(f"host:       {name} ({where})")
        try:
            with Store.open(state) as store:
                engine = demo_mod.start_engine(store)
                try:
                    click.echo("\n" + table(HOST_COLUMNS,
                                            [host_row(h) for h in store.hosts.list()],
                                            right=NUMERIC))
                    click.echo("\n" + table(VM_COLUMNS, [vm_row(v) for v in store.vms.list()],
                                            right=NUMERIC))
                finally:
                    engine.close()
        finally:
            prepared.close()
        if keep:
            click.echo(f"kept: onetui --state {state} vm list")
    finally:
        if not keep:
            shutil.rmtree(state, ignore_errors=True)
