"""A service: a named group of VMs of one template kept at a desired size."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Service:
    id: int
    name: str
    template_id: int | None
    burst_template_id: int | None
    min_size: int
    max_size: int
    desired: int
    config: dict[str, Any]
