"""Into a lab seat with the system `ssh`, as the caller: the daemon answers `lab.ssh_argv`
with the argv and the seat's pinned host keys; the keys go to a known_hosts file of the
caller's own (the daemon's is not theirs to read in system mode), so the host key is
checked against what onetui pinned from the seat's console and nothing else."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from onetui.client.paths import private_dir

KNOWN_HOSTS = "{known_hosts}"  # what the argv names until the caller's file is put there


def seat_argv(answer: dict[str, Any]) -> list[str]:
    """`lab.ssh_argv`'s answer as an argv to run: its host keys written to
    `seats_known_hosts` in the caller's private directory (replaced whole, never through
    a link), that file's path in the argv."""
    path = private_dir() / "seats_known_hosts"
    _write(path, str(answer["known_hosts"]))
    return [str(arg).replace(KNOWN_HOSTS, str(path)) for arg in answer["argv"]]


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
