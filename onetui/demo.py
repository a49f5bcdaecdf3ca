"""The embedded demo: a throwaway store holding the seed's scenario, so a newcomer sees
onetui working without any infrastructure of their own.

Nothing here is simulated inside onetui: hosts are libvirt test-driver nodes (real libvirt,
in-process), and later parts add a real (moto) EC2 endpoint on 127.0.0.1.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from onetui.data import SEED_TEMPLATES, TEMPLATES, node_uri
from onetui.store import Store

# name -> test-driver node: two local hypervisors of different sizes, as in the seed.
DEMO_HOSTS = {"ursa03": "ursa03", "ursa04": "ursa04"}


@dataclass
class Demo:
    state_dir: Path
    templates: list[str] = field(default_factory=list)
    hosts: list[tuple[str, str]] = field(default_factory=list)


def template_name(file_name: str) -> str:
    return file_name.removesuffix(".template")


def prepare(state_dir: Path) -> Demo:
    """Fill a fresh store in `state_dir` with the seed's templates and the demo hosts."""
    demo = Demo(state_dir)
    with Store.open(state_dir) as store:
        for file_name in SEED_TEMPLATES:
            body = (TEMPLATES / file_name).read_text(encoding="utf-8")
            rec = store.templates.add(template_name(file_name), body, source=file_name)
            demo.templates.append(rec.name)
        for name, node in DEMO_HOSTS.items():
            uri = node_uri(node)
            store.hosts.add(name, "libvirt", {"uri": uri})
            demo.hosts.append((name, uri))
    return demo
