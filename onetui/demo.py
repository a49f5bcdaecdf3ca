"""The embedded demo: a throwaway store holding the seed's scenario, so a newcomer sees
onetui working without any infrastructure of their own.

Nothing here is simulated inside onetui: hosts are libvirt test-driver nodes (real libvirt,
in-process), and the VMs are real libvirt domains deployed by the real engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from onetui.data import SEED_TEMPLATES, TEMPLATES, node_uri
from onetui.engine import instantiate
from onetui.engine.engine import Engine
from onetui.model import expand_name
from onetui.store import Store

# name -> test-driver node: two local hypervisors of different sizes, as in the seed.
DEMO_HOSTS = {"ursa03": "ursa03", "ursa04": "ursa04"}
# The seed's web tier: a load balancer and four web servers (scenario 2).
DEMO_VMS = (("xen.loadbalancer", "loadbalancer", 1), ("xen.local01", "local%02i", 4))


@dataclass
class Demo:
    state_dir: Path
    templates: list[str] = field(default_factory=list)
    hosts: list[tuple[str, str]] = field(default_factory=list)
    vms: list[int] = field(default_factory=list)


def template_name(file_name: str) -> str:
    return file_name.removesuffix(".template")


def prepare(state_dir: Path) -> Demo:
    """Fill a fresh store in `state_dir` with the seed's templates, hosts and VM intents."""
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
        for template, pattern, count in DEMO_VMS:
            offset = 1 if "%" in pattern else 0
            names = [expand_name(pattern, i + offset) for i in range(count)]
            for vm_name in names:
                demo.vms += instantiate.create(store, template, name=vm_name)
    return demo


def start_engine(store: Store, passes: int = 3) -> Engine:
    """An engine for the demo store, after a few passes (VMs deployed and running). The
    caller keeps it: the test driver's domains live as long as its connections."""
    engine = Engine(store, interval=1.0)
    if engine.lead():
        for _ in range(passes):
            engine.run_pass()
    return engine
