"""Budgets: limits a user sets (per day, week, month, session), how much of each is spent, and
the pace ("at this rate $X by the end of the day").

Pure functions of (limits, spend, now): no clock is read here, so tests pin the time. Periods are
calendar periods in local time (a day starts at local midnight, a week on Monday, a month on
the 1st); ``tz`` lets a test pin the zone too.

Levels: below the first threshold a budget is ``ok``; past any threshold but the last it is a
``warning``; at or past the last (100 % by default) it is ``over``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

PERIODS = ("daily", "weekly", "monthly")
KINDS = (*PERIODS, "session")
DEFAULT_THRESHOLDS = (0.5, 0.8, 1.0)
OK, WARNING, OVER = "ok", "warning", "over"
LEVEL_CODE = {OK: 0, WARNING: 1, OVER: 2}  # also `ccmon check`'s exit codes
# Pace needs some history: an hour's average is projected, not the first minute's.
MIN_PACE_ELAPSED_NS = 3_600_000_000_000
LIST_SESSIONS = 20
_PERIOD_WORD = {"daily": "day", "weekly": "week", "monthly": "month"}


@dataclass(frozen=True, slots=True)
class Budgets:
    """Limits in USD (None: no such budget) and the warning thresholds (fractions, ascending)."""

    daily: float | None = None
    weekly: float | None = None
    monthly: float | None = None
    session: float | None = None
    thresholds: tuple[float, ...] = DEFAULT_THRESHOLDS

    def limit(self, kind: str) -> float | None:
        return getattr(self, kind)

    def any(self) -> bool:
        return any(self.limit(k) is not None for k in KINDS)


@dataclass(slots=True)
class Spend:
    """USD spent, as read from the store: totals per period, per user per period, and per
    session (the sessions active in the current day, with their whole cost)."""

    total: dict[str, float] = field(default_factory=dict)  # period -> usd
    by_user: dict[str, dict[str, float]] = field(default_factory=dict)  # user -> period -> usd
    sessions: dict[str, tuple[str, float]] = field(default_factory=dict)  # session -> (user, usd)


@dataclass(frozen=True, slots=True)
class BudgetState:
    kind: str  # daily | weekly | monthly | session
    scope: str  # "all", "user:<id>", "session:<id>"
    limit: float
    spent: float
    fraction: float
    level: str  # ok | warning | over
    threshold: float | None  # the highest threshold reached (None: none yet)
    period_start_ns: int  # 0 for a session budget
    projected: float | None  # spend at the period's end at the current average rate
    over_by: float | None  # projected - limit when positive

    @property
    def pace(self) -> str:
        """One phrase: "on pace", or "at this rate $X by the end of the day, over by $Y"."""
        if self.level == OVER:
            return f"over by ${self.spent - self.limit:,.2f}"
        if self.projected is None:
            return ""
        if self.over_by is None:
            return "on pace"
        word = _PERIOD_WORD[self.kind]
        return f"at this rate ${self.projected:,.2f} by the end of the {word}, over by ${self.over_by:,.2f}"

    def line(self) -> str:
        who = "" if self.scope == "all" else f" ({self.scope})"
        pct = f"{self.fraction * 100:.0f}%"
        text = f"{self.kind}{who}: ${self.spent:,.2f} of ${self.limit:,.2f} ({pct})"
        return f"{text}, {self.pace}" if self.pace else text

    def as_dict(self) -> dict:
        return {
            "kind": self.kind,
            "scope": self.scope,
            "limit_usd": self.limit,
            "spent_usd": round(self.spent, 10),
            "fraction": round(self.fraction, 6),
            "level": self.level,
            "threshold": self.threshold,
            "projected_usd": None if self.projected is None else round(self.projected, 10),
            "over_by_usd": None if self.over_by is None else round(self.over_by, 10),
            "pace": self.pace,
        }


def _local(now_ns: int, tz: dt.tzinfo | None) -> dt.datetime:
    return dt.datetime.fromtimestamp(now_ns / 1e9, tz).astimezone(tz)


def _ns(t: dt.datetime) -> int:
    return int(t.timestamp()) * 1_000_000_000


def period_bounds(period: str, now_ns: int, tz: dt.tzinfo | None = None) -> tuple[int, int]:
    """[start, end) of the calendar period containing ``now_ns``, in local time (``tz``)."""
    now = _local(now_ns, tz)
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "daily":
        start, end = day, day + dt.timedelta(days=1)
    elif period == "weekly":
        start = day - dt.timedelta(days=day.weekday())
        end = start + dt.timedelta(days=7)
    elif period == "monthly":
        start = day.replace(day=1)
        end = (start + dt.timedelta(days=32)).replace(day=1)
    else:
        raise ValueError(f"not a budget period: {period}")
    # Built in wall-clock terms, then re-resolved: a DST change inside the period moves the
    # offset, and the period must still end at local midnight.
    if tz is None:
        start, end = start.replace(tzinfo=None).astimezone(), end.replace(tzinfo=None).astimezone()
    return _ns(start), _ns(end)


def level_of(fraction: float, thresholds: tuple[float, ...]) -> tuple[str, float | None]:
    reached = [t for t in thresholds if fraction >= t]
    if not reached:
        return OK, None
    top = max(reached)
    return (OVER if top >= max(thresholds) else WARNING), top


def projection(spent: float, start_ns: int, end_ns: int, now_ns: int) -> float:
    """The period's spend at its end if the average rate so far goes on."""
    elapsed = max(now_ns - start_ns, MIN_PACE_ELAPSED_NS)
    rest = max(end_ns - now_ns, 0)
    return spent + spent / elapsed * rest


def state(
    kind: str,
    scope: str,
    limit: float,
    spent: float,
    thresholds: tuple[float, ...],
    bounds: tuple[int, int] | None,
    now_ns: int,
) -> BudgetState:
    fraction = spent / limit if limit > 0 else (1.0 if spent > 0 else 0.0)
    level, threshold = level_of(fraction, thresholds)
    projected = over_by = None
    start = 0
    if bounds is not None:
        start, end = bounds
        projected = projection(spent, start, end, now_ns)
        if projected > limit:
            over_by = projected - limit
    return BudgetState(kind, scope, limit, spent, fraction, level, threshold, start, projected, over_by)


def evaluate(budgets: Budgets, spend: Spend, now_ns: int, tz: dt.tzinfo | None = None) -> list[BudgetState]:
    """Every budget for everything, per user (when there is more than one user) and per session.
    Sorted worst first (over, then warning, then by fraction)."""
    out: list[BudgetState] = []
    multi_user = len(spend.by_user) > 1
    for period in PERIODS:
        limit = budgets.limit(period)
        if limit is None:
            continue
        bounds = period_bounds(period, now_ns, tz)
        out.append(state(period, "all", limit, spend.total.get(period, 0.0), budgets.thresholds, bounds, now_ns))
        if multi_user:
            for user, per in sorted(spend.by_user.items()):
                out.append(
                    state(
                        period, f"user:{user or '?'}", limit, per.get(period, 0.0), budgets.thresholds, bounds, now_ns
                    )
                )
    if budgets.session is not None:
        # Many running sessions: only those past the first threshold are listed (each state
        # costs; 10,000 sessions within budget say nothing a count does not).
        floor = min(budgets.thresholds) * budgets.session if len(spend.sessions) > LIST_SESSIONS else -1.0
        for session, (_user, usd) in sorted(spend.sessions.items()):
            if usd >= floor:
                out.append(
                    state("session", f"session:{session}", budgets.session, usd, budgets.thresholds, None, now_ns)
                )
    out.sort(key=lambda s: (-LEVEL_CODE[s.level], -s.fraction, KINDS.index(s.kind), s.scope))
    return out


def worst(states: list[BudgetState]) -> str:
    return max((s.level for s in states), key=LEVEL_CODE.__getitem__, default=OK)
