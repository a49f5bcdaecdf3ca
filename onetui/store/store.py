"""`Store`: one handle on the SQLite file, with an object per area (hosts, vms, …)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from onetui import config
from onetui.store.changes import ChangeLog
from onetui.store.db import Database
from onetui.store.events import Events
from onetui.store.history import History
from onetui.store.hosts import Hosts
from onetui.store.labs import Labs
from onetui.store.launches import Launches
from onetui.store.leader import Leader
from onetui.store.networks import Networks
from onetui.store.secrets import SecretBox
from onetui.store.services import Services
from onetui.store.templates import Templates
from onetui.store.vms import VMs


class Store:
    """Open (creating and migrating if needed) the store in `state_dir`."""

    def __init__(self, path: Path, *, init: bool = False, read_only: bool = False) -> None:
        self.db = Database(path, init=init, read_only=read_only)
        self.hosts = Hosts(self.db)
        self.templates = Templates(self.db)
        self.vms = VMs(self.db)
        self.events = Events(self.db)
        self.changes = ChangeLog(self.db)
        self.leader = Leader(self.db)
        self.launches = Launches(self.db)
        self.networks = Networks(self.db)
        self.services = Services(self.db)
        self.history = History(self.db)
        self.labs = Labs(self.db, SecretBox(path.parent / "secrets.key"))

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
