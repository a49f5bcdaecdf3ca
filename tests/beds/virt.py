"""The virt test bed (scripts/testbed/virt.sh): libvirtd + QEMU with a tiny guest image
built once, for the tests that boot real guests (marker `qemu`)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import libvirt
import pytest

TESTBED = Path(os.environ.get("ONETUI_TESTBED_DIR", "/var/tmp/onetui-testbed")) / "virt"
GUEST = TESTBED / "guest"
POOL = "onetui-guest"  # defined by the test bed


def _libvirtd_up() -> str:
    if not (GUEST / "vmlinuz").exists():
        return f"no guest image in {GUEST} (run scripts/testbed/virt.sh install guest up)"
    try:
        libvirt.open("qemu:///system").close()
    except libvirt.libvirtError as exc:
        return f"libvirtd not reachable ({exc.get_error_message()}); run scripts/testbed/virt.sh up"
    return ""


@pytest.fixture(scope="module")
def qemu() -> Iterator[libvirt.virConnect]:
    why = _libvirtd_up()
    if why:
        pytest.skip(why)
    conn = libvirt.open("qemu:///system")
    conn.storagePoolLookupByName(POOL).refresh(0)
    yield conn
    conn.close()


