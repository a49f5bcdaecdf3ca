"""The `onetui` command: the console when run alone, and subcommands that script the same
operations (each list/show with --json). Errors are one line on stderr and exit code 2."""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

import click

from onetui import config
from onetui.cli.context import Context
from onetui.client import ApiError
from onetui.errors import UserError


class LazyGroup(click.Group):
    """Each command's module is imported when that command runs: `onetui vm list` never
    loads boto3, paramiko, libvirt or textual (click's own pattern for lazily loaded
    subcommands), and `onetui --help` lists them all from COMMANDS' summaries without
    importing any (importing all fourteen took ~0.8 s)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in COMMANDS and cmd_name not in self.commands:
            module, _, attr = COMMANDS[cmd_name][0].partition(":")
            self.add_command(getattr(importlib.import_module(module), attr), cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """click's own listing (same widths, same shortening), with a command not yet
        imported standing in as a bare click.Command holding its summary."""
        commands = [(name, self.commands.get(name) or click.Command(name, help=COMMANDS[name][1]))
                    for name in self.list_commands(ctx)]
        commands = [(name, cmd) for name, cmd in commands if not cmd.hidden]
        if commands:
            limit = formatter.width - 6 - max(len(name) for name, _ in commands)
            with formatter.section("Commands"):
                formatter.write_dl([(name, cmd.get_short_help_str(limit))
                                    for name, cmd in commands])


# name → (module:attribute, the first paragraph of its help); tests/cli/test_startup.py
# checks each summary against the real command's help, so the two cannot drift apart.
COMMANDS = {
    "template": ("onetui.cli.template_cmds:template", "OpenNebula templates: validate, "
                 "import, list, show, update, clone, instantiate, delete."),
    "host": ("onetui.cli.host_cmds:host", "Hypervisor hosts: create, list, show, update, "
             "enable/disable, delete."),
    "vm": ("onetui.cli.vm_cmds:vm", "Virtual machines: create, list, show; shutdown, delete, "
           "hold/release, suspend, stop, resume, reboot, poweroff; deploy, migrate, resched."),
    "net": ("onetui.cli.net_cmds:net", "Networks: address ranges whose leases VMs take (IP, "
            "MAC from the IP, hostname)."),
    "ec2": ("onetui.cli.ec2_cmds:ec2", "EC2 hosts: orphaned instances."),
    "service": ("onetui.cli.service_cmds:service", "Services: create, list, show, scale, "
                "delete."),
    "lab": ("onetui.cli.lab_cmds:lab", "Labs: create, list, show, creds, handout, "
            "reset-password, reset-seat, extend, destroy."),
    "sge": ("onetui.cli.sge_cmds:sge", "Sun Grid Engine: queues, hosts, jobs."),
    "ssh": ("onetui.cli.sge_cmds:ssh", "SSH host keys."),
    "serve": ("onetui.cli.serve_cmd:serve", "Run the engine headless and answer the API on "
              "a Unix socket: schedule, deploy and monitor until stopped (SIGTERM/^C)."),
    "demo": ("onetui.cli.demo_cmd:demo", "The seed's scenario on libvirt test-driver hosts "
             "and a local EC2 endpoint, in a throwaway store, opened in the console (with "
             "--headless: printed)."),
    "events": ("onetui.cli.events_cmd:events", "The event log, oldest first; --follow "
               "watches it."),
    "system": ("onetui.cli.system_cmd:system", "System mode: onetui as a systemd service "
               "with roles from unix groups (root only)."),
    "help": ("onetui.cli.help_cmd:help_cmd", "Topics --help cannot cover: templates, states, "
             "keys, config."),
    "completion": ("onetui.cli.completion:completion", "Print the bash or zsh completion "
                   "script."),
}


@click.group(cls=LazyGroup, invoke_without_command=True,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--state", "state", metavar="DIR", envvar="ONETUI_STATE",
              help="State directory holding the store (default: $XDG_DATA_HOME/onetui).")
@click.option("--theme", metavar="NAME", help="Console theme (onetui, onetui-light, ursa, "
              "Textual's own, or one of yours).")
@click.option("--no-engine", is_flag=True, help="Console only watches; another process "
              "(onetui serve) runs the engine.")
@click.option("--init", is_flag=True, help="Make a new store even where an old one was lost "
              "(an empty store file, or a missing one beside its secrets.key).")
@click.version_option(package_name="onetui")
@click.pass_context
def cli(ctx: click.Context, state: str | None, theme: str | None, no_engine: bool,
        init: bool) -> None:
    """onetui: run a small hybrid cloud (libvirt hosts, EC2 workers, SGE, nginx, labs).

    Alone, it opens the console on the store; the subcommands script the same things."""
    global _state
    _state = state
    ctx.obj = Context(state, theme, init=init)
    if ctx.invoked_subcommand is None:
        from onetui.tui.app import OnetuiApp
        from onetui.tui.themes import theme_names

        if theme is not None and theme not in theme_names():
            raise click.BadParameter(f"no theme {theme!r}; expected one of: "
                                     f"{', '.join(theme_names())}", param_hint="--theme")
        # The console asks what the commands ask, the way they do: the daemon on its socket
        # when one serves this store (it runs the engine), else the same handlers in this
        # process on the store (a lost or damaged store is one line here, not a traceback),
        # with the engine in the console's worker.
        from onetui.client.transport import SocketTransport

        client = ctx.obj.client
        daemon = isinstance(client.transport, SocketTransport)
        OnetuiApp(None if daemon else config.store_path(state), client=client, daemon=daemon,
                  theme=theme, run_engine=not no_engine, info=ctx.obj.info).run()




def main(argv: list[str] | None = None) -> None:
    """Entry point: turn every expected failure into one line, and the unexpected into a
    short message with the traceback written to a log file instead of the screen."""
    try:
        cli.main(args=argv, prog_name="onetui", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except UserError as exc:
        # A template error starts with its own source:line:col, so no "onetui: " before
        # it. Looked up, not imported: if one was raised, the template language is loaded.
        template = sys.modules.get("onetui.template.errors")
        plain = template is not None and isinstance(exc, template.TemplateError)
        click.echo(str(exc) if plain else f"onetui: {exc}", err=True)
        sys.exit(2)
    except ApiError as exc:  # the daemon's (or the in-process handlers') one line
        click.echo(str(exc) if exc.kind == "template" else f"onetui: {exc}", err=True)
        sys.exit(1 if exc.status >= 500 else 2)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception:
        log = _crash_log()
        click.echo(f"onetui: internal error ({sys.exc_info()[1]!r}); details in {log}", err=True)
        sys.exit(1)


_state: str | None = None  # --state of this run, for the crash log


def _crash_log() -> Path:
    """The traceback goes next to the store that was in use (--state included), 0600: it
    may hold names and addresses. A link in its place is not followed."""
    import traceback

    path = config.state_dir(_state) / "crash.log"
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "a") as fh:
            traceback.print_exc(file=fh)
    except OSError:
        path = Path("/dev/null")
    return path
