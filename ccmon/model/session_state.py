"""A session's state from when it last exported: active, idle or ended.

Claude Code exports metrics every ``OTEL_METRIC_EXPORT_INTERVAL`` (60 s by default) and events
about every 5 s, but with delta temporality (its default) an interval in which nothing happened
sends nothing. So "ended" cannot be told apart from a long pause; it means "nothing for long
enough that the process has most likely gone". A session is

- ``active`` when it exported within one default metric interval plus a minute of margin,
- ``idle`` when its last export is older than that but within ``ENDED_AFTER_NS``,
- ``ended`` after that.
"""

from __future__ import annotations

from .snapshot import SessionRow

ACTIVE_WITHIN_NS = 120 * 1_000_000_000  # 60 s default metric interval + 60 s margin
ENDED_AFTER_NS = 30 * 60 * 1_000_000_000
MIN_RATE_SPAN_S = 5 * 60  # a spend rate over less than this extrapolates a moment to an hour

STATES = ("active", "idle", "ended")


def state(row: SessionRow, now_ns: int) -> str:
    age = now_ns - row.last_ns
    if age <= ACTIVE_WITHIN_NS:
        return "active"
    return "idle" if age <= ENDED_AFTER_NS else "ended"


def duration_s(row: SessionRow) -> float:
    """From the first to the last export seen for the session."""
    return max(row.last_ns - row.first_ns, 0) / 1e9


def rate_per_hour(row: SessionRow) -> float | None:
    """Spend per hour over the session's span; None while the span is under 5 minutes."""
    span = duration_s(row)
    return row.cost / span * 3600 if span >= MIN_RATE_SPAN_S else None
