"""A lab and its seats, and the states a seat goes through."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# A seat's life: its VM deploys, its SSH server comes up, its account is made and checked.
DEPLOYING = "deploying"
WAITING = "waiting for ssh"
ACCOUNT = "creating account"
READY = "ready"
FAILED = "failed"
SEAT_STATES = (DEPLOYING, WAITING, ACCOUNT, READY, FAILED)


@dataclass(frozen=True)
class Lab:
    id: int
    name: str
    template_id: int | None
    network_id: int | None
    seats: int
    user_pattern: str
    expires_at: float | None
    state: str  # active | destroying
    created_at: float
    config: dict[str, Any] = field(default_factory=dict)
    owner: str = ""  # the unix user who owns it, as named when the lab was made
    owner_uid: int | None = None  # and their uid: what ownership is checked by (None: admins)


@dataclass(frozen=True)
class Seat:
    lab_id: int
    seat: int
    vm_id: int | None
    username: str
    state: str
    message: str
    ip: str
    port: int
    state_at: float
    ready_at: float | None
    has_password: bool

    @property
    def status(self) -> str:
        """What the seat's row says: `failed: reason` for a failed seat."""
        return f"{self.state}: {self.message}" if self.state == FAILED else self.state
