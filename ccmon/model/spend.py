"""Narrow read-only queries for budgets and alerts (``ccmon check``, ``serve``'s watcher).

They read the per-minute rollup (``point_minutes``) of the cost and token series only, from
the start of the oldest budget period, and the raw events of the last few minutes: a handful
of index range scans, not a rebuild of every aggregate, so ``ccmon check`` stays well under
100 ms on a large store.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3

from . import names
from .alerts import MINUTE_NS, AlertEngine
from .budgets import PERIODS, Budgets, Spend, period_bounds

_ALERT_EVENTS = ("api_error", "tool_result", "tool_decision")


def cost_series(conn: sqlite3.Connection, metric: str = names.COST) -> list[int]:
    return [sid for (sid,) in conn.execute("SELECT id FROM series WHERE metric = ?", (metric,))]


def read_spend(conn: sqlite3.Connection, budgets: Budgets, now_ns: int, tz: dt.tzinfo | None = None,
               only_session: str | None = None) -> Spend:
    """What each budget period has spent so far, in total, per user and per session.

    Sessions: those with cost in the current day (their whole cost counts), or just
    ``only_session`` when given (the hook knows which session asks)."""
    spend = Spend()
    starts = {p: period_bounds(p, now_ns, tz)[0] // MINUTE_NS for p in PERIODS}
    lo = min(starts.values())
    sids = cost_series(conn)
    if not sids:
        return spend
    marks = ",".join("?" * len(sids))
    rows = conn.execute(
        f"SELECT s.user_id, s.session, "
        f"SUM(CASE WHEN pm.minute >= ? THEN pm.inc ELSE 0 END), "
        f"SUM(CASE WHEN pm.minute >= ? THEN pm.inc ELSE 0 END), "
        f"SUM(pm.inc) FROM point_minutes pm JOIN series s ON s.id = pm.series_id "
        f"WHERE pm.series_id IN ({marks}) AND pm.minute >= ? GROUP BY s.user_id, s.session",
        (starts["daily"], starts["weekly"], *sids, lo)).fetchall()
    month_start = starts["monthly"]
    today_sessions = []
    for user, session, day, week, _ in rows:
        per = spend.by_user.setdefault(user, dict.fromkeys(PERIODS, 0.0))
        per["daily"] += day
        per["weekly"] += week
        if day > 0:
            today_sessions.append(session)
    # The month sum needs its own bound when the week started in the previous month.
    for user, month in conn.execute(
            f"SELECT s.user_id, SUM(pm.inc) FROM point_minutes pm JOIN series s ON s.id = pm.series_id "
            f"WHERE pm.series_id IN ({marks}) AND pm.minute >= ? GROUP BY s.user_id", (*sids, month_start)):
        spend.by_user.setdefault(user, dict.fromkeys(PERIODS, 0.0))["monthly"] += month
    for p in PERIODS:
        spend.total[p] = sum(per[p] for per in spend.by_user.values())
    if budgets.session is not None:
        wanted = [only_session] if only_session is not None else today_sessions
        for i in range(0, len(wanted), 500):
            chunk = wanted[i:i + 500]
            for session, user, usd in conn.execute(
                    f"SELECT s.session, MAX(s.user_id), SUM(pm.inc) FROM series s JOIN point_minutes pm "
                    f"ON pm.series_id = s.id WHERE s.session IN ({','.join('?' * len(chunk))}) AND s.metric = ? "
                    f"GROUP BY s.session", (*chunk, names.COST)):
                spend.sessions[session] = (user, usd)
        if only_session is not None and only_session not in spend.sessions:
            spend.sessions[only_session] = ("", 0.0)
    return spend


def feed_recent(conn: sqlite3.Connection, engine: AlertEngine, now_ns: int) -> None:
    """The last minutes of cost, tokens and alert-worthy events into ``engine`` (``ccmon check``)."""
    r = engine.rules
    minutes = max(r.surge_window_minutes, r.sustained_minutes, r.window_minutes) + 1
    since_min = now_ns // MINUTE_NS - minutes
    for metric, slot in ((names.COST, 0), (names.TOKENS, 1)):
        sids = cost_series(conn, metric)
        if not sids:
            continue
        for minute, inc in conn.execute(
                f"SELECT minute, SUM(inc) FROM point_minutes WHERE series_id IN ({','.join('?' * len(sids))}) "
                f"AND minute >= ? GROUP BY minute", (*sids, since_min)):
            engine.add_minute(minute, inc if slot == 0 else 0.0, inc if slot == 1 else 0.0)
    for t, name, attrs in conn.execute(
            "SELECT t_ns, name, attrs FROM events WHERE t_ns >= ? AND name IN (?, ?, ?)",
            (since_min * MINUTE_NS, *_ALERT_EVENTS)):
        try:
            engine.add_event(t, name, json.loads(attrs))
        except ValueError:
            continue
