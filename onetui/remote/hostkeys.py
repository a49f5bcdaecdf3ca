"""Host keys learned out of band: a fresh guest prints its SSH host keys on its serial
console (cloud-init's block, which our lab image prints too), the hypervisor logs that
console, and onetui pins what it read in its own known_hosts file. Nothing is ever trusted
from the network connection itself.
"""

from __future__ import annotations

import base64
import binascii
import os
import threading
from pathlib import Path

BEGIN = "-----BEGIN SSH HOST KEY KEYS-----"
END = "-----END SSH HOST KEY KEYS-----"
KEY_TYPES = ("ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
             "ecdsa-sha2-nistp521", "ssh-rsa")


def console_keys(text: str) -> list[tuple[str, str]]:
    """(type, base64) of each key in the last complete host key block of a console log;
    malformed lines are skipped (a console also carries noise)."""
    end = text.rfind(END)
    start = text.rfind(BEGIN, 0, end) if end >= 0 else -1
    if start < 0:
        return []
    keys = []
    for line in text[start + len(BEGIN):end].splitlines():
        parts = line.strip().split()
        if len(parts) >= 2 and parts[0] in KEY_TYPES:
            try:
                base64.b64decode(parts[1], validate=True)
            except (binascii.Error, ValueError):
                continue
            keys.append((parts[0], parts[1]))
    return keys


class KnownHosts:
    """onetui's own known_hosts file (0600, OpenSSH's format, so the system `ssh` reads it
    with -o UserKnownHostsFile=...). Entries are keyed like OpenSSH: `[ip]:port`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    @staticmethod
    def name(host: str, port: int) -> str:
        return host if port == 22 else f"[{host}]:{port}"

    def _lines(self) -> list[str]:
        try:
            return self.path.read_text().splitlines()
        except FileNotFoundError:
            return []

    def _write(self, lines: list[str]) -> None:
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write("".join(f"{line}\n" for line in lines))
        os.replace(tmp, self.path)

    def get(self, host: str, port: int) -> list[tuple[str, str]]:
        name = self.name(host, port)
        out = []
        for line in self._lines():
            parts = line.split()
            if len(parts) >= 3 and name in parts[0].split(","):
                out.append((parts[1], parts[2]))
        return out

    def set(self, host: str, port: int, keys: list[tuple[str, str]]) -> None:
        """Pin exactly `keys` for host:port (replacing what was pinned for it)."""
        name = self.name(host, port)
        with self._lock:
            lines = [line for line in self._lines() if line.split(" ", 1)[0] != name]
            lines += [f"{name} {kind} {data}" for kind, data in keys]
            self._write(lines)

    def forget(self, host: str, port: int) -> None:
        self.set(host, port, [])


def pinned_keys(state_dir: Path) -> KnownHosts:
    """The host keys onetui pinned from guests' consoles: `known_hosts` next to the store
    (0600), the file the system `ssh` is pointed at for lab seats."""
    return KnownHosts(state_dir / "known_hosts")
