"""Narrow read-only queries for budgets and alerts (``ccmon check``, ``serve``'s watcher).

They read the per-minute rollup (``point_minutes``) of the cost and token series only, from
the start of the oldest budget period, and the raw events of the last few minutes: a handful
of index range scans, not a rebuild of every aggregate, so ``ccmon check`` stays well under
100 ms on a large store.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import sqlite3
from pathlib import Path

from . import names
from .alerts import MINUTE_NS, AlertEngine
from .budgets import PERIODS, Budgets, Spend, period_bounds

_ALERT_EVENTS = ("api_error", "tool_result", "tool_decision")


class SeriesIndex:
    """The ids of the cost and token series.

    ``series`` has no index on the metric, and its rows are wide (the series key as JSON): a
    scan of 100,000 series takes ~300 ms, three times ``ccmon check``'s budget. Series rows are
    only ever inserted, with growing ids, so the ids found are kept (in memory for ``serve``, in
    a small cache file for ``ccmon check``) and each refresh reads only the rows added since.
    The newest id's digest is kept too: a database rebuilt or migrated under the same path
    shows as a different digest, and the index starts over.
    """

    METRICS = (names.COST, names.TOKENS)

    def __init__(self, cache: Path | None = None) -> None:
        self.cache = cache
        self.max_id = 0
        self.digest = ""
        self.ids: dict[str, list[int]] = {m: [] for m in self.METRICS}
        if cache is not None:
            try:
                data = json.loads(cache.read_text())
                self.max_id, self.digest = int(data["max_id"]), str(data["digest"])
                self.ids = {m: [int(i) for i in data["ids"][m]] for m in self.METRICS}
            except (OSError, ValueError, KeyError, TypeError):
                pass

    def refresh(self, conn: sqlite3.Connection) -> "SeriesIndex":
        if self.max_id:
            row = conn.execute("SELECT hex(digest) FROM series WHERE id = ?", (self.max_id,)).fetchone()
            if row is None or row[0] != self.digest:
                self.__init__()  # not the database this index was built from
        found = False
        for sid, metric, digest in conn.execute(
                "SELECT id, metric, hex(digest) FROM series WHERE id > ? ORDER BY id", (self.max_id,)):
            found = True
            if metric in self.ids:
                self.ids[metric].append(sid)
            self.max_id, self.digest = sid, digest
        if found and self.cache is not None:
            self._save()
        return self

    def _save(self) -> None:
        try:
            self.cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.cache.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps({"max_id": self.max_id, "digest": self.digest, "ids": self.ids}))
            os.replace(tmp, self.cache)
        except OSError:
            pass  # a cache that cannot be written only costs the next run a scan

    def of(self, metric: str) -> str:
        """The ids as one JSON parameter (``IN (SELECT value FROM json_each(?))``): no limit on
        how many, unlike one ``?`` per id."""
        return json.dumps(self.ids[metric])


def cache_path(db_path) -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    key = hashlib.blake2b(str(Path(db_path).resolve()).encode(), digest_size=8).hexdigest()
    return Path(base) / "ccmon" / f"series-{key}.json"


_IN = "IN (SELECT value FROM json_each(?))"


def read_spend(conn: sqlite3.Connection, budgets: Budgets, now_ns: int, tz: dt.tzinfo | None = None,
               only_session: str | None = None, index: SeriesIndex | None = None) -> Spend:
    """What each budget period has spent so far, in total, per user and per session.

    Sessions: those with cost in the current day (their whole cost counts), or just
    ``only_session`` when given (the hook knows which session asks)."""
    spend = Spend()
    starts = {p: period_bounds(p, now_ns, tz)[0] // MINUTE_NS for p in PERIODS}
    lo = min(starts.values())
    index = (index or SeriesIndex()).refresh(conn)
    if not index.ids[names.COST]:
        return spend
    sids = index.of(names.COST)
    rows = conn.execute(
        f"SELECT s.user_id, s.session, "
        f"SUM(CASE WHEN pm.minute >= ? THEN pm.inc ELSE 0 END), "
        f"SUM(CASE WHEN pm.minute >= ? THEN pm.inc ELSE 0 END), "
        f"SUM(pm.inc) FROM point_minutes pm JOIN series s ON s.id = pm.series_id "
        f"WHERE pm.series_id {_IN} AND pm.minute >= ? GROUP BY s.user_id, s.session",
        (starts["daily"], starts["weekly"], sids, lo)).fetchall()
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
            f"WHERE pm.series_id {_IN} AND pm.minute >= ? GROUP BY s.user_id", (sids, month_start)):
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


def feed_recent(conn: sqlite3.Connection, engine: AlertEngine, now_ns: int, index: SeriesIndex | None = None) -> None:
    """The last minutes of cost, tokens and alert-worthy events into ``engine`` (``ccmon check``)."""
    index = (index or SeriesIndex()).refresh(conn)
    r = engine.rules
    minutes = max(r.surge_window_minutes, r.sustained_minutes, r.window_minutes) + 1
    since_min = now_ns // MINUTE_NS - minutes
    for metric, slot in ((names.COST, 0), (names.TOKENS, 1)):
        if not index.ids[metric]:
            continue
        for minute, inc in conn.execute(
                f"SELECT minute, SUM(inc) FROM point_minutes WHERE series_id {_IN} "
                f"AND minute >= ? GROUP BY minute", (index.of(metric), since_min)):
            engine.add_minute(minute, inc if slot == 0 else 0.0, inc if slot == 1 else 0.0)
    for t, name, attrs in conn.execute(
            "SELECT t_ns, name, attrs FROM events WHERE t_ns >= ? AND name IN (?, ?, ?)",
            (since_min * MINUTE_NS, *_ALERT_EVENTS)):
        try:
            engine.add_event(t, name, json.loads(attrs))
        except ValueError:
            continue
