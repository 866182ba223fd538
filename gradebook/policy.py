"""Late policies: what fraction of the earned score a late submission loses.

A submission is late by `s` seconds after its due date (the course's, or the student's
extension). Within `grace_minutes` it is on time. Otherwise it is late by

    d = ceil(s / 86400)            started days (1 minute late and 23 hours late are both day 1)

and the penalty, a fraction p of the earned score, is

    none     p = 0
    zero     p = 1
    linear   p = min(1, percent_per_day * d / 100)
    capped   p = min(cap_percent, percent_per_day * d) / 100       (late work never loses more than the cap)
    step     p = percent / 100 of the first [days, percent] step with d <= days; 1 past the last step

The final score is then `earned * (1 - p)` plus manual adjustments (scores.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

KINDS = ("none", "zero", "linear", "step", "capped")
DAY_S = 86400.0


class PolicyError(ValueError):
    pass


@dataclass(frozen=True)
class LatePolicy:
    kind: str = "none"
    percent_per_day: float = 0.0
    cap_percent: float = 100.0
    steps: tuple[tuple[float, float], ...] = ()
    grace_minutes: float = 0.0

    @classmethod
    def from_table(cls, table: dict, where: str) -> "LatePolicy":
        """Read a `[late]` table; errors name `where` and the key."""
        known = {"policy", "percent_per_day", "cap_percent", "steps", "grace_minutes"}
        unknown = sorted(set(table) - known)
        if unknown:
            raise PolicyError(f"{where}: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})")
        kind = table.get("policy", "none")
        if kind not in KINDS:
            raise PolicyError(f"{where}: policy {kind!r} is not one of {', '.join(KINDS)}")

        def number(key: str, default: float, low: float = 0.0, high: float = math.inf) -> float:
            value = table.get(key, default)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
                raise PolicyError(f"{where}: {key} should be a number from {low:g} to {high:g}, not {value!r}")
            return float(value)

        per_day = number("percent_per_day", 0.0, 0.0, 100.0)
        if kind in ("linear", "capped") and per_day <= 0:
            raise PolicyError(f"{where}: policy {kind!r} needs percent_per_day > 0")
        cap = number("cap_percent", 100.0, 0.0, 100.0)
        if kind == "capped" and "cap_percent" not in table:
            raise PolicyError(f"{where}: policy 'capped' needs cap_percent")
        steps = table.get("steps", [])
        if kind == "step":
            ok = (isinstance(steps, list) and steps
                  and all(isinstance(s, list) and len(s) == 2 and all(isinstance(x, (int, float)) and not isinstance(x, bool)
                                                                       for x in s) for s in steps))
            if not ok:
                raise PolicyError(f"{where}: policy 'step' needs steps = [[days, percent], ...], e.g. [[1, 10], [3, 30]]")
            days = [s[0] for s in steps]
            if days != sorted(days) or len(set(days)) != len(days) or days[0] <= 0:
                raise PolicyError(f"{where}: the steps' days must be positive and increasing")
            if any(not 0 <= s[1] <= 100 for s in steps):
                raise PolicyError(f"{where}: a step's percent must be from 0 to 100")
        return cls(kind=kind, percent_per_day=per_day, cap_percent=cap,
                   steps=tuple((float(a), float(b)) for a, b in steps) if kind == "step" else (),
                   grace_minutes=number("grace_minutes", 0.0))

    def days_late(self, late_seconds: float) -> int:
        """Started days late (0: on time, grace included)."""
        if late_seconds <= self.grace_minutes * 60:
            return 0
        return max(1, math.ceil(late_seconds / DAY_S))

    def penalty(self, late_seconds: float) -> float:
        """The fraction of the earned score lost, in [0, 1]."""
        d = self.days_late(late_seconds)
        if d == 0 or self.kind == "none":
            return 0.0
        if self.kind == "zero":
            return 1.0
        if self.kind == "linear":
            return min(1.0, self.percent_per_day * d / 100)
        if self.kind == "capped":
            return min(self.cap_percent, self.percent_per_day * d) / 100
        for days, percent in self.steps:
            if d <= days:
                return percent / 100
        return 1.0

    def describe(self) -> str:
        grace = f", {self.grace_minutes:g} min grace" if self.grace_minutes else ""
        if self.kind == "none":
            return "no late penalty"
        if self.kind == "zero":
            return f"late work scores zero{grace}"
        if self.kind == "linear":
            return f"-{self.percent_per_day:g}% per started day late{grace}"
        if self.kind == "capped":
            return f"-{self.percent_per_day:g}% per started day late, at most -{self.cap_percent:g}%{grace}"
        steps = ", ".join(f"≤{d:g} d: -{p:g}%" for d, p in self.steps)
        return f"{steps}, later: no credit{grace}"
