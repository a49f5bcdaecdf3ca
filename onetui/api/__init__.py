"""The operations of onetui's one API, by name, in terms of ops/ (writing intents) and
view/ (what is shown). `onetui serve` answers them over its Unix socket
(onetui.runtime.server); the CLI asks through onetui.client, or, with no daemon running,
runs these same handlers in-process (`local.LocalTransport`). Each noun's module registers
its operations when one of them is first asked for (registry.MODULES)."""

from __future__ import annotations

from onetui.access import Caller, Refused
from onetui.api.guard import access_op, authorize
from onetui.api.registry import REGISTRY, BadRequest, load_all, lookup, respond

__all__ = ["REGISTRY", "BadRequest", "Caller", "Refused", "access_op", "authorize", "load_all",
           "lookup", "respond"]
