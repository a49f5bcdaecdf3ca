"""What the engine asks of a hypervisor or cloud, as small capability interfaces.

A driver instance serves one host and keeps its connection open between calls (libvirt's
test driver even keeps its domains only while the connection lives). Drivers are called
from engine worker threads, never from the console's event loop, and they know nothing of
the store: they get plain values in and give plain values back. Every failure a user
should see is a `DriverError` whose message is the backend's own words.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from onetui.errors import UserError

if TYPE_CHECKING:  # annotations only: `onetui host list` imports this module's neighbours
    from onetui.template import Template


class DriverError(Exception):
    """The backend refused or failed; str() is a one-line message fit for `vm show`."""


class HostUnreachable(DriverError):
    """The host cannot be reached at all (its VMs go to `unkn`, the host to `err`)."""


class NoAnswer(HostUnreachable):
    """A call to the host missed its deadline (or an earlier one still hangs). Unlike a
    refused connection, the call may still take effect: what it made is adopted later."""


def error_line(exc: BaseException) -> str:
    """One line for `vm show` or a host's error: the backend's own words for a driver
    error, the error's kind and text for anything unexpected (never a traceback)."""
    if isinstance(exc, DriverError | UserError):
        return str(exc) or type(exc).__name__
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text[:300]}" if text else type(exc).__name__


# What a driver reports for one of its guests.
GUEST_RUNNING = "running"
GUEST_PAUSED = "paused"
GUEST_OFF = "off"  # defined but not running (shut down from inside, or crashed)


@dataclass(frozen=True)
class HostInfo:
    """One monitoring sample of a host, in OpenNebula's units: CPU in percent of one core
    (100 per core), memory in MB."""

    tcpu: int
    tmem: int
    fcpu: int  # monitored free CPU
    fmem: int  # monitored free memory
    hypervisor: str  # e.g. "QEMU", "Xen", "TEST", "ec2"
    # CPU (percent) and memory (MB) taken by guests onetui does not manage.
    foreign_cpu: int = 0
    foreign_mem: int = 0
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Guest:
    """A guest as the backend sees it, keyed by the deploy id onetui recorded."""

    deploy_id: str
    name: str
    state: str  # GUEST_RUNNING | GUEST_PAUSED | GUEST_OFF
    cpu_time_ns: int = 0
    memory_mb: int = 0
    ip: str = ""
    info: dict[str, str] = field(default_factory=dict)
    read_at: float = 0.0  # time.monotonic() when cpu_time_ns was read (0: with the host)


@dataclass(frozen=True)
class Placement:
    """What a deploy is given: the VM's id and name, its template (already instantiated,
    with NIC MAC/IP filled in), and a stable identity to find it again after a crash."""

    vm_id: int
    name: str
    template: Template
    # Unique per store and VM: libvirt domain UUID, EC2 ClientToken seed. Deterministic,
    # so a deploy repeated after a crash finds the guest it made the first time.
    identity: str


@runtime_checkable
class Monitor(Protocol):
    def monitor(self) -> HostInfo: ...

    def guests(self) -> dict[str, Guest]:
        """Every guest onetui manages on this host, by deploy id: one backend call."""
        ...


@runtime_checkable
class OneListing(Protocol):
    """A monitor that gives its figures and its guests from one backend listing."""

    def sample(self) -> tuple[HostInfo, dict[str, Guest]]: ...


@runtime_checkable
class Deployer(Protocol):
    def prolog(self, placement: Placement) -> Template:
        """Prepare per-VM resources (disk copies/overlays); returns the template the domain
        is built from (disk sources rewritten). Idempotent."""
        ...

    def deploy(self, placement: Placement) -> str:
        """Create and start the guest; returns its deploy id. If a guest with this
        placement's identity exists already, adopt it instead of creating another."""
        ...

    def find(self, placement: Placement) -> str | None:
        """The deploy id of an existing guest for this placement, if any."""
        ...

    def shutdown(self, deploy_id: str) -> None:
        """Ask the guest to power off (ACPI); the engine polls until it is off."""
        ...

    def cancel(self, deploy_id: str) -> None:
        """Destroy the guest now and forget it (undefine). No error if it is gone."""
        ...

    def epilog(self, placement: Placement) -> None:
        """Remove what prolog made. No error if it is gone."""
        ...


@runtime_checkable
class Suspender(Protocol):
    """Pause in memory (suspend/resume), or save to disk and free the CPU (stop/start)."""

    def suspend(self, deploy_id: str) -> None: ...

    def resume(self, deploy_id: str) -> None: ...

    def stop(self, deploy_id: str) -> None: ...

    def start(self, deploy_id: str) -> None: ...


@runtime_checkable
class Rebooter(Protocol):
    """Restart a running guest: through ACPI (the guest reboots itself) or, `hard`, as a
    reset button (OpenNebula's `onevm reboot [--hard]`)."""

    def reboot(self, deploy_id: str, hard: bool) -> None: ...


@runtime_checkable
class PowerSwitch(Protocol):
    """Turn a guest off but keep it on its host, disks and all (OpenNebula's POWEROFF), and
    on again. `hard` pulls the plug instead of asking through ACPI."""

    def power_off(self, deploy_id: str, hard: bool) -> None: ...

    def power_on(self, deploy_id: str) -> None: ...


@runtime_checkable
class Migrator(Protocol):
    """Move a guest to another host of the same kind (libvirt's migration), keeping its
    identity. The backend refuses what it cannot do, in its own words."""

    def migrate(self, deploy_id: str, dest_uri: str, live: bool) -> None: ...


@runtime_checkable
class Notifier(Protocol):
    """A backend that says when a guest changed (libvirt's domain lifecycle events): the
    engine looks at that host at once instead of at its next pass. `changed` is called from
    another thread and must only take note."""

    def watch(self, changed: Callable[[], None]) -> None: ...

    @property
    def watching(self) -> bool:
        """True while the host's events reach `changed` (its connection is up and
        subscribed): only then may the engine look at it less often."""
        ...


@runtime_checkable
class ConsoleReader(Protocol):
    """A guest's serial console output: where a fresh guest prints its SSH host key
    (cloud-init's `BEGIN SSH HOST KEY KEYS` block), so onetui can trust it out of band."""

    def console(self, deploy_id: str) -> str: ...


@runtime_checkable
class Finisher(Protocol):
    """Work once a guest first runs (EC2: associate the Elastic IP). Returns a problem to
    show on the VM, or ""; the VM stays up either way."""

    def finish(self, deploy_id: str, template: Template) -> str: ...


@runtime_checkable
class BatchLauncher(Protocol):
    """A cloud that launches many guests in one call, crash-safe (the engine's launcher
    commits the exact parameters and ClientToken before the call, finds the instances of a
    launch by its tag after a crash, and terminates what no VM wants)."""

    def launch_params(self, token: str, placements: list[Placement],
                      userdata: str) -> dict[str, Any]: ...

    def launch(self, params: dict[str, Any]) -> list[str]: ...

    def find_launch(self, token: str) -> dict[int, str]: ...

    def terminate(self, instance_ids: list[str]) -> None: ...


@runtime_checkable
class Driver(Monitor, Deployer, Protocol):
    def close(self) -> None: ...
