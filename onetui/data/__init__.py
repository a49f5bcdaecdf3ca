"""Files that ship with onetui: the seed's templates, libvirt test-driver nodes, the
console's themes and the systemd unit of system mode."""

from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).resolve().parent
TEMPLATES = DATA / "templates"
NODES = DATA / "nodes"
THEMES = DATA / "themes"
SYSTEMD = DATA / "systemd"

# The seed's five templates (nginx.conf beside them is the load balancer's config).
SEED_TEMPLATES = ("xen.loadbalancer", "xen.local01", "ec2.template", "sge-ec2.template",
                  "sgehost01.template")
# What `template import --seed` stores: the seed's, and a lab master for README's example.
SHIPPED_TEMPLATES = (*SEED_TEMPLATES, "linux-master.template")


def node_uri(name: str) -> str:
    """The libvirt URI of a shipped test-driver node (test:/// needs an absolute path)."""
    return f"test://{NODES / f'{name}.xml'}"
