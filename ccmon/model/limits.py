"""What the dashboard and the report know from Claude Code's status line: plan use (the 5 h
and 7 d windows of a claude.ai subscription) and, per session, the context in use, the
repository and the prompt cache. Immutable, built by ``limits_store.LimitsStore.view``.

Plan use belongs to an account, not to a session: every session of one account reports the
same windows, and the newest reading is the truth. The status-line JSON carries no account,
so a reading gets the ``user.id`` of its session's telemetry when ccmon has it.
"""

from __future__ import annotations

from dataclasses import dataclass

from .statusline import FIVE_HOUR_S, SEVEN_DAY_S, Pace, Window, current, pace

WINDOWS = (("five_hour", "5 h", FIVE_HOUR_S), ("seven_day", "7 d", SEVEN_DAY_S))


@dataclass(frozen=True, slots=True)
class SessionStatus:
    """The newest status line of one session."""

    t_ns: int
    model: str = ""
    cwd: str = ""
    repo: str = ""
    context_pct: float | None = None
    cache_warm: bool | None = None
    cache_expires_at: int | None = None  # Unix s

    def cache_left_s(self, now_s: float) -> float | None:
        """Seconds until the prompt cache goes cold; 0 when cold; None when unknown (2.1.197)."""
        if self.cache_warm is None:
            return None
        if not self.cache_warm or self.cache_expires_at is None:
            return 0.0
        return max(self.cache_expires_at - now_s, 0.0)


@dataclass(frozen=True, slots=True)
class PlanUse:
    """One reading of plan use."""

    t_ns: int
    account: str
    session: str
    five_hour: Window | None = None
    seven_day: Window | None = None

    def window(self, name: str) -> Window | None:
        return self.five_hour if name == "five_hour" else self.seven_day


@dataclass(frozen=True, slots=True)
class LimitsView:
    """For the snapshot: ``received`` status lines so far (0: the status line is not
    installed), the newest plan use per account (newest first) and the sessions' status."""

    received: int = 0
    plans: tuple[PlanUse, ...] = ()
    sessions: tuple[tuple[str, SessionStatus], ...] = ()

    @property
    def plan(self) -> PlanUse | None:
        return self.plans[0] if self.plans else None

    def session(self, key: str) -> SessionStatus | None:
        for k, s in self.sessions:
            if k == key:
                return s
        return None


def window_pace(w: Window | None, length_s: int, now_s: float) -> tuple[Window | None, Pace | None]:
    """The window if it has not reset yet, and its pace."""
    w = current(w, now_s)
    return w, (pace(w, length_s, now_s) if w is not None else None)
