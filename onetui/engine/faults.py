"""Named fault points for the crash tests: ONETUI_FAULT=<point>[:<n>] kills this process
with SIGKILL the n-th time (default: first) it passes `point`, so a test can prove that a
crash exactly there loses and duplicates nothing. Unset, a point costs one lookup."""

from __future__ import annotations

import os
import signal

_hits: dict[str, int] = {}


def fault(point: str) -> None:
    wanted = os.environ.get("ONETUI_FAULT")
    if not wanted:
        return
    name, _, nth = wanted.partition(":")
    if name == point:
        _hits[point] = _hits.get(point, 0) + 1
        if _hits[point] == int(nth or 1):
            os.kill(os.getpid(), signal.SIGKILL)
