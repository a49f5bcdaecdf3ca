"""The SGE grid as a console shows it: read through the API (`sge.qstat`, the daemon's
`[sge]` master and key, whoever asks), the last good grid kept on screen while a read
fails, with since when and why. The console needs no SGE config, no key and no SSH of
its own: a viewer's console shows the grid the daemon reads."""

from __future__ import annotations

import time
from dataclasses import dataclass

from onetui.client import HOST_KEY_UNKNOWN, NOT_CONFIGURED, ApiError, Client
from onetui.integrations.sge.grid import Grid, GridError


@dataclass(frozen=True)
class HostKey:
    """A host key the daemon's connection to the master does not know, as the daemon saw
    it: what an admin compares with the host's own before `sge.trust` pins it."""

    host: str  # as known_hosts names it: `[127.0.0.1]:2222`
    key_type: str
    key: str  # base64
    fingerprint: str  # SHA256:…, as `ssh-keygen -l` prints it

    @classmethod
    def of(cls, exc: ApiError) -> HostKey | None:
        """The key an unknown-key answer carries; None for any other failure (or one
        whose details are not all there: then nothing can be trusted)."""
        d = exc.details
        if exc.kind != HOST_KEY_UNKNOWN or not all(
                isinstance(d.get(k), str) and d[k]
                for k in ("host", "key_type", "key", "fingerprint")):
            return None
        return cls(d["host"], d["key_type"], d["key"], d["fingerprint"])


@dataclass
class GridReading:
    """The grid the daemon last read, and since when it is stale: a failed read (the
    master unreachable, a garbled answer, the daemon gone) never wipes what the admin was
    looking at. `configured` is False once the daemon said it has no `[sge]` (`error`
    then is its line, naming its config file)."""

    client: Client
    grid: Grid | None = None
    stale_since: float | None = None
    error: str = ""
    configured: bool = True
    config: str = ""  # the daemon's config file, when it said it has no [sge]
    unknown_key: HostKey | None = None  # the last failure was this unknown host key

    def poll(self) -> Grid | None:
        """Ask the daemon once (a request: call it in a worker); the grid to show."""
        try:
            self.grid = Grid.from_json(self.client.call("sge.qstat")["grid"])
        except ApiError as exc:
            self._failed(str(exc), exc)
        except (GridError, TypeError, KeyError) as exc:  # an answer that is not a grid
            self._failed(f"sge.qstat: {exc}", None)
        else:
            self.stale_since, self.error, self.unknown_key = None, "", None
            self.configured, self.config = True, ""
        return self.grid

    def _failed(self, error: str, exc: ApiError | None) -> None:
        self.error = error
        self.unknown_key = HostKey.of(exc) if exc is not None else None
        if exc is not None and exc.kind == NOT_CONFIGURED:
            # no master at all: nothing is stale, there is nothing to show
            self.configured, self.grid, self.stale_since = False, None, None
            self.config = str(exc.details.get("config", ""))
            return
        self.configured = True
        if self.stale_since is None:
            self.stale_since = time.time()
