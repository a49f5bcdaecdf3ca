"""What the engine asks of the managers it runs (services, labs, SGE exec hosts), as small
capability interfaces checked where they are used: every hook hears of state changes; a
hook may also tick every pass, hand figures to the history, hold a shutdown back, and be
closed with the engine."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from onetui.model import VM


@runtime_checkable
class Hook(Protocol):
    """Told about VM state changes after each pass (SGE join, load balancer update…)."""

    def vm_changed(self, vm: VM, old: str, new: str) -> None: ...


@runtime_checkable
class Ticker(Protocol):
    """Called every pass with the running VMs: retries, slow steps, size keeping."""

    def tick(self, running: list[VM]) -> None: ...


@runtime_checkable
class Sampler(Protocol):
    """Measured something worth a history point this pass (a service's size and load, the
    grid's queue): asked after the ticks, as (kind, key, values) for store.history. The
    engine writes them with its next look (one transaction a pass, not one more)."""

    def samples(self) -> list[tuple[str, str, dict[str, float]]]: ...


@runtime_checkable
class StopHolder(Protocol):
    """Asked before a VM shuts down: a non-empty answer (why) makes the shutdown wait,
    e.g. while an SGE exec host drains or a web server leaves the load balancer."""

    def hold_stop(self, vm: VM) -> str: ...


@runtime_checkable
class Closer(Protocol):
    """Has threads or connections to end when the engine stops."""

    def close(self) -> None: ...
