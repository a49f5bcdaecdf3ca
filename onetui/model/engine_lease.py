"""The engine lease: which process may act on a store, until when."""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Lease:
    owner: str
    pid: int
    hostname: str
    expires_at: float
    epoch: int = 0  # the fencing token: grows by one at every takeover

    @property
    def alive(self) -> bool:
        return self.expires_at > time.time()
