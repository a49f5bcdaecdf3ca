"""The node test bed (scripts/testbed/node.sh): a second hypervisor in its own network and
mount namespace — its own libvirtd and virtlogd, reachable only through an sshd at
10.251.1.2 that takes one test key for root — for the tests that run real guests on a
remote node (marker `qemu`)."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "testbed" / "node.sh"


@dataclass(frozen=True)
class Node:
    addr: str       # the node's address, routable only from this machine
    key: str        # root's private key on the node
    host_key: str   # the node's sshd host key (.pub): what a pinned key must equal
    pool: str       # the node's storage pool (its image directory)
    images: str     # that directory, a path on the node only
    state: Path     # the bed's own files (pid files, logs)

    def uri(self, known_hosts: Path, **params: str) -> str:
        query = "&".join(f"{k}={v}" for k, v in
                         {"keyfile": self.key, "known_hosts": known_hosts, **params}.items())
        return f"qemu+ssh://root@{self.addr}/system?{query}"

    def script(self, *args: str) -> None:
        """node.sh with `args` (stop-sshd, link-down, up): the node going away and back."""
        subprocess.run(["bash", str(SCRIPT), *args], check=True, capture_output=True,
                       timeout=180)


@pytest.fixture(scope="module")
def remote_node() -> Node:
    if os.geteuid() != 0:
        pytest.skip("the node test bed needs root (network and mount namespaces)")
    up = subprocess.run(["bash", str(SCRIPT), "status"], capture_output=True)
    if up.returncode != 0:
        pytest.skip("the node test bed is not up (run scripts/testbed/node.sh up)")
    env = dict(line.split("=", 1) for line in subprocess.run(
        ["bash", str(SCRIPT), "env"], capture_output=True, text=True, check=True
    ).stdout.split())
    return Node(addr=env["ONETUI_NODE_ADDR"], key=env["ONETUI_NODE_KEY"],
                host_key=env["ONETUI_NODE_HOST_KEY"], pool=env["ONETUI_NODE_POOL"],
                images=env["ONETUI_NODE_IMAGES"], state=Path(env["ONETUI_NODE_STATE"]))
