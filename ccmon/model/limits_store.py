"""Status lines in SQLite: the newest JSON per session and plan use per account.

``record`` runs on the group committer's thread (the only one that writes) and commits;
``apply`` then updates the in-memory state on the event loop's thread, which ``view`` reads.
A plan-use row is added only when the figures change (an unchanged reading moves the row's
``last_ns``), so a ``refreshInterval`` of one second does not add a row a second.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from os import PathLike
from typing import TYPE_CHECKING

from . import db
from .limits import LimitsView, PlanUse, SessionStatus
from .statusline import StatusLine, Window, parse

if TYPE_CHECKING:
    from .snapshot import SessionRow

LOAD_DAYS = 7  # sessions whose status line is older are not loaded at start (plan use is)
KEEP_SESSIONS = 500  # in memory: the most recent; older ones are on disk


def session_status(sl: StatusLine, t_ns: int) -> SessionStatus:
    return SessionStatus(
        t_ns=t_ns,
        model=sl.model,
        cwd=sl.cwd,
        repo=sl.repo,
        context_pct=sl.context_pct,
        cache_warm=sl.cache_warm,
        cache_expires_at=sl.cache_expires_at,
    )


def _plans(conn: sqlite3.Connection) -> list[tuple[PlanUse, int]]:
    """The newest reading per account, newest first, with the time its row was first written."""
    rows = conn.execute(
        "SELECT MAX(last_ns), t_ns, account, session, five_hour_pct, five_hour_resets_at, seven_day_pct, "
        "seven_day_resets_at FROM plan_use GROUP BY account"
    )
    plans = [(PlanUse(last, a, s, *_windows(w)), first) for last, first, a, s, *w in rows]
    plans.sort(key=lambda p: -p[0].t_ns)
    return plans


def load_view(conn: sqlite3.Connection, since_ns: int = 0) -> LimitsView:
    """The view straight from a database (``ccmon report``); empty for a database that
    predates these tables."""
    try:
        plans = [p for p, _ in _plans(conn)]
        sessions = []
        for key, t, raw in conn.execute(
            "SELECT session, t_ns, json FROM statusline_sessions WHERE t_ns >= ?", (since_ns,)
        ):
            sl = parse(raw)
            if sl is not None:
                sessions.append((key, session_status(sl, t)))
    except sqlite3.OperationalError:  # no such table: an older database
        return LimitsView()
    return LimitsView(received=len(sessions), plans=tuple(plans), sessions=tuple(sorted(sessions)))


def _windows(row: list[float | None]) -> tuple[Window | None, Window | None]:
    f, fr, s, sr = row
    return (
        Window(f, fr) if f is not None and fr is not None else None,
        Window(s, sr) if s is not None and sr is not None else None,
    )


class LimitsStore:
    def __init__(self, path: str | PathLike[str]) -> None:
        self._conn = db.connect(path)
        self.version = 0
        self.received = 0  # status lines received this run, plus the sessions on disk
        self.sessions: dict[str, SessionStatus] = {}
        self.plans: dict[str, PlanUse] = {}  # newest per account; t_ns = last seen
        self._row_ns: dict[str, int] = {}  # per account, t_ns of its newest plan_use row
        self._view: LimitsView | None = None

    def load(self, now_ns: int) -> None:
        view = load_view(self._conn, now_ns - LOAD_DAYS * db.DAY_NS)
        self.sessions = dict(view.sessions)
        self.plans = {p.account: p for p in view.plans}
        self._row_ns = {p.account: first for p, first in _plans(self._conn)}
        self.received = len(self.sessions)
        self._changed()

    def record(self, sl: StatusLine, raw: bytes, account: str, t_ns: int) -> None:
        """Persist one status line (writer thread): the session's newest JSON, and plan use:
        a new row when the account's figures changed, else the last row's ``last_ns``."""
        has_plan = sl.five_hour is not None or sl.seven_day is not None
        last = self.plans.get(account) if has_plan else None
        changed = has_plan and (last is None or (last.five_hour, last.seven_day) != (sl.five_hour, sl.seven_day))
        conn = self._conn
        conn.execute("BEGIN")
        try:
            conn.execute(
                "INSERT INTO statusline_sessions VALUES (?, ?, ?, ?) ON CONFLICT (session) DO UPDATE SET "
                "t_ns = excluded.t_ns, account = excluded.account, json = excluded.json",
                (sl.session, t_ns, account, raw.decode("utf-8", "replace")),
            )
            if changed:
                f, s = sl.five_hour, sl.seven_day
                conn.execute(
                    "INSERT INTO plan_use VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        t_ns,
                        t_ns,
                        account,
                        sl.session,
                        f and f.used_pct,
                        f and f.resets_at,
                        s and s.used_pct,
                        s and s.resets_at,
                    ),
                )
                self._row_ns[account] = t_ns
            elif has_plan:
                conn.execute(
                    "UPDATE plan_use SET last_ns = ? WHERE account = ? AND t_ns = ?",
                    (t_ns, account, self._row_ns.get(account, 0)),
                )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def apply(self, sl: StatusLine, account: str, t_ns: int) -> None:
        """Update the in-memory state (event loop's thread), after ``record`` committed."""
        self.received += 1
        self.sessions.pop(sl.session, None)
        self.sessions[sl.session] = session_status(sl, t_ns)
        if len(self.sessions) > KEEP_SESSIONS:
            del self.sessions[next(iter(self.sessions))]
        if sl.five_hour is not None or sl.seven_day is not None:
            self.plans[account] = PlanUse(t_ns, account, sl.session, sl.five_hour, sl.seven_day)
        self._changed()

    def _changed(self) -> None:
        self.version += 1
        self._view = None

    def view(self, session_rows: Iterable[SessionRow] = ()) -> LimitsView:
        """The newest plan use per account and the sessions' status. A reading taken before
        its session's telemetry arrived has no account yet; it takes the ``user`` its session
        has by now in ``session_rows`` (the snapshot's ``SessionRow``s)."""
        if self._view is not None:
            return self._view
        unknown = {p.session for p in self.plans.values() if not p.account}
        users = {r.key: r.user for r in session_rows if r.key in unknown and r.user} if unknown else {}
        plans: dict[str, PlanUse] = {}
        for p in self.plans.values():
            if not p.account and users.get(p.session):
                p = PlanUse(p.t_ns, users[p.session], p.session, p.five_hour, p.seven_day)
            if p.account not in plans or plans[p.account].t_ns < p.t_ns:
                plans[p.account] = p
        view = LimitsView(
            received=self.received,
            plans=tuple(sorted(plans.values(), key=lambda p: -p.t_ns)),
            sessions=tuple(self.sessions.items()),
        )
        if not unknown or users.keys() >= unknown:
            self._view = view  # final until the next status line
        return view

    def close(self) -> None:
        try:
            self._conn.close()
        except sqlite3.Error:
            pass
