"""`onetui demo`: prepare the embedded demo in a throwaway state directory and open it."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import click

from onetui import demo as demo_mod


@click.command()
@click.option("--headless", is_flag=True,
              help="Prepare the demo, print what it holds, and exit (for scripts and CI).")
@click.option("--keep", is_flag=True,
              help="Keep the state directory afterwards (use it with --state DIR).")
def demo(headless: bool, keep: bool) -> None:
    """The seed's scenario on libvirt test-driver hosts, in a throwaway store."""
    state = Path(tempfile.mkdtemp(prefix="onetui-demo-"))
    try:
        prepared = demo_mod.prepare(state)
        click.echo(f"demo store: {state / 'onetui.db'}")
        click.echo(f"templates:  {', '.join(prepared.templates)}")
        for name, uri in prepared.hosts:
            click.echo(f"host:       {name} (libvirt {uri})")
        if not headless:
            click.echo("(the console lands with its own issue; this demo prints what it "
                       "prepared)")
        if keep:
            click.echo(f"kept: onetui --state {state} template list")
    finally:
        if not keep:
            shutil.rmtree(state, ignore_errors=True)
