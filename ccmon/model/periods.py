"""Time windows and group keys for reports over time (``ccmon report --by ...``).

``--since`` / ``--until`` take a duration back from now (``30m``, ``24h``, ``7d``, ``2w``) or a
local date or time (``2026-11-01``, ``2026-11-01T09:00``). Days and weeks (starting Monday) are
local calendar periods, like the budgets'.
"""

from __future__ import annotations

import datetime as dt
import re

BY = ("day", "week", "session", "model", "user", "terminal", "repo")
SLOT_NS = 15 * 60_000_000_000  # every UTC offset in use is a multiple of 15 minutes
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
# Where the repository is, when Claude Code's resource attributes carry it (OTEL_RESOURCE_ATTRIBUTES).
REPO_KEYS = ("vcs.repository.name", "vcs.repository.url.full", "vcs.repository.url", "repo", "repository")


def parse_when(text: str, now_ns: int) -> int:
    """A ``--since``/``--until`` value as nanoseconds; ValueError with a one-line reason."""
    m = _DURATION.match(text)
    if m:
        return now_ns - int(float(m.group(1)) * _UNIT_S[m.group(2)] * 1e9)
    try:
        t = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"not a duration (30m, 24h, 7d, 2w) or a date (2026-11-01): {text!r}") from None
    if t.tzinfo is None:
        t = t.astimezone()  # a local date or time
    return int(t.timestamp() * 1e9)


def day_key(t_ns: int) -> str:
    return dt.datetime.fromtimestamp(t_ns / 1e9).strftime("%Y-%m-%d")


def week_key(t_ns: int) -> str:
    """The Monday the (local) week starts on."""
    d = dt.datetime.fromtimestamp(t_ns / 1e9).date()
    return (d - dt.timedelta(days=d.weekday())).isoformat()


def time_key(by: str, t_ns: int) -> str:
    return day_key(t_ns) if by == "day" else week_key(t_ns)


def label_key(by: str, labels: dict[str, str]) -> str:
    if by == "terminal":
        return labels.get("terminal.type") or "(unknown)"
    if by == "repo":
        for k in REPO_KEYS:
            if labels.get(k):
                return labels[k]
        return "(unknown)"
    raise ValueError(by)


def length_bucket(seconds: float) -> str:
    """The ROI guide's session lengths."""
    if seconds < 5 * 60:
        return "< 5 min"
    if seconds <= 30 * 60:
        return "5-30 min"
    return "> 30 min"


LENGTH_BUCKETS = ("< 5 min", "5-30 min", "> 30 min")
