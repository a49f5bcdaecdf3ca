"""`Store`: one handle on the SQLite file, with an object per area (hosts, vms, …)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from onetui import config
from onetui.store.db import Database

if TYPE_CHECKING:
    from onetui.store.changes import ChangeLog
    from onetui.store.events import Events
    from onetui.store.history import History
    from onetui.store.hosts import Hosts
    from onetui.store.labs import Labs
    from onetui.store.launches import Launches
    from onetui.store.leader import Leader
    from onetui.store.networks import Networks
    from onetui.store.services import Services
    from onetui.store.templates import Templates
    from onetui.store.vms import VMs

T = TypeVar("T")


class _area(Generic[T]):
    """One area of the store (hosts, vms, labs, …), made on first use: its module and the
    model records it needs load then, so `onetui vm list` does not import what labs,
    services or launches need. Made once per Store under its lock (two engine threads
    asking at once get the same object); after that it is a plain attribute."""

    def __init__(self, make: Callable[[Any], T]) -> None:
        self.make = make
        self.name = make.__name__
        self.__doc__ = make.__doc__

    @overload
    def __get__(self, store: None, owner: type) -> _area[T]: ...
    @overload
    def __get__(self, store: Store, owner: type) -> T: ...

    def __get__(self, store: Store | None, owner: type) -> _area[T] | T:
        if store is None:
            return self
        with store._areas_lock:  # noqa: SLF001 (Store's own lock, for its own areas)
            if self.name not in store.__dict__:
                store.__dict__[self.name] = self.make(store)
        return store.__dict__[self.name]  # type: ignore[no-any-return]


class Store:
    """Open (creating and migrating if needed) the store in `state_dir`."""

    def __init__(self, path: Path, *, init: bool = False, read_only: bool = False) -> None:
        self.db = Database(path, init=init, read_only=read_only)
        self._areas_lock = threading.Lock()

    @_area
    def hosts(self) -> Hosts:
        from onetui.store.hosts import Hosts
        return Hosts(self.db)

    @_area
    def templates(self) -> Templates:
        from onetui.store.templates import Templates
        return Templates(self.db)

    @_area
    def vms(self) -> VMs:
        from onetui.store.vms import VMs
        return VMs(self.db)

    @_area
    def events(self) -> Events:
        from onetui.store.events import Events
        return Events(self.db)

    @_area
    def changes(self) -> ChangeLog:
        from onetui.store.changes import ChangeLog
        return ChangeLog(self.db)

    @_area
    def leader(self) -> Leader:
        from onetui.store.leader import Leader
        return Leader(self.db)

    @_area
    def launches(self) -> Launches:
        from onetui.store.launches import Launches
        return Launches(self.db)

    @_area
    def networks(self) -> Networks:
        from onetui.store.networks import Networks
        return Networks(self.db)

    @_area
    def services(self) -> Services:
        from onetui.store.services import Services
        return Services(self.db)

    @_area
    def history(self) -> History:
        from onetui.store.history import History
        return History(self.db)

    @_area
    def labs(self) -> Labs:
        from onetui.store.labs import Labs
        from onetui.store.secrets import SecretBox
        return Labs(self.db, SecretBox(self.path.parent / "secrets.key"))

    @classmethod
    def open(cls, state: str | os.PathLike[str] | None = None, *, init: bool = False,
             read_only: bool = False) -> Store:
        """The store in `state` (or the default state directory); `init` allows making a
        new one where an old one was lost (see Database); `read_only` only reads one that
        exists (any write through it fails)."""
        return cls(config.store_path(state), init=init, read_only=read_only)

    @property
    def store_id(self) -> str:
        """A random id made when the store was created: it names this store's guests and
        cloud resources (domain UUIDs, EC2 tags), so two stores never claim each other's."""
        return str(self.db.read("SELECT value FROM meta WHERE key = 'store_id'")[0][0])

    def mark_look(self, at: float | None = None) -> None:
        """The engine looked at every host just now: one row, so every VM on a reachable
        host has a LAST POLL without a write per VM."""
        with self.db.transaction() as cur:
            cur.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('last_look', ?)",
                        (repr(time.time() if at is None else at),))

    @property
    def path(self) -> Path:
        return self.db.path

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
