"""Networks with an address range and the leases VMs hold on them; the MAC and
hostname rules that derive a lease from its address."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from onetui.model import expand_name

MAX_RANGE = 65536


@dataclass(frozen=True)
class Network:
    id: int
    name: str
    first_ip: str
    last_ip: str
    hostname: str  # pattern with %i: the index of the address in the range
    config: dict[str, Any]

    @property
    def size(self) -> int:
        return int(ipaddress.IPv4Address(self.last_ip)) - int(
            ipaddress.IPv4Address(self.first_ip)) + 1


@dataclass(frozen=True)
class Lease:
    network: str
    ip: str
    mac: str
    hostname: str
    vm_id: int | None


def mac_for(ip: str) -> str:
    """OpenNebula's rule: 02:00 followed by the IPv4 address in hex, so MACs never collide
    while addresses don't."""
    return "02:00:" + ":".join(f"{b:02x}" for b in ipaddress.IPv4Address(ip).packed)


def hostname_for(pattern: str, index: int) -> str:
    return expand_name(pattern, index) if pattern else ""
