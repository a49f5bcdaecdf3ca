"""The life-cycle manager: the only writer of VM state (OpenNebula's LCM).

Every other part of the engine asks it to move a VM; it writes the new state, its fields
and its event in one store transaction, keeps the pass's list of transitions (which the
hooks hear about) and tells the managers that cache per-VM data when a VM has ended.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from onetui.drivers.base import error_line
from onetui.errors import Conflict
from onetui.model import MONITORED_STATES, VM
from onetui.store import Store
from onetui.store.db import StoreError

ENDED = frozenset({"done", "fail"})
ON_HOST = MONITORED_STATES  # states with a live guest


@dataclass
class PassStats:
    hosts: int = 0
    looked: int = 0  # hosts the pass looked at (the rest report their changes by events)
    monitored: int = 0
    placed: int = 0
    deployed: int = 0
    transitions: list[tuple[int, str, str]] = field(default_factory=list)
    errors: int = 0  # objects failed alone by an unexpected error


class Lifecycle:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.stats = PassStats()
        self._on_end: list[Callable[[int], object]] = []

    def begin_pass(self) -> PassStats:
        self.stats = PassStats()
        return self.stats

    def on_end(self, forget: Callable[[int], object]) -> None:
        """`forget(vm_id)` is called once a VM is done or failed (caches keyed by VM)."""
        self._on_end.append(forget)

    def transition(self, vm: VM, state: str, *, expect: set[str] | None = None,
                   event: str = "", **fields: Any) -> bool:
        """Move `vm` to `state` (only from `expect`, when given). False when the admin
        changed the VM meanwhile: their word wins, and the next pass sees it."""
        try:
            self.store.vms.transition(vm.id, state, expect=expect, event=event, **fields)
        except Conflict:
            return False
        self.stats.transitions.append((vm.id, vm.state, state))
        if (vm.state, state) == ("prol", "boot"):
            self.stats.deployed += 1
        # (a VM's leases go back inside the store's transition to `done`)
        if state in ENDED:
            for forget in self._on_end:
                forget(vm.id)
        return True

    @contextmanager
    def isolated(self, vm: VM, step: str) -> Iterator[None]:
        """One VM's step: an unexpected error fails that VM alone, with its reason and an
        event, and the pass goes on. A store that cannot be written is not the VM's fault:
        it stops the pass (and a deposed engine stops acting)."""
        try:
            yield
        except StoreError:
            raise
        except Exception as exc:
            self.stats.errors += 1
            self.transition(vm, "fail", event=f"{step} failed",
                            message=f"{step}: {error_line(exc)}")

    def ended(self) -> set[int]:
        """The VMs that ended in this pass so far."""
        return {vid for vid, _, new in self.stats.transitions if new in ENDED}

