"""`onetui service …`: groups of VMs kept at a size, behind an nginx load balancer."""

from __future__ import annotations

import click

from onetui.cli.completion import service_names
from onetui.cli.context import Context
from onetui.cli.history import history_option, print_history
from onetui.cli.output import Output, echo_json, json_option, list_options
from onetui.view.records import service_of
from onetui.view.rows import NUMERIC, SERVICE_COLUMNS, service_row

pass_ctx = click.make_pass_decorator(Context)


@click.group()
def service() -> None:
    """Services: create, list, show, scale, delete."""


@service.command("create", help="Make a service: VMs of a template kept at a size, behind nginx.")
@click.argument("name")
@click.option("--template", required=True, help="Template of the members (local hosts).")
@click.option("--burst-template", help="Template used when no local host has room (EC2).")
@click.option("--min", "min_size", default=1, show_default=True,
              help="The fewest members the service keeps (rules never go below).")
@click.option("--max", "max_size", default=8, show_default=True,
              help="The most members the service may grow to.")
@click.option("--port", default=80, show_default=True, help="The members' service port.")
@click.option("--health", type=click.Choice(["tcp", "http"]), default="tcp",
              show_default=True, help="How a member shows it is ready for traffic.")
@click.option("--lb-conf", help="nginx.conf of the load balancer (its upstream block is kept "
              "in step).")
@click.option("--lb-upstream", default="one_loadbalancer", show_default=True,
              help="The upstream block of nginx.conf that lists the members.")
@click.option("--lb-host", help="Reach the load balancer over SSH (default: this machine).")
@click.option("--lb-nginx", default="nginx", show_default=True, help="nginx binary there.")
@click.option("--lb-prefix", help="nginx -p prefix, for an nginx not in its default place.")
@click.option("--lb-status-url", help="nginx stub_status URL (ACTIVE, REQUESTS_PER_S).")
@click.option("--grid", is_flag=True, help="An SGE worker tier: rules see PENDING_JOBS, "
              "OLDEST_PENDING_S, IDLE_HOSTS.")
@pass_ctx
def create_cmd(ctx: Context, name: str, template: str, burst_template: str | None,
               min_size: int, max_size: int, port: int, lb_conf: str | None, lb_upstream: str,
               lb_host: str | None, lb_nginx: str, lb_prefix: str | None,
               lb_status_url: str | None, grid: bool, health: str) -> None:
    lb = {"conf": lb_conf, "upstream": lb_upstream, "nginx": lb_nginx, "host": lb_host,
          "prefix": lb_prefix, "status_url": lb_status_url} if lb_conf else None
    sid = ctx.client.call("service.create", name=name, template=template,
                          burst_template=burst_template, min_size=min_size,
                          max_size=max_size, port=port, health=health, lb=lb, grid=grid)
    click.echo(f"ID: {sid}")


@service.command("scale")
@click.argument("name", shell_complete=service_names)
@click.argument("size", type=int)
@pass_ctx
def scale_cmd(ctx: Context, name: str, size: int) -> None:
    """Set the desired size; the engine creates or shuts down (newest first) members."""
    click.echo(ctx.client.call("service.scale", ref=name, size=size))


@service.command("list", help="Services with their sizes and members.")
@list_options(SERVICE_COLUMNS, right=NUMERIC)
@pass_ctx
def list_cmd(ctx: Context, out: Output) -> None:
    out.emit(ctx.client.call("service.list"), row=_row, as_json=lambda s: s)


def _row(s: dict) -> tuple[str, ...]:
    """The Services pane's row (view.rows) of a `service list --json` record."""
    return service_row(service_of(s), s["running"], s["members"])


@service.command("show", help="A service, its members and the state of its rules.")
@click.argument("name", shell_complete=service_names)
@json_option
@history_option("service")
@pass_ctx
def show_cmd(ctx: Context, name: str, as_json: bool, history: int | None) -> None:
    if history is not None:
        print_history(ctx.client, "service", name, history, as_json)
        return
    s = ctx.client.call("service.show", ref=name)
    members = s["members"]
    if as_json:
        echo_json({**{k: v for k, v in s.items() if k != "text"},
                   "members": [{k: v for k, v in m.items() if k != "host_name"}
                               for m in members]})
        return
    click.echo(s["text"])


@service.command("delete")
@click.argument("names", nargs=-1, required=True, shell_complete=service_names)
@pass_ctx
def delete_cmd(ctx: Context, names: tuple[str, ...]) -> None:
    """Forget the service; its VMs stay (shut them down with `vm shutdown`)."""
    for name in names:
        click.echo(ctx.client.call("service.delete", ref=name))


@service.group("rule")
def rule() -> None:
    """Elasticity rules: `--when 'REQUESTS_PER_S > 200' --for 60 --change +2`."""


@rule.command("add", help="Add an elasticity rule: a condition held long enough changes the size.")
@click.argument("name", shell_complete=service_names)
@click.option("--when", "when", required=True, help="A condition on ACTIVE, REQUESTS_PER_S, "
              "PENDING_JOBS, OLDEST_PENDING_S, IDLE_HOSTS, SIZE, RUNNING.")
@click.option("--for", "hold", default=60.0, show_default=True, help="Seconds it must hold.")
@click.option("--change", required=True, type=int, help="Size step, e.g. +2 or -1.")
@click.option("--cooldown", default=300.0, show_default=True,
              help="Seconds after any scaling before a rule may scale again.")
@pass_ctx
def rule_add(ctx: Context, name: str, when: str, hold: float, change: int,
             cooldown: float) -> None:
    click.echo(ctx.client.call("service.rule_add", ref=name, when=when, hold=hold,
                               change=change, cooldown=cooldown))


@rule.command("delete", help="Remove a service's elasticity rule by its number.")
@click.argument("name", shell_complete=service_names)
@click.argument("index", type=int)
@pass_ctx
def rule_delete(ctx: Context, name: str, index: int) -> None:
    ctx.client.call("service.rule_delete", ref=name, index=index)
