"""The sessions table's time range (key t) and the per-day table (key d), from the snapshot.

Only the sessions table and the per-day table follow the range: the summary panes keep their
own windows (all-time total, today, 5 min / 1 h burn), which their labels say. A session is in
a range when it was active in it (its last export is inside); the per-day table puts a whole
session on the day it started (a session across midnight counts on its first day).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from ..model.snapshot import SessionRow

RANGES: tuple[tuple[str, int | None], ...] = (
    ("all", None),
    ("today", 0),
    ("1 h", 3600),
    ("24 h", 86_400),
    ("7 d", 7 * 86_400),
    ("30 d", 30 * 86_400),
)


def since_ns(name: str, now_ns: int) -> int | None:
    """The start of range ``name`` at ``now_ns`` (local midnight for today); None for all."""
    seconds = dict(RANGES)[name]
    if seconds is None:
        return None
    if seconds == 0:
        t = time.localtime(now_ns / 1e9)
        return int(time.mktime((t.tm_year, t.tm_mon, t.tm_mday, 0, 0, 0, 0, 0, -1)) * 1e9)
    return now_ns - seconds * 1_000_000_000


def in_range(sessions, name: str, now_ns: int) -> list[SessionRow]:
    start = since_ns(name, now_ns)
    return list(sessions) if start is None else [s for s in sessions if s.last_ns >= start]


def next_range(name: str, step: int = 1) -> str:
    names = [n for n, _ in RANGES]
    return names[(names.index(name) + step) % len(names)] if name in names else names[0]


@dataclass(frozen=True, slots=True)
class Day:
    day: str  # YYYY-MM-DD, local
    sessions: int
    cost: float
    tokens: float
    commits: float
    pull_requests: float


def per_day(sessions) -> list[Day]:
    """Sessions grouped by the local day they started, newest day first."""
    days: dict[str, list[float]] = {}
    for s in sessions:
        key = time.strftime("%Y-%m-%d", time.localtime(s.first_ns / 1e9))
        d = days.setdefault(key, [0, 0.0, 0.0, 0.0, 0.0])
        d[0] += 1
        d[1] += s.cost
        d[2] += s.tokens.total
        d[3] += s.commits
        d[4] += s.pull_requests
    return [Day(k, int(v[0]), v[1], v[2], v[3], v[4]) for k, v in sorted(days.items(), reverse=True)]
