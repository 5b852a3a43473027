"""The dashboard's time range (keys t / T) and the per-day table's window (key d).

Every pane that counts follows the range: the headline's total, cost and tokens, models,
productivity, API health, edit decisions, events, group-by and the sessions table (the sessions
active in the range, with their figures in it). The app asks the source for the range's totals
(``model.ranged``: from the database's rollups, or one Prometheus fetch over the window) off
the event loop, and shows them joined with the live figures that keep their own windows
(today, the 5 min / 1 h burn, the per-minute sparklines, plan limits, the status bar). Every
title names the range; "all" is the live snapshot as it always was.
"""

from __future__ import annotations

import time

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


def next_range(name: str, step: int = 1) -> str:
    names = [n for n, _ in RANGES]
    return names[(names.index(name) + step) % len(names)] if name in names else names[0]


DAY_S = 86_400


def days_window(name: str, now_ns: int) -> tuple[int, str]:
    """The start of the per-day table's window for range ``name`` and what its title says:
    7 d and 30 d show themselves, the shorter ranges a week (a day or less is one row), "all"
    every day the database has (0)."""
    if name == "all":
        return 0, "all days"
    if name == "30 d":
        return now_ns - 30 * DAY_S * 1_000_000_000, "last 30 d"
    return now_ns - 7 * DAY_S * 1_000_000_000, "last 7 d"
