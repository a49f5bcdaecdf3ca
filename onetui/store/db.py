"""The SQLite connection: WAL mode, write transactions that never surface "database is
locked", and forward migrations.

Every write is one `BEGIN IMMEDIATE` transaction. IMMEDIATE takes the write lock up front,
so two writers queue on SQLite's busy handler instead of deadlocking on a lock upgrade
(the case in which SQLite gives up without waiting). A writer that still finds the database
busy after the busy timeout retries with backoff before it gives a clear error.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from onetui.errors import UserError
from onetui.store.schema import MIGRATIONS

T = TypeVar("T")

BUSY_TIMEOUT_MS = 5000
FRESH = 10.0  # seconds an empty store file may be another process's brand-new one
WRITE_ATTEMPTS = 12


class StoreError(UserError):
    """The store cannot be opened or written (permissions, a newer schema, lasting lock)."""


class Deposed(StoreError):
    """A fenced write refused: another engine took the lease over. The writer must stop
    acting at once (whatever it was doing) and go back to waiting."""


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


class Database:
    """One connection to the store file, safe to share between threads (calls serialise)."""

    def __init__(self, path: Path, *, init: bool = False, read_only: bool = False) -> None:
        self.path = Path(path)
        self.init = init
        self._lock = threading.RLock()
        self._in_tx = False
        self.commits = 0  # write transactions committed through this connection (bench/)
        # (owner, epoch) of the engine whose lease every fenced write must still hold
        self.fence: tuple[str, int] | None = None
        if read_only:
            self.conn = self._connect_read_only()
            return
        self.conn = self._connect()
        self._migrate()

    def _connect_read_only(self) -> sqlite3.Connection:
        """A connection that can only read an existing, current store: no file or folder is
        made, nothing is migrated or locked for writing (shell completion reads through
        it on every TAB, and must never leave a store behind where there was none)."""
        try:
            conn = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True,
                                   timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                                   check_same_thread=False)
            conn.row_factory = sqlite3.Row
            version = conn.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: cannot read the store: {exc}") from None
        if version != len(MIGRATIONS):
            conn.close()
            raise StoreError(f"{self.path}: schema {version}, this onetui reads "
                             f"{len(MIGRATIONS)}; open it once read-write to migrate")
        return conn

    def _connect(self) -> sqlite3.Connection:
        _prepare_file(self.path, self.init)
        try:
            conn = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                check_same_thread=False,
            )
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self._retry(lambda: conn.execute("PRAGMA journal_mode = WAL"))
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: not a usable onetui store: {exc}{_recover(self.path)}"
                             ) from None
        return conn

    def _migrate(self) -> None:
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise StoreError(
                f"{self.path}: written by a newer onetui (schema {version}; "
                f"this version knows up to {len(MIGRATIONS)})"
            )
        for number in range(version + 1, len(MIGRATIONS) + 1):
            with self.transaction() as cur:
                # Another process may have migrated while we waited for the lock.
                if cur.execute("PRAGMA user_version").fetchone()[0] >= number:
                    continue
                for statement in _statements(MIGRATIONS[number - 1]):
                    cur.execute(statement)
                cur.execute(f"PRAGMA user_version = {number}")

    @property
    def schema_version(self) -> int:
        return int(self.read("PRAGMA user_version")[0][0])

    @contextmanager
    def transaction(self, *, fenced: bool = True) -> Iterator[sqlite3.Cursor]:
        """A write transaction: all of it lands, or none of it (nothing half-written).

        While an engine leads through this connection (`fence` set), every write first
        checks, inside the same transaction, that the lease is still that engine's (owner
        and epoch): a deposed engine's write is refused with `Deposed` and rolled back, so
        two engines never both write, whatever the deposed one was in the middle of."""
        with self._lock:
            if self._in_tx:  # nested use joins the outer transaction
                yield self.conn.cursor()
                return
            self._retry(lambda: self.conn.execute("BEGIN IMMEDIATE"))
            self._in_tx = True
            try:
                cur = self.conn.cursor()
                if fenced and self.fence is not None:
                    self._check_fence(cur, self.fence)
                yield cur
            except BaseException as exc:
                with contextlib.suppress(sqlite3.Error):  # SQLite may have rolled back itself;
                    self.conn.execute("ROLLBACK")  # the cause, not "no transaction", is shown
                if isinstance(exc, sqlite3.DatabaseError):
                    raise self._explain(exc) from None
                raise
            else:
                self._retry(lambda: self.conn.execute("COMMIT"))
                self.commits += 1
            finally:
                self._in_tx = False

    def _check_fence(self, cur: sqlite3.Cursor, fence: tuple[str, int]) -> None:
        row = cur.execute("SELECT owner, epoch FROM leader WHERE id = 1").fetchone()
        if row is None or (row["owner"], row["epoch"]) != fence:
            holder = f"engine {row['owner']} (epoch {row['epoch']})" if row else "nobody"
            raise Deposed(f"{self.path}: this engine (epoch {fence[1]}) lost the lease to "
                          f"{holder}; it stops acting")

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Several reads that see one consistent state of the store."""
        with self._lock:
            if self._in_tx:
                yield
                return
            self._retry(lambda: self.conn.execute("BEGIN"))
            self._in_tx = True
            try:
                yield
            finally:
                self._in_tx = False
                self.conn.execute("COMMIT")

    def read(self, sql: str,
             params: tuple[Any, ...] | dict[str, Any] = ()) -> list[sqlite3.Row]:
        """A consistent read (one statement, one snapshot)."""
        with self._lock:
            return self._retry(lambda: self.conn.execute(sql, params).fetchall())

    def _explain(self, exc: sqlite3.DatabaseError) -> Exception:
        """SQLite's errors about the file itself, said so that an admin knows what to do."""
        text = str(exc).lower()
        if "disk is full" in text or "disk full" in text:
            import shutil  # only for this message: not on every command's start

            try:
                free = shutil.disk_usage(self.path.parent).free // (1024 * 1024)
                room = f" ({free} MB free)"
            except OSError:
                room = ""
            return StoreError(f"{self.path}: disk full writing the store{room}; nothing was "
                              "written — free some space and try again")
        if "not a database" in text:
            return StoreError(f"{self.path}: not a usable onetui store: {exc}")
        if "malformed" in text or "corrupt" in text:
            return StoreError(f"{self.path}: the store is damaged ({exc}){_recover(self.path)}")
        if "readonly" in text or "read-only" in text:
            return StoreError(f"{self.path}: the store is read-only here ({exc})")
        return exc

    def _retry(self, op: Callable[[], T]) -> T:
        delay = 0.01
        for attempt in range(WRITE_ATTEMPTS):
            try:
                return op()
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc):
                    raise self._explain(exc) from None
                if attempt == WRITE_ATTEMPTS - 1:
                    raise StoreError(
                        f"{self.path}: the store stayed busy (another onetui is writing); "
                        "try again"
                    ) from None
            except sqlite3.DatabaseError as exc:
                raise self._explain(exc) from None
            import random  # only when the store is busy: not on every command's start

            time.sleep(delay * (1 + random.random()))
            delay = min(delay * 2, 0.5)
        raise AssertionError("unreachable")

    def close(self) -> None:
        with self._lock:
            self.conn.close()


def _prepare_file(path: Path, init: bool) -> None:
    """Create the state directory (0700) and the store file (0600) before SQLite does, so the
    file never exists with looser permissions; the WAL files inherit its mode.

    A store that should be there and is not (an empty file, or a missing one beside the
    secrets and keys it made) is never silently replaced by a new, empty one: a new store
    gets a new store id, and the guests and instances of the old one would no longer be
    recognised as onetui's. Only `init` (the admin's --init) starts anew there."""
    try:
        if not path.parent.exists():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.chmod(path.parent, 0o700)  # whatever the umask
        if not init:
            _refuse_lost_store(path)
        if path.is_symlink() or not path.exists() or not os.access(path, os.R_OK | os.W_OK):
            # made here (0600), or refused in one line (a link, no rights). Never opened and
            # closed when it is there to use: closing any descriptor of the file drops every
            # POSIX lock this process holds on it, those of a connection already open here
            # too (serve's engine, when its API opens its own), and SQLite then loses commits.
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
            os.close(fd)
    except OSError as exc:
        raise StoreError(f"{path}: cannot open the store: {exc.strerror}") from None


def _refuse_lost_store(path: Path) -> None:
    leftovers = [name for name in ("secrets.key", "known_hosts", f"{path.name}-wal")
                 if (path.parent / name).exists()]
    info = path.stat() if path.exists() else None
    # (an empty file just made by another onetui starting at the same moment is not lost)
    if info and info.st_size == 0 and time.time() - info.st_mtime > FRESH \
            and not Path(f"{path}-wal").exists():
        why = "is empty"
    elif not path.exists() and leftovers:
        why = f"is missing, but {', '.join(leftovers)} beside it belong to a store"
    else:
        return
    raise StoreError(f"{path} {why}: a new store would have a new id, and the guests and "
                     "instances of the old one would no longer be recognised. Restore it "
                     "from a backup, or start anew with `onetui --init …`")


def _recover(path: Path) -> str:
    return (f"; recover what is readable with `sqlite3 {path} .recover | sqlite3 "
            f"{path.with_suffix('.recovered.db')}`, then move it into place")


def _statements(script: str) -> list[str]:
    """Split a migration into statements (sqlite3.complete_statement knows about triggers)."""
    out, buf = [], ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            out.append(buf.strip())
            buf = ""
    if buf.strip():
        out.append(buf.strip())
    return out
