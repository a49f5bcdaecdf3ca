"""Passwords a teacher can read aloud and a student can type: 12 characters from an
alphabet without look-alikes (no 0/O, 1/l/I), in three groups of four: ~68 bits."""

from __future__ import annotations

import secrets

ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def generate() -> str:
    chars = [secrets.choice(ALPHABET) for _ in range(12)]
    return "-".join("".join(chars[i:i + 4]) for i in (0, 4, 8))
