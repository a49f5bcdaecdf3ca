"""Which driver class serves a host, built from the host's stored settings."""

from __future__ import annotations

from onetui.drivers.base import Driver, DriverError
from onetui.model import Host


def make_driver(host: Host, store_id: str) -> Driver:
    """A new driver for `host` (the engine keeps it, and its connection, between passes).
    `store_id` names this store's guests and cloud resources."""
    if host.driver == "libvirt":
        from onetui.drivers.virt import LibvirtDriver

        return LibvirtDriver(host.config["uri"], domain_type=host.config.get("domain_type"),
                             console_log_dir=host.config.get("console_log_dir"))
    if host.driver == "ec2":
        from onetui.drivers.ec2 import Ec2Driver

        return Ec2Driver(store_id, host.config)
    raise DriverError(f"host {host.name}: driver {host.driver!r} is not available")
