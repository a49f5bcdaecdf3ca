"""The UserData an EC2 worker boots with: one script for a whole launch, in which each
instance finds its own hostname and VPN address by its AMI launch index (so N workers
still take one RunInstances call)."""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from pathlib import Path

from onetui.data import DATA
from onetui.drivers.base import DriverError
from onetui.errors import UserError

LIMIT = 16 * 1024  # EC2's limit on UserData (before base64)
DEFAULTS = {"vpn_server": "", "nfs_server": "", "nfs_export": "/home", "nfs_mount": "/home",
            "sge_master": "", "sge_root": "/var/lib/gridengine"}


# What each value may be: the bootstrap puts hosts into a sed expression and a mount
# source, and paths into mkdir/mount/echo lines, so only plain names, addresses and paths.
_HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252}[A-Za-z0-9])?")
_PATH = re.compile(r"/(?:[A-Za-z0-9._-]+/?){0,32}")
KINDS = {"vpn_server": _HOST, "nfs_server": _HOST, "sge_master": _HOST, "nfs_export": _PATH,
         "nfs_mount": _PATH, "sge_root": _PATH}


def check_var(key: str, value: str) -> str:
    """A --userdata-var value fit for its place in the bootstrap, else UserError."""
    kind = KINDS.get(key)
    if kind is None:
        raise UserError(f"--userdata-var {key}: expected one of {', '.join(DEFAULTS)}")
    if not kind.fullmatch(value) or ".." in value.split("/"):
        what = "a host name or IPv4 address" if kind is _HOST else "an absolute path"
        raise UserError(f"--userdata-var {key}={value[:60]!r}: expected {what}")
    return value


class UserDataTooLarge(DriverError):
    """The launch's script would pass EC2's limit: launch fewer workers at a time."""


class _Template(string.Template):
    delimiter = "@@"  # the script itself is full of $shell variables


@dataclass(frozen=True)
class Worker:
    """What one instance of a launch must know about itself."""

    vm_id: int
    name: str
    hostname: str = ""
    vpn_ip: str = ""


def entries(workers: list[Worker]) -> str:
    lines = []
    for index, w in enumerate(workers):
        lines.append(f"  {index}) VM_ID={w.vm_id} NAME={w.hostname or w.name} "
                     f"VPN_IP={w.vpn_ip} ;;")
    return "\n".join(lines)


def render(workers: list[Worker], variables: dict[str, str] | None = None,
           template_path: str | None = None) -> str:
    """The bootstrap for these workers, from the admin's template or the shipped one.
    Every value was validated where it was made (names, IPs), so nothing here can break
    out of the shell line it lands in."""
    path = Path(template_path) if template_path else DATA / "userdata.sh"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DriverError(f"userdata template {path}: {exc.strerror}") from None
    try:
        given = {k: check_var(k, v) for k, v in (variables or {}).items()}
    except UserError as exc:  # a host stored by an older onetui
        raise DriverError(str(exc)) from None
    values = {**DEFAULTS, **given, "entries": entries(workers)}
    try:
        script = _Template(text).substitute(values)
    except (KeyError, ValueError) as exc:
        raise DriverError(f"userdata template {path}: unknown or bad placeholder {exc}") from None
    if len(script.encode()) > LIMIT:
        raise UserDataTooLarge(f"UserData for {len(workers)} worker(s) is {len(script.encode())} "
                          f"bytes; EC2 allows {LIMIT}")
    return script
