"""The operations of onetui's one API, by name, in terms of ops/ (writing intents) and
view/ (what is shown). `onetui serve` answers them over its Unix socket
(onetui.runtime.server); the CLI asks through onetui.client, or, with no daemon running,
runs these same handlers in-process (`local_transport`). Importing this package registers
every operation."""

from __future__ import annotations

from onetui.api import (
    daemon,
    events,
    grid,
    hosts,
    labs,
    networks,
    services,
    templates,
    vms,
)
from onetui.api.caller import Caller, Refused, authorize
from onetui.api.registry import REGISTRY, BadRequest, respond

__all__ = ["REGISTRY", "BadRequest", "Caller", "Refused", "authorize", "daemon", "events",
           "grid", "hosts", "labs", "networks", "respond", "services", "templates", "vms"]
