"""Every command and every option says what it is for in --help (as onevm's do)."""

from __future__ import annotations

import click

from onetui.cli import cli


def _walk(cmd: click.Command, path: str) -> list[str]:
    missing = [] if (cmd.help or cmd.short_help) else [f"command `{path}`"]
    missing += [f"option `{path} {p.opts[0]}`" for p in cmd.params
                if isinstance(p, click.Option) and not p.help and "--help" not in p.opts]
    if isinstance(cmd, click.Group):
        for name, sub in cmd.commands.items():
            missing += _walk(sub, f"{path} {name}")
    return missing


def test_every_command_and_option_has_a_help_line() -> None:
    assert _walk(cli, "onetui") == []
