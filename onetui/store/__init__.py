"""The store: SQLite, the single source of truth. The UI and CLI write intents here; the
engine reads them, acts, and writes back what happened. See `Store`."""

from onetui.store.db import Database, StoreError
from onetui.store.store import Store

__all__ = ["Database", "Store", "StoreError"]
