"""The embedded demo: a throwaway store holding the seed's scenario, so a newcomer sees
onetui working without any infrastructure of their own.

Nothing here is simulated inside onetui: hosts are libvirt test-driver nodes (real libvirt,
in-process) and an EC2 endpoint (moto's server, started on 127.0.0.1 for the demo and
reached through boto3 exactly as AWS is), and the VMs are real libvirt domains and real
(moto) instances deployed by the real engine.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from onetui.data import SEED_TEMPLATES, TEMPLATES, node_uri
from onetui.engine.loop import Engine
from onetui.errors import UserError
from onetui.model import expand_name
from onetui.ops import instantiate
from onetui.runtime.compose import build_engine
from onetui.store import Store

# name -> test-driver node: two local hypervisors of different sizes, as in the seed.
DEMO_HOSTS = {"ursa03": "ursa03", "ursa04": "ursa04"}
# The seed's web tier (scenario 2): a load balancer, two web servers on EC2, and the local
# web servers as a service of four the engine keeps running (local first, EC2 when full).
DEMO_VMS = (("xen.loadbalancer", "loadbalancer", 1), ("ec2", "ec2web%02i", 2))
DEMO_SERVICE = ("web", "xen.local01", "ec2", 4, 8)
DEMO_AWS_ENV = {"AWS_ACCESS_KEY_ID": "demo", "AWS_SECRET_ACCESS_KEY": "demo"}


@dataclass
class Demo:
    state_dir: Path
    endpoint: str = ""
    templates: list[str] = field(default_factory=list)
    hosts: list[tuple[str, str]] = field(default_factory=list)
    vms: list[int] = field(default_factory=list)
    server: Any = None

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None


def start_ec2_endpoint() -> tuple[Any, str]:
    """moto's EC2 server on a free 127.0.0.1 port, with throwaway credentials set for this
    process only (boto3 finds them in the environment, as it would real ones)."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError:
        raise UserError("the demo's EC2 endpoint needs moto: run `bash scripts/demo.sh`, "
                        "which installs it") from None
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no request log on the screen
    os.environ.update(DEMO_AWS_ENV)
    return server, f"http://127.0.0.1:{port}"


def template_name(file_name: str) -> str:
    return file_name.removesuffix(".template")


def prepare(state_dir: Path) -> Demo:
    """Fill a fresh store in `state_dir` with the seed's templates, hosts and VM intents."""
    server, endpoint = start_ec2_endpoint()
    demo = Demo(state_dir, endpoint, server=server)
    with Store.open(state_dir) as store:
        for file_name in SEED_TEMPLATES:
            body = (TEMPLATES / file_name).read_text(encoding="utf-8")
            rec = store.templates.add(template_name(file_name), body, source=file_name)
            demo.templates.append(rec.name)
        for name, node in DEMO_HOSTS.items():
            uri = node_uri(node)
            store.hosts.add(name, "libvirt", {"uri": uri})
            demo.hosts.append((name, f"libvirt {uri}"))
        store.networks.add("vpn", "10.1.1.100", "10.1.1.254", "workernode%i")
        # Scenario 3's lab network, on loopback: `L` then `n` in the console makes a lab on
        # it (the test-driver hosts run no real guests, so its seats wait for SSH).
        store.networks.add("labnet", "127.0.5.10", "127.0.5.59", "seat%i")
        store.hosts.add("ec2", "ec2", {"region": "us-east-1", "endpoint_url": endpoint,
                                       "max_instances": 20, "max_cpu": 2000,
                                       "max_memory": 20 * 1700, "network": "vpn"})
        demo.hosts.append(("ec2", f"ec2 {endpoint}"))
        for template, pattern, count in DEMO_VMS:
            offset = 1 if "%" in pattern else 0
            names = [expand_name(pattern, i + offset) for i in range(count)]
            for vm_name in names:
                demo.vms += instantiate.create(store, template, name=vm_name)
        name, template, burst, size, most = DEMO_SERVICE
        store.services.add(name, store.templates.get(template).id,
                           store.templates.get(burst).id, size, most, {"port": 80})
    return demo


def start_engine(store: Store, passes: int = 3) -> Engine:
    """An engine for the demo store, after a few passes (VMs deployed and running). The
    caller keeps it: the test driver's domains live as long as its connections."""
    engine = build_engine(store, {}, interval=1.0)
    if engine.lead():
        for _ in range(passes):
            engine.run_pass()
    return engine
