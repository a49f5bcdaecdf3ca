"""`onetui lab …`: a master template turned into seats for students, handed out."""

from __future__ import annotations

import os
from pathlib import Path

import click

from onetui.cli.completion import lab_names
from onetui.cli.context import Context
from onetui.cli.output import Output, echo_json, finite, json_option, list_options, pairs, table
from onetui.cli.vm_cmds import template_file_text
from onetui.ops import labs
from onetui.view import handout

pass_ctx = click.make_pass_decorator(Context)


@click.group()
def lab() -> None:
    """Labs: create, list, show, creds, handout, reset-password, reset-seat, extend, destroy."""


@lab.command("create")
@click.argument("name")
@click.option("--template", required=True, help="The master: a stored template or a file.")
@click.option("--seats", type=int, required=True, help="How many students.")
@click.option("--network", help="The lab network (default: the template's NIC network).")
@click.option("--user", default=labs.DEFAULT_USER, show_default=True,
              help="User name pattern; %i is the seat number.")
@click.option("--expires", help="When the lab is destroyed: 2026-12-18, 2026-12-18T16:00, "
              "+5d, +12h.")
@click.option("--admin-user", help="Who onetui logs in as on a seat (default: root, or "
              "[labs] admin_user).")
@click.option("--admin-key", help="That user's private key (default: [labs] admin_key, "
              "else your SSH agent and keys).")
@click.option("--ssh-timeout", type=click.FloatRange(1, 86400), callback=finite,
              help="Seconds a seat may take to answer SSH "
              f"(default {labs.DEFAULT_SSH_TIMEOUT:g}).")
@click.option("--owner", metavar="USER", help="The unix user the lab belongs to (default: "
              "you): labstaff manage and hand out only their own labs. For admins.")
@pass_ctx
def create_cmd(ctx: Context, name: str, template: str, seats: int, network: str | None,
               user: str, expires: str | None, admin_user: str | None,
               admin_key: str | None, ssh_timeout: float | None, owner: str | None) -> None:
    """Create the seats (VM, disk, address and account each); the engine does the rest."""
    click.echo(ctx.client.call(
        "lab.create", name=name, template=template, seats=seats, network=network, user=user,
        expires=expires, admin_user=admin_user,
        admin_key=str(Path(admin_key).expanduser().resolve()) if admin_key else None,
        ssh_timeout=ssh_timeout, owner=owner, text=template_file_text(template)))


LAB_LIST_COLUMNS = ("ID", "NAME", "OWNER", "STATE", "SEATS", "READY", "FAILED", "EXPIRES")


@lab.command("list", help="Labs with their seats ready and expiry.")
@list_options(LAB_LIST_COLUMNS, right=("ID", "SEATS", "READY", "FAILED"))
@pass_ctx
def list_cmd(ctx: Context, out: Output) -> None:
    rows = ctx.client.call("lab.list")
    out.emit(rows, row=lambda r: [str(v) for v in r.values()], as_json=lambda r: r)


@lab.command("show")
@click.argument("name", shell_complete=lab_names)
@json_option
@pass_ctx
def show_cmd(ctx: Context, name: str, as_json: bool) -> None:
    """The lab and its seats (no passwords: see `lab creds`)."""
    data = ctx.client.call("lab.show", ref=name)
    if as_json:
        echo_json(data)
        return
    click.echo(pairs([("NAME", data["name"]), ("OWNER", data["owner"] or "-"),
                      ("STATE", data["state"]),
                      ("TEMPLATE", data["template"]), ("NETWORK", data["network"]),
                      ("USERS", data["user_pattern"]), ("ADMIN", data["admin_user"]),
                      ("EXPIRES", handout.when(data["expires_at"]))]))
    click.echo()
    rows = [[s["seat"], s["vm_id"] or "", s["vm_state"], s["ip"], s["port"], s["user"],
             "yes" if s["ready"] else "no",
             s["state"] + (f": {s['message']}" if s["message"] else "")]
            for s in data["seat_list"]]
    click.echo(table(["SEAT", "VM", "VM STATE", "IP", "PORT", "USER", "READY", "STATE"], rows,
                     right=["SEAT", "VM", "PORT"]))


@lab.command("creds")
@click.argument("name", shell_complete=lab_names)
@click.option("--csv", "fmt", flag_value="csv", help="As CSV.")
@click.option("--json", "fmt", flag_value="json", help="As JSON (every seat field).")
@click.option("--md", "fmt", flag_value="md", help="As a Markdown table.")
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Write to this file (0600) instead of the terminal.")
@pass_ctx
def creds_cmd(ctx: Context, name: str, fmt: str | None, output: str | None) -> None:
    """The students' user names and passwords."""
    _emit(ctx.client.call("lab.creds", ref=name, format=fmt or "text"), output)


@lab.command("handout")
@click.argument("name", shell_complete=lab_names)
@click.option("--md", "fmt", flag_value="md", help="Markdown instead of plain text.")
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="File to write (0600); default NAME-handout.txt/.md here.")
@pass_ctx
def handout_cmd(ctx: Context, name: str, fmt: str | None, output: str | None) -> None:
    """Printable slips, one per student: address, user name, password, how to connect."""
    fmt = fmt or "text"
    slips = ctx.client.call("lab.handout", ref=name, format=fmt)
    _emit(slips["text"], output or f"{slips['name']}-handout.{'md' if fmt == 'md' else 'txt'}")


def _emit(text: str, output: str | None) -> None:
    if output:
        path = handout.write_private(output, text)
        click.echo(f"wrote {path} (mode 0600)")
    else:
        click.echo(text, nl=False)


@lab.command("ssh")
@click.argument("name", shell_complete=lab_names)
@click.argument("seat")
@click.argument("command", nargs=-1)
@click.option("--admin", is_flag=True, help="As the lab's admin (with its key).")
@pass_ctx
def ssh_cmd(ctx: Context, name: str, seat: str, command: tuple[str, ...], admin: bool) -> None:
    """Log in to a seat with the system ssh (or run COMMAND there: `-- uptime`), its host
    key checked against the one onetui learned from the seat's console."""
    from onetui.view.handout import seat_login

    argv = seat_login(ctx.client.call("lab.ssh_argv", ref=name, seat=seat, admin=admin))
    if command:
        argv += ["-o", "BatchMode=yes", "--", *command]
    ctx.close()
    os.execvp(argv[0], argv)


@lab.command("reset-password")
@click.argument("name", shell_complete=lab_names)
@click.argument("seat")
@pass_ctx
def reset_password_cmd(ctx: Context, name: str, seat: str) -> None:
    """A new password for one seat (set and checked by the engine)."""
    click.echo(ctx.client.call("lab.reset_password", ref=name, seat=seat))


@lab.command("reset-seat")
@click.argument("name", shell_complete=lab_names)
@click.argument("seat")
@pass_ctx
def reset_seat_cmd(ctx: Context, name: str, seat: str) -> None:
    """Back to the master disk: a fresh VM, same address, same login."""
    click.echo(ctx.client.call("lab.reset_seat", ref=name, seat=seat))


@lab.command("extend")
@click.argument("name", shell_complete=lab_names)
@click.argument("until")
@pass_ctx
def extend_cmd(ctx: Context, name: str, until: str) -> None:
    """Move the expiry: a date (2026-12-18), or +3d/+12h from the current expiry."""
    click.echo(ctx.client.call("lab.extend", ref=name, until=until))


@lab.command("destroy")
@click.argument("name", shell_complete=lab_names)
@pass_ctx
def destroy_cmd(ctx: Context, name: str) -> None:
    """Every seat's VM, disk and lease; the credentials are wiped at once."""
    click.echo(ctx.client.call("lab.destroy", ref=name))
