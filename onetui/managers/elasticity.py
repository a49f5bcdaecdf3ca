"""Elasticity rules (OneFlow-style): `REQUESTS_PER_S > 200 for 60 s → +2, cooldown 300 s`.

Conditions are written in the template expression language (REQUIREMENTS), evaluated
against a service's metrics: from nginx's stub_status for a web tier (ACTIVE connections,
REQUESTS_PER_S derived between two looks) and from SGE for a grid tier (PENDING_JOBS,
OLDEST_PENDING_S). Every decision is an event with the numbers that made it.
"""

from __future__ import annotations

import re
import time
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from onetui.errors import UserError
from onetui.template import TemplateError, parse_requirements

_STUB = re.compile(r"Active connections:\s*(\d+).*?\n\s*(\d+)\s+(\d+)\s+(\d+)", re.S)


@dataclass(frozen=True)
class Rule:
    when: str
    hold: float  # seconds the condition must hold
    change: int
    cooldown: float

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Rule:
        return cls(str(data["when"]), float(data.get("for", 0)), int(data["change"]),
                   float(data.get("cooldown", 300)))

    def to_dict(self) -> dict[str, Any]:
        return {"when": self.when, "for": self.hold, "change": self.change,
                "cooldown": self.cooldown}


def check_rule(when: str, hold: float, change: int, cooldown: float) -> Rule:
    try:
        parse_requirements(when, "--when")
    except TemplateError as exc:
        raise UserError(f"--when {when!r}: column {exc.col}: {exc.message}") from None
    if change == 0:
        raise UserError("--change: expected a non-zero step such as +2 or -1")
    if hold < 0 or cooldown < 0:
        raise UserError("--for and --cooldown: expected seconds, not negative")
    return Rule(when, hold, change, cooldown)


def parse_stub_status(text: str) -> tuple[int, int]:
    """(active connections, requests served so far) from nginx's stub_status page."""
    match = _STUB.search(text)
    if not match:
        raise UserError("stub_status: not nginx's status page")
    return int(match.group(1)), int(match.group(4))


class WebMetrics:
    """ACTIVE and REQUESTS_PER_S of one nginx, from two looks at its stub_status."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._last: tuple[float, int] | None = None

    def read(self) -> dict[str, float]:
        with urllib.request.urlopen(self.url, timeout=3) as resp:
            active, requests = parse_stub_status(resp.read().decode(errors="replace"))
        now = time.monotonic()
        rate = 0.0
        if self._last and now > self._last[0]:
            # the status request itself counts as one: leave it out
            rate = max(0, requests - self._last[1] - 1) / (now - self._last[0])
        self._last = (now, requests)
        return {"ACTIVE": float(max(0, active - 1)), "REQUESTS_PER_S": round(rate, 1)}


def grid_metrics(grid: Any, now: float | None = None) -> dict[str, float]:
    """PENDING_JOBS and OLDEST_PENDING_S from a parsed `qstat -f` grid."""
    now = now or time.time()
    ages = []
    for job in grid.pending:
        try:
            ages.append(now - datetime.fromisoformat(job.time).timestamp())
        except ValueError:
            continue
    idle = sum(1 for q in grid.queues if q.used == 0 and "u" not in q.states)
    return {"PENDING_JOBS": float(len(grid.pending)),
            "OLDEST_PENDING_S": round(max(ages), 1) if ages else 0.0,
            "IDLE_HOSTS": float(idle)}


@dataclass
class RuleState:
    since: float | None = None  # when the condition started holding

    def describe(self, rule: Rule, metrics: dict[str, float], now: float) -> str:
        values = ", ".join(f"{k} = {metrics[k]:g}" for k in sorted(metrics)
                           if re.search(rf"\b{k}\b", rule.when, re.I))
        held = 0.0 if self.since is None else now - self.since
        verdict = "holds" if self.since is not None else "does not hold"
        return (f"{rule.when} {verdict} ({values or 'no metrics'}) for {held:.0f} of "
                f"{rule.hold:g} s → {rule.change:+d}")


def evaluate(rule: Rule, state: RuleState, metrics: dict[str, float], now: float) -> bool:
    """Whether the rule's condition has held long enough (the caller checks cooldown)."""
    holds = parse_requirements(rule.when).evaluate(metrics)
    if not holds:
        state.since = None
        return False
    if state.since is None:
        state.since = now
    return now - state.since >= rule.hold
