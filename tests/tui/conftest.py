"""The console tests' store: two test-driver hosts and the demo's templates."""

from __future__ import annotations

from pathlib import Path

import pytest

from onetui.data import TEMPLATES, node_uri
from onetui.store import Store


@pytest.fixture
def seeded(state_dir: Path) -> Path:
    with Store.open(state_dir) as store:
        store.hosts.add("ursa03", "libvirt", {"uri": node_uri("ursa03")})
        store.hosts.add("ursa04", "libvirt", {"uri": node_uri("ursa04")})
        for name in ("xen.local01", "ec2.template"):
            store.templates.add(name.removesuffix(".template"), (TEMPLATES / name).read_text())
        return store.path
