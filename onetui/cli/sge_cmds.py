"""`onetui sge …` and `onetui ssh trust`: the grid as `qstat -f` shows it, its hosts, job
submission, exec hosts grown and shrunk on demand (the seed's scenario 4), and trusting an
SSH host key after comparing its fingerprint."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import click

from onetui.cli.completion import template_names
from onetui.cli.context import Context
from onetui.cli.history import Window, print_history
from onetui.cli.output import Output, echo_json, list_options
from onetui.errors import UserError
from onetui.integrations.sge.grid import GridError, parse_qhost, parse_qstat, render_qstat
from onetui.remote.ssh import resolve, scan_key, trust

T = TypeVar("T")
pass_ctx = click.make_pass_decorator(Context)


@click.group()
def sge() -> None:
    """Sun Grid Engine: queues, hosts, jobs."""


def saved(xml_file: str, parse: Callable[[str], T]) -> T:
    """A saved SGE output, parsed; a refusal names the file (undecodable bytes are
    replaced: the XML parser then says where the document is wrong)."""
    try:
        text = Path(xml_file).read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise UserError(f"{xml_file}: {exc.strerror}") from None
    try:
        return parse(text)
    except GridError as exc:
        raise UserError(f"{xml_file}: {exc}") from None


@sge.command("qstat")
@click.option("--json", "as_json", is_flag=True, help="The parsed structure.")
@click.option("--xml-file", type=click.Path(dir_okay=False),
              help="Render a saved `qstat -f -xml` (or `qstat -xml`) output instead of "
                   "asking the master.")
@pass_ctx
def qstat_cmd(ctx: Context, as_json: bool, xml_file: str | None) -> None:
    """The grid in `qstat -f`'s layout (all users' jobs)."""
    if xml_file:  # a saved file: read and rendered here, no daemon needed
        grid = saved(xml_file, parse_qstat)
        shown = {"grid": grid.to_json(), "text": render_qstat(grid)}
    else:
        shown = ctx.client.call("sge.qstat")
    if as_json:
        echo_json(shown["grid"])
    else:
        click.echo(shown["text"])


@sge.command("history")
@click.argument("window", type=Window(), metavar="WINDOW")
@click.option("--json", "as_json", is_flag=True, help="A list of {at, running, pending, "
              "oldest_pending_s} instead of the table.")
@pass_ctx
def history_cmd(ctx: Context, window: int, as_json: bool) -> None:
    """The grid's running and pending jobs and the oldest pending job's age over the last
    WINDOW (30m, 6h, 1d, 1w), as the engine recorded them: read from the store, so it
    answers without reaching the master (and while it is down)."""
    print_history(ctx.client, "grid", None, window, as_json)


@sge.command("hosts")
@list_options(("HOSTNAME", "ARCH", "NCPU", "LOAD", "MEMTOT", "MEMUSE"),
              right=("NCPU", "LOAD", "MEMTOT", "MEMUSE"))
@click.option("--xml-file", type=click.Path(dir_okay=False),
              help="Render a saved `qhost -xml` output instead of asking the master.")
@pass_ctx
def hosts_cmd(ctx: Context, out: Output, xml_file: str | None) -> None:
    """Exec hosts as `qhost` reports them."""
    hosts = saved(xml_file, parse_qhost) if xml_file else ctx.client.call("sge.hosts")
    cols = ("name", "arch_string", "num_proc", "load_avg", "mem_total", "mem_used")
    out.emit(hosts, row=lambda h: [str(h.get(c, "-")) for c in cols], as_json=lambda h: h)


@sge.command("submit")
@click.argument("script", type=click.Path(dir_okay=False))
@click.option("--name", help="Job name (qsub -N).")
@pass_ctx
def submit_cmd(ctx: Context, script: str, name: str | None) -> None:
    """qsub SCRIPT as the configured SGE user; prints the job id."""
    try:
        body = Path(script).read_bytes()
    except OSError as exc:
        raise UserError(f"{script}: {exc.strerror}") from None
    job = ctx.client.call("sge.submit", script_b64=base64.b64encode(body).decode(),
                          name=name or Path(script).name)
    click.echo(f"Your job {job} has been submitted")


TIER_NEXT = {"grow": "the engine starts the clones and joins each to SGE as it runs",
             "shrink": "the engine drains each leaving host (qmod -d, its jobs end), removes "
                       "it from SGE, then shuts it down"}


# N is taken as text and checked by managers.sge.exec_host_count: one line for a bad one
# (click's own error adds a usage block), also for "-1", which click would read as an option.
COUNT_ARGUMENT = {"context_settings": {"ignore_unknown_options": True}}


def _tier_line(verb: str, name: str, before: int, after: int) -> str:
    return (f"exec hosts of {name}: {before} → {after}; {TIER_NEXT[verb]} "
            f"(`onetui service show {name}`, `onetui sge qstat`)")


@sge.command("grow", **COUNT_ARGUMENT)
@click.argument("count", metavar="N")
@click.option("--template", required=True, shell_complete=template_names,
              help="The exec host template to clone (it must have an SGE = [...] section).")
@pass_ctx
def grow_cmd(ctx: Context, count: str, template: str) -> None:
    """N more exec hosts cloned from --template: started, and joined to SGE (qconf -ah,
    -as, the hostgroup, slots) when they run — the seed's scenario 4."""
    tier = ctx.client.call("sge.grow", count=count, template=template)
    click.echo(_tier_line("grow", tier["name"], tier["before"], tier["after"]))


@sge.command("shrink", **COUNT_ARGUMENT)
@click.argument("count", metavar="N")
@click.option("--template", shell_complete=template_names,
              help="Whose exec hosts (needed when several were grown).")
@pass_ctx
def shrink_cmd(ctx: Context, count: str, template: str | None) -> None:
    """N fewer exec hosts, newest first: each drained (its queue instance disabled, its jobs
    left to end or drain_timeout), removed from SGE, then shut down."""
    tier = ctx.client.call("sge.shrink", count=count, template=template)
    click.echo(_tier_line("shrink", tier["name"], tier["before"], tier["after"]))


@click.group()
def ssh() -> None:
    """SSH host keys."""


@ssh.command("trust")
@click.argument("host")
@click.option("--port", type=int, help="SSH port (default: ~/.ssh/config, else 22).")
@click.option("--known-hosts", "known_hosts", type=click.Path(dir_okay=False),
              help="File to add the key to (default: ~/.ssh/known_hosts).")
@click.option("--yes", is_flag=True, help="Do not ask (you compared the fingerprint).")
def trust_cmd(host: str, port: int | None, known_hosts: str | None, yes: bool) -> None:
    """Show HOST's key fingerprint and, once you confirm it is the host's own, trust it."""
    target = resolve(host, port, known_hosts=(known_hosts,) if known_hosts else ())
    key = scan_key(target)
    from onetui.remote.ssh import fingerprint

    click.echo(f"{target.key_name}: {key.get_name()} {fingerprint(key)}")
    if not yes and not click.confirm("Is this the host's own key (compare it on the host: "
                                     "ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub)?"):
        raise UserError("not trusted")
    path = trust(target, key, known_hosts)
    click.echo(f"trusted: added to {path}")
