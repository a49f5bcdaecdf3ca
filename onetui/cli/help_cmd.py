"""`onetui help [TOPIC]`: the few things `--help` cannot say — the template language, the VM
states and what moves a VM between them, the console's keys, the config file. Each text is
built from the code it describes where it can be (state names, bounds, key bindings, config
fields), and kept short; the tests check each against the code's behaviour."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from typing import Any

import click

from onetui import config
from onetui.access import DEFAULT_GROUPS
from onetui.integrations.sge.master import SgeConfig
from onetui.model import MAX_PAD, VM_STATES
from onetui.ops.instantiate import MAX_COUNT
from onetui.ops.vm_actions import ACCEPTS
from onetui.template.parser import MAX_BYTES
from onetui.template.validate import MAX_CPU, MAX_MEMORY

WIDTH = 88  # the README's and the code's line length: fits a terminal beside the console

# -- templates -------------------------------------------------------------------------------

TEMPLATE_EXAMPLE = """\
NAME   = "web-%02i"                 # VMs web-00, web-01, … (or: vm create --name)
CPU    = 0.5                        # share of a physical core
MEMORY = 512                        # MB
OS     = [ kernel = "/boot/vmlinuz", initrd = "/boot/initrd", root = "sda1" ]
DISK   = [ source = "/images/web.qcow2", target = "sda", clone = "overlay" ]
DISK   = [ source = "/images/swap.img", target = "sdb" ]
NIC    = [ network = "labnet" ]     # an onetui network: a leased IP, MAC 02:00:<IP>
REQUIREMENTS = 'RACK = "r1" & FREECPU > 50'
RANK   = "FREEMEMORY"
"""


def _templates() -> str:
    return f"""\
Templates: OpenNebula's language (`template validate FILE` checks one).

  NAME = value           one attribute per line; names are case-insensitive
  NAME = "…" or '…'      quoted values may span lines ("\\"" and "\\\\" escape)
  NAME = [ K = v, … ]    a vector attribute; a name may repeat (two DISKs), order kept
  # …                    a comment

Example:
{_indent(TEMPLATE_EXAMPLE)}
Keys that matter:
  CPU           a plain decimal in (0, {MAX_CPU:g}]; default 1
  MEMORY        whole MB in (0, {MAX_MEMORY}] ({MAX_MEMORY // 1024 ** 2} TiB); required
  NAME          the VM name: `%i` is the VM's index in its create, `%0Ni` pads it to N
                digits (N at most {MAX_PAD}); for several VMs a NAME without %i gets `-%i`
                appended; `vm create --name PATTERN` overrides it (several VMs need %i
                there); no name at all: one-<id>
  OS            kernel, initrd, root, kernel_cmd, boot, arch, machine (libvirt)
  DISK          source, target, type, format/driver, bus, readonly; clone = yes (a copy per
                VM) or overlay (a qcow2 overlay of the master), made in prolog
  NIC           network (an onetui network leases an address, else a libvirt network),
                bridge, mac, model, hostfwd ("2200-:22" for QEMU user networking)
  RAW           [ type = kvm, data = "<devices>…</devices>" ] merged into the domain XML
  GRAPHICS      [ type = vnc, listen, port ]
  REQUIREMENTS  which hosts may take the VM: VAR = v, !=, >, <, >=, <=, @> (contains),
                &, |, !, ( ); strings match shell wildcards; a missing attribute is false
  RANK          arithmetic (+ - * / and parentheses) over host attributes: the highest
                wins; default: the host running most VMs
  EC2           [ ami, keypair, instancetype, subnet, availability_zone, tags = "k=v,…",
                userdata, authorized_ports = "22-25,80", elasticip ]: runs on an ec2
                host; with OS/DISK as well it runs locally while a local host has room
  SGE           [ queue = all.q, hostgroup = @allhosts, slots = 1, hostname ]: the VM
                joins Sun Grid Engine as an exec host while it runs

Host attributes for REQUIREMENTS and RANK: HOSTNAME (or NAME), HID, DRIVER, TCPU, FCPU,
TMEM, FMEM (CPU in percent, 100 a core; memory in MB; F = free as monitored), ACPU and
FMEM_ALLOC (not yet allocated to VMs), RVM (running VMs), OpenNebula's TOTALCPU, FREECPU,
TOTALMEMORY, FREEMEMORY, RUNNING_VMS, and what `host update NAME KEY=VALUE` set.

SCHED_REQUIREMENTS and SCHED_RANK (later OpenNebula names) are read as REQUIREMENTS and
RANK; a template giving both names must give the same expression, else it is refused.
Not read: other SCHED_* (SCHED_DS_REQUIREMENTS, SCHED_DS_RANK, ...). Unknown attributes
are kept in the VM's template and ignored.
Limits: a file of at most {MAX_BYTES // 1024} KiB, at most {MAX_COUNT:,} VMs per create,
no control characters in values.
"""


# -- states ----------------------------------------------------------------------------------

# What each state means and what moves a VM out of it (the engine: dispatch, deploy,
# monitor, intents; the admin: ops/vm_actions). Every state of VM_STATES has a line.
STATE_LINES: dict[str, str] = {
    "pend": "waiting for a host (why: vm show) → prol when placed; fail on a template "
            "the engine cannot use",
    "hold": "kept from the scheduler (vm hold) → pend on vm release",
    "prol": "placed; disks copied, guest defined → boot; pend again when the host did "
            "not answer; fail",
    "boot": "the guest is starting → runn once its host reports it running",
    "runn": "running → susp, stop, shut, poff on request (reboot keeps it runn; migrate "
            "moves it); fail if the guest vanishes; done when it powers off from inside",
    "susp": "paused in memory, keeps its host → runn on vm resume",
    "stop": "saved to disk, its host's CPU and memory freed → boot on vm resume",
    "poff": "powered off, guest and disks kept on its host, which keeps its place → boot "
            "on vm resume; done on vm delete or shutdown",
    "shut": "shutting down (ACPI) → done when the guest is off (destroyed after the "
            "shutdown timeout); poff instead after vm poweroff",
    "unkn": "its host does not answer → what the host reports once it answers again "
            "(runn, susp; fail when the guest is gone)",
    "fail": "failed; the reason is in `vm show` → done on vm delete",
    "done": "finished, disks and leases released; shown by `vm list --all`; ids are never "
            "reused",
}

def _states() -> str:
    rows = [textwrap.fill(STATE_LINES[short], WIDTH, initial_indent=f"  {short}  {vm:<9} "
                          f"{lcm:<9} ", subsequent_indent=" " * 28)
            for short, (vm, lcm) in VM_STATES.items()]
    allowed = [f"  vm {cmd:<9} {', '.join(sorted(states, key=list(VM_STATES).index))}"
               for cmd, states in ACCEPTS.items()]
    return "\n".join([
        "VM states: `vm list` shows the short name (STAT), `vm show` OpenNebula's VM and",
        "LCM state. Usual path: pend → prol → boot → runn → shut → done; a VM on a host",
        "(boot, runn, susp, shut) becomes unkn while that host does not answer.",
        "",
        "  STAT  VM STATE  LCM STATE",
        *rows,
        "",
        "Commands (the console's keys do the same) and the states they accept; in any other",
        "state the command is refused with the VM's state and exit 2:",
        *allowed,
        "",
        "Commands only write intents; the engine (`onetui serve` or the console) acts on them",
        "and every change is an event (`onetui events`).",
    ]) + "\n"


# -- keys ------------------------------------------------------------------------------------

_KEY_NAMES = {"slash": "/", "plus": "+", "minus": "-", "equals_sign": "=", "colon": ":",
              "question_mark": "?", "escape": "esc"}


def key_label(keys: str) -> str:
    """A binding's keys as the console's footer writes them: `plus,equals_sign` → `+ =`."""
    return " ".join(_KEY_NAMES.get(k.strip(), k.strip()) for k in keys.split(","))


def _bindings(owner: type) -> list[tuple[str, str]]:
    """(keys, description) of the bindings a class declares itself (not inherited)."""
    out = []
    for b in owner.__dict__.get("BINDINGS", []):
        keys, action, about = (b[0], b[1], b[2] if len(b) > 2 else "") \
            if isinstance(b, tuple) else (b.key, b.action, b.description)
        out.append((key_label(keys), about or action))
    return out


def key_sections() -> list[tuple[str, list[tuple[str, str]]]]:
    """The console's keys, read from the bindings of its app, screens and panes (imported
    here only: the rest of the CLI does not pay for loading the console)."""
    from onetui.tui import panes
    from onetui.tui.app import OnetuiApp
    from onetui.tui.screens.dashboard import DashboardScreen, LiveDetail
    from onetui.tui.screens.labs import LabForm, LabsScreen

    everywhere = [*_bindings(OnetuiApp),
                  (key_label(OnetuiApp.COMMAND_PALETTE_BINDING), "Palette (every action)")]
    # (the dashboard binds q again only to order its footer)
    dashboard = [k for k in _bindings(DashboardScreen) if k not in everywhere]
    return [
        ("Everywhere", everywhere),
        ("Dashboard", dashboard),
        ("  Hosts pane", _bindings(panes.HostsPane)),
        ("  VMs pane", _bindings(panes.VmsPane)),
        ("  Services pane", _bindings(panes.ServicesPane)),
        ("  SGE queues pane", _bindings(panes.QueuesPane)),
        ("  Details with a plot", _bindings(LiveDetail)),
        ("Labs screen", _bindings(LabsScreen)),
        ("  New lab form", _bindings(LabForm)),
    ]


def _keys() -> str:
    out = ["The console's keys (`?` in the console shows those of where you are).", ""]
    for title, keys in key_sections():
        if not keys:
            continue
        pad = " " * (len(title) - len(title.lstrip()) + 2)
        out.append(title)
        out += [f"{pad}{k:<10} {about}" for k, about in keys]
    return "\n".join(out) + "\n"


# -- config ----------------------------------------------------------------------------------

SGE_KEYS: dict[str, str] = {
    "host": "the SGE master (an ~/.ssh/config alias works); required with ssh",
    "user": "an SGE manager (qconf -am); jobs are submitted as this user",
    "port": "SSH port (default: ~/.ssh/config's, else 22)",
    "key_file": "private key (else ~/.ssh/config's IdentityFile, else the agent and "
                "~/.ssh/id_*)",
    "sge_root": f'default "{SgeConfig.sge_root}"',
    "sge_cell": f'default "{SgeConfig.sge_cell}"',
    "transport": f'"ssh" or "local" (onetui runs on the master); default "{SgeConfig.transport}"',
    "known_hosts": "file(s) of trusted host keys, instead of ~/.ssh/known_hosts and "
                   "/etc/ssh/ssh_known_hosts",
    "drain_timeout": f"seconds a leaving exec host may keep running jobs "
                     f"(default {SgeConfig.drain_timeout:g})",
    "ssh_config": "another ssh_config file instead of ~/.ssh/config",
}
LABS_KEYS: dict[str, str] = {
    "admin_user": "who onetui logs in as on a seat (default root; lab create --admin-user)",
    "admin_key": "that user's private key (lab create --admin-key; default: the agent)",
    "ssh_timeout": "seconds a seat may take to answer SSH before it fails (default 600)",
}
ROLES_KEYS: dict[str, str] = {
    role: f'unix groups whose members may: {what} (default ["{DEFAULT_GROUPS[role][0]}"])'
    for role, what in (
              ("admin", "everything"),
              ("operator", "VM and service actions, sge submit; no host, template, network "
                           "or lab credential"),
              ("labstaff", "create labs; manage, hand out and SSH into their own"),
              ("viewer", "read-only, never a password"))}
CONSOLE_KEYS: dict[str, str] = {
    "theme": "the theme picked with `t` (saved by the console; --theme overrides)",
    "last_ec2_template": "the template `e` offers first (saved by the console)",
}
CONFIG_EXAMPLE = """\
[sge]
host = "oneserver"
user = "sgeadmin"
key_file = "~/.ssh/id_ed25519"
drain_timeout = 600

[labs]
admin_user = "root"
admin_key = "~/.ssh/lab_admin"
"""


def _config() -> str:
    def table(name: str, about: str, keys: dict[str, str]) -> list[str]:
        return [f"[{name}]  {about}",
                *(textwrap.fill(v, WIDTH, initial_indent=f"  {k:<18} ",
                                subsequent_indent=" " * 21, break_on_hyphens=False)
                  for k, v in keys.items()), ""]

    return "\n".join([
        f"The config file: {config.config_path()}",
        "($XDG_CONFIG_HOME/onetui/config.toml; ONETUI_CONFIG names another). TOML; every",
        "table is optional. The store is elsewhere: --state DIR, ONETUI_STATE, else",
        "$XDG_DATA_HOME/onetui.",
        "",
        *table("sge", "the grid's master: the SGE pane, `onetui sge`, exec hosts joining",
               SGE_KEYS),
        *table("labs", "defaults for `lab create`", LABS_KEYS),
        *table("roles", "who may do what (root is admin; the first role wins)",
               ROLES_KEYS),
        *table("console", "remembered by the console", CONSOLE_KEYS),
        "Example:",
        _indent(CONFIG_EXAMPLE).rstrip("\n"),
    ]) + "\n"


# -- the command -----------------------------------------------------------------------------

TOPICS: dict[str, tuple[str, Callable[[], str]]] = {
    "templates": ("the template language and the keys onetui reads", _templates),
    "states": ("VM states, what moves a VM between them, which commands each allows",
               _states),
    "keys": ("the console's keys", _keys),
    "config": ("the config file's tables and keys", _config),
}


def _indent(text: str, by: str = "  ") -> str:
    return "".join(by + line if line.strip() else line for line in text.splitlines(True))


class Topic(click.ParamType):
    """A help topic; anything else is one line listing the topics there are."""

    name = "topic"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> str:
        text = str(value).strip().lower()
        if text not in TOPICS:
            self.fail(f"no topic {str(value)[:40]!r}: expected one of "
                      f"{', '.join(TOPICS)}", param, ctx)
        return text

    def shell_complete(self, ctx: click.Context, param: click.Parameter,
                       incomplete: str) -> list[click.shell_completion.CompletionItem]:
        return [click.shell_completion.CompletionItem(name, help=about)
                for name, (about, _) in TOPICS.items() if name.startswith(incomplete)]


@click.command("help")
@click.argument("topic", type=Topic(), required=False)
def help_cmd(topic: str | None) -> None:
    """Topics --help cannot cover: templates, states, keys, config."""
    if topic is None:
        width = max(map(len, TOPICS))
        click.echo("onetui help TOPIC, where TOPIC is one of:\n")
        for name, (about, _) in TOPICS.items():
            click.echo(f"  {name:<{width}}  {about}")
        click.echo("\nEvery command has --help as well (onetui vm create --help).")
        return
    click.echo(TOPICS[topic][1](), nl=False)

