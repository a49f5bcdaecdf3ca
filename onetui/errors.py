"""Errors that reach the user as a one-line message (exit code 2), never as a traceback."""

from __future__ import annotations


class UserError(Exception):
    """Bad input or an impossible request: the message says what and where."""


class NotFound(UserError):
    """An object named by the user does not exist."""


class Conflict(UserError):
    """The request clashes with what is stored (a duplicate name, a VM in the wrong state)."""
