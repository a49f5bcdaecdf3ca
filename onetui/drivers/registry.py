"""Which driver class serves a host, built from the host's stored settings."""

from __future__ import annotations

from onetui.drivers.base import Driver, DriverError
from onetui.model import Host


def make_driver(host: Host) -> Driver:
    """A new driver for `host` (the engine keeps it, and its connection, between passes)."""
    if host.driver == "libvirt":
        from onetui.drivers.virt import LibvirtDriver

        cfg = host.config
        return LibvirtDriver(cfg["uri"], domain_type=cfg.get("domain_type"))
    raise DriverError(f"host {host.name}: driver {host.driver!r} is not available")
