"""Secrets at rest (lab passwords): sealed with AES-GCM under a key kept in its own 0600
file next to the store, so a copy of the store file alone (a backup, a bug report) reveals
no password, and nothing in the store is readable without that key."""

from __future__ import annotations

import base64
import contextlib
import os
from pathlib import Path
from typing import Any

from onetui.errors import UserError

PREFIX = "v1:"


class SecretBox:
    def __init__(self, key_path: Path) -> None:
        self.key_path = key_path
        self._key: bytes | None = None

    def _load(self) -> bytes:
        if self._key is None:
            if not self.key_path.exists():
                self._create()
            data = self.key_path.read_bytes()
            if len(data) != 32:
                raise UserError(f"{self.key_path}: expected a 32-byte key, found {len(data)} "
                                "bytes; restore it from a backup or reset the lab passwords")
            self._key = data
        return self._key

    def _create(self) -> None:
        """Write the key to a private temporary file, then link it into place: another
        process reading the key never sees it half-written, and when two make one at once,
        the first link wins and both use that key."""
        tmp = self.key_path.with_name(f".{self.key_path.name}.{os.getpid()}.{os.urandom(4).hex()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(os.urandom(32))  # what AESGCM.generate_key(256) returns
            with contextlib.suppress(FileExistsError):  # another process made it first
                os.link(tmp, self.key_path)
        finally:
            tmp.unlink(missing_ok=True)

    def seal(self, text: str, context: str) -> str:
        """`context` (e.g. "lab 3 seat 1") is bound into the seal: a sealed value copied to
        another row does not open there."""
        nonce = os.urandom(12)
        sealed = _aesgcm(self._load()).encrypt(nonce, text.encode(), context.encode())
        return PREFIX + base64.b64encode(nonce + sealed).decode()

    def open(self, value: str, context: str) -> str:
        if not value:
            return ""
        if not value.startswith(PREFIX):
            raise UserError(f"{context}: the stored secret is not in a known format")
        try:
            raw = base64.b64decode(value[len(PREFIX):], validate=True)
            if len(raw) < 12 + 16:
                raise ValueError("too short")
        except ValueError:  # binascii.Error is one: truncated or damaged in the store
            raise UserError(f"{context}: the stored password is damaged; reset the "
                            "password") from None
        try:
            plain: bytes = _aesgcm(self._load()).decrypt(raw[:12], raw[12:], context.encode())
            return plain.decode()
        except _invalid_tag():
            raise UserError(f"{context}: the stored password cannot be opened with "
                            f"{self.key_path} (a different key?); reset the password") from None


def _aesgcm(key: bytes) -> Any:
    """cryptography is imported when a secret is sealed or opened (~20 ms), not by every
    command that opens the store."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    return AESGCM(key)


def _invalid_tag() -> type[Exception]:
    from cryptography.exceptions import InvalidTag
    return InvalidTag
