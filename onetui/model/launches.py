"""A cloud launch record: what was (or is about to be) asked of the cloud."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Launch:
    token: str
    host_id: int
    vm_ids: list[int]
    params: dict[str, Any]
    state: str  # prepared | sent | done | failed
    error: str
    created_at: float
