"""What a client asks about the daemon itself: which store it serves and who it sees
asking, and whether an engine holds the store's lease (`vm create --wait` says when none
does)."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from onetui.access import Caller
from onetui.api.registry import granted, operation
from onetui.store import Store


@operation("daemon.info")
def daemon_info(store: Store, caller: Caller) -> dict[str, Any]:
    """A client checks the store before it talks to a daemon (one serving another store
    is not its daemon when it has a store of its own), and learns who the daemon sees
    asking and their role (the console's status line)."""
    return {"store": str(store.path.resolve()), "caller": dataclasses.asdict(caller),
            "role": granted().role}


@operation("engine.lease")
def engine_lease(store: Store, caller: Caller) -> dict[str, Any] | None:
    """The engine lease (owner, pid, host, expiry, epoch, alive), or None."""
    lease = store.leader.current()
    if lease is None:
        return None
    return {**dataclasses.asdict(lease), "alive": lease.expires_at > time.time()}
