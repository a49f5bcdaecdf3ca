"""What a command loads: `onetui vm list` starts without the cloud, SSH, hypervisor and
console libraries (each is imported by the command that needs it), nor the template
language and the other modules only some commands use; `onetui --help` lists every
command without importing one."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import click

from onetui.cli import COMMANDS
from onetui.runtime.server import ApiServer, ServerThread
from onetui.store import Store

HEAVY = ("boto3", "botocore", "paramiko", "libvirt", "textual", "cryptography",
         "xml.etree.ElementTree")
# What only some commands need: templates (vm create, template ...), the config file,
# shell completion, crash reports, the engine's lease, the store's busy/disk-full paths.
NEEDLESS = ("onetui.template", "onetui.ops.instantiate", "platformdirs", "tomllib", "tomli_w",
            "click.shell_completion", "traceback", "textwrap", "socket", "random", "shutil")
# Store areas (and their model records) a VM list never reads: the store makes each area
# when it is first used.
OTHER_AREAS = ("onetui.store.labs", "onetui.store.launches", "onetui.store.leader",
               "onetui.store.networks", "onetui.store.services", "onetui.model.networks",
               "onetui.model.launches", "onetui.model.engine_lease")
COMMAND_MODULES = tuple(sorted({entry[0].partition(":")[0] for entry in COMMANDS.values()}))

PROBE = """
import json, sys
from onetui.cli import cli, main
if {load_all!r}:
    for name in cli.list_commands(None):
        cli.get_command(None, name)
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted(m for m in {watch!r} if m in sys.modules)), file=sys.stderr)
"""


def run(tmp_path: Path, *args: str, watch: tuple[str, ...] = HEAVY,
        load_all: bool = False, env: dict[str, str] | None = None) -> tuple[str, list[str]]:
    """The command's stdout, and which of `watch` it had imported by the end."""
    done = subprocess.run([sys.executable, "-c", PROBE.format(watch=watch, load_all=load_all),
                           *args],
                          capture_output=True, text=True, timeout=120,
                          env={"ONETUI_STATE": str(tmp_path / "s"), "PATH": "/usr/bin:/bin",
                               "HOME": str(tmp_path), "COLUMNS": "100", **(env or {})})
    return done.stdout, list(json.loads(done.stderr.strip().splitlines()[-1]))


def loaded(tmp_path: Path, *args: str, watch: tuple[str, ...] = HEAVY) -> list[str]:
    return run(tmp_path, *args, watch=watch)[1]


def test_importing_the_cli_loads_no_heavy_library(tmp_path: Path) -> None:
    assert loaded(tmp_path, "--version") == []


def test_vm_and_host_lists_load_no_heavy_library(tmp_path: Path) -> None:
    assert loaded(tmp_path, "vm", "list", "--json") == []
    assert loaded(tmp_path, "host", "list") == []
    assert loaded(tmp_path, "template", "list", "--csv") == []


def test_vm_list_loads_only_what_listing_needs(tmp_path: Path) -> None:
    assert loaded(tmp_path, "vm", "list", "--json", watch=NEEDLESS) == []
    assert loaded(tmp_path, "host", "list", watch=NEEDLESS) == []
    assert loaded(tmp_path, "vm", "list", "--json", watch=OTHER_AREAS) == []


def test_through_a_daemon_vm_list_is_a_client_only(tmp_path: Path) -> None:
    """With `onetui serve` answering for the store, `vm list` loads none of the API's
    handlers, access rules or drivers: the daemon runs them."""
    with Store.open(tmp_path / "s") as store:
        thread = ServerThread(ApiServer(store, Path(os.environ["ONETUI_SOCKET"])))
        thread.start_serving()
        try:
            out, imported = run(tmp_path, "vm", "list", "--json",
                                watch=("onetui.api", "onetui.access", "onetui.drivers"),
                                env={"ONETUI_SOCKET": os.environ["ONETUI_SOCKET"]})
        finally:
            thread.stop()
    assert json.loads(out) == []
    assert imported == []


def test_only_commands_that_reach_ssh_load_paramiko(tmp_path: Path) -> None:
    """paramiko (~0.2 s) comes with an SSH connection: labs, help topics, EC2 and system
    commands name seat accounts or the SGE master's config without connecting."""
    for args in (("lab", "list"), ("help", "config"), ("ec2", "orphans"), ("system", "--help"),
                 ("service", "list"), ("net", "list")):
        assert loaded(tmp_path, *args, watch=("paramiko",)) == [], args
    assert loaded(tmp_path, "ssh", "trust", "127.0.0.1", "--port", "1",
                  watch=("paramiko",)) == ["paramiko"]


def test_the_template_language_comes_with_the_commands_that_use_it(tmp_path: Path) -> None:
    assert loaded(tmp_path, "vm", "create", "nosuch", watch=NEEDLESS) == [
        "onetui.ops.instantiate", "onetui.template"]


def test_the_console_gets_textual_when_it_starts(tmp_path: Path) -> None:
    assert "textual" in loaded(tmp_path, "--theme", "nosuch")  # refused after the import


def test_help_lists_every_command_without_importing_one(tmp_path: Path) -> None:
    lazy, imported = run(tmp_path, "--help", watch=COMMAND_MODULES)
    assert imported == []
    eager, imported = run(tmp_path, "--help", watch=COMMAND_MODULES, load_all=True)
    assert imported == list(COMMAND_MODULES)
    assert lazy == eager  # the same listing as from the commands themselves
    assert all(f"  {name} " in lazy for name in COMMANDS)


def test_each_summary_is_its_commands_first_paragraph() -> None:
    """At every width --help may shorten to, a summary reads as its command's own help."""
    for name, (target, summary) in COMMANDS.items():
        module, _, attr = target.partition(":")
        real: click.Command = getattr(importlib.import_module(module), attr)
        assert not real.hidden, name
        for limit in range(8, 160):
            stand_in = click.Command(name, help=summary)
            assert stand_in.get_short_help_str(limit) == real.get_short_help_str(limit), \
                (name, limit)
