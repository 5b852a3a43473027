"""Narrow read-only queries for budgets and alerts (``ccmon check``, ``serve``'s watcher).

Budgets read the per-minute rollup (``point_minutes``) of the cost series only, from the start
of the oldest budget period (one primary-key range per cost series); the alert rules read the
points and raw events of the last few minutes through their time indexes. No rebuild of the
aggregates and no join with the wide ``series`` table, so ``ccmon check`` stays well under
100 ms on a large store.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import zlib

from .alerts import COST, MINUTE_NS, TOKENS, AlertEngine
from .budgets import PERIODS, Budgets, Spend, period_bounds

_ALERT_EVENTS = ("api_error", "tool_result", "tool_decision")


class SeriesIndex:
    """The ids of the cost series, and who (user, session) each belongs to.

    ``series`` has no index on the metric, and its rows are wide (the series key as JSON): a
    scan of 100,000 series takes ~300 ms, three times ``ccmon check``'s budget, and so does
    joining it per row. Series rows are only ever inserted, with growing ids, so what was found
    is kept (in memory for ``serve``, in a small cache file for ``ccmon check``) and each
    refresh reads only the rows added since. The newest id's digest is kept too: a database
    rebuilt or migrated under the same path shows as a different digest, and the index starts
    over.
    """

    METRICS = (COST,)
    max_id: int
    digest: str
    ids: dict[str, list[int]]
    owner: dict[int, tuple[str, str]]  # cost series id -> (user, session)

    def __init__(self, cache: str | None = None) -> None:
        self.cache = cache
        self._reset()
        if cache is not None:
            try:
                with open(cache, encoding="utf-8") as f:
                    data = json.load(f)
                users = data["users"]
                self.max_id, self.digest = int(data["max_id"]), str(data["digest"])
                sids = data["sids"]
                self.ids = {COST: sids}
                owners = zip([users[u] for u in data["user"]], data["session"], strict=False)
                self.owner = dict(zip(sids, owners, strict=False))
                if len(self.owner) != len(sids):
                    raise ValueError("cache: columns of different lengths")
            except (OSError, ValueError, KeyError, TypeError, IndexError):
                self._reset()  # no cache yet, or one this version cannot read: start over

    def _reset(self) -> None:
        self.max_id = 0
        self.digest = ""
        self.ids = {m: [] for m in self.METRICS}
        self.owner = {}

    def refresh(self, conn: sqlite3.Connection) -> SeriesIndex:
        if self.max_id:
            row = conn.execute("SELECT hex(digest) FROM series WHERE id = ?", (self.max_id,)).fetchone()
            if row is None or row[0] != self.digest:
                self._reset()  # not the database this index was built from
        found = False
        for sid, metric, digest, user, session in conn.execute(
            "SELECT id, metric, hex(digest), user_id, session FROM series WHERE id > ? ORDER BY id", (self.max_id,)
        ):
            found = True
            if metric in self.ids:
                self.ids[metric].append(sid)
                if metric == COST:
                    self.owner[sid] = (user, session)
            self.max_id, self.digest = sid, digest
        if found and self.cache is not None:
            self._save()
        return self

    def _save(self) -> None:
        if self.cache is None:
            return
        users: dict[str, int] = {}
        sids = self.ids[COST]
        # Parallel flat lists: JSON parses them several times faster than a list of triples.
        cols = {
            "sids": sids,
            "user": [users.setdefault(self.owner[s][0], len(users)) for s in sids],
            "session": [self.owner[s][1] for s in sids],
        }
        try:
            os.makedirs(os.path.dirname(self.cache), exist_ok=True)
            tmp = f"{self.cache}.{os.getpid()}.tmp"
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump(
                    {"max_id": self.max_id, "digest": self.digest, "users": list(users), **cols},
                    f,
                    separators=(",", ":"),
                )
            os.replace(tmp, self.cache)
        except OSError:
            pass  # a cache that cannot be written only costs the next run a scan

    def of(self, metric: str) -> str:
        """The ids as one JSON parameter (``IN (SELECT value FROM json_each(?))``): no limit on
        how many, unlike one ``?`` per id."""
        return json.dumps(self.ids[metric])


def cache_path(db_path: str | os.PathLike[str]) -> str:
    """Per database (its real path), under ``$XDG_CACHE_HOME/ccmon``. (os.path and zlib, not
    pathlib and hashlib: this is on ``ccmon check``'s start-up path, where imports count.)"""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    real = os.path.realpath(os.fspath(db_path))
    return os.path.join(base, "ccmon", f"series-{zlib.crc32(real.encode()):08x}-{len(real)}.json")


_IN = "IN (SELECT value FROM json_each(?))"
# A session budget applies to the sessions that spent in the last hour (the running ones),
# or to the one session a hook names.
ACTIVE_MINUTES = 60


def read_spend(
    conn: sqlite3.Connection,
    budgets: Budgets,
    now_ns: int,
    tz: dt.tzinfo | None = None,
    only_session: str | None = None,
    index: SeriesIndex | None = None,
) -> Spend:
    """What each budget period has spent so far, in total and per user; and per session, the
    whole cost of the sessions that spent in the last hour (or of ``only_session``)."""
    spend = Spend()
    starts = {p: period_bounds(p, now_ns, tz)[0] // MINUTE_NS for p in PERIODS}
    lo = min(starts.values())
    recent = now_ns // MINUTE_NS - ACTIVE_MINUTES
    index = (index or SeriesIndex()).refresh(conn)
    if not index.ids[COST]:
        return spend
    owner = index.owner
    since_lo: dict[str, float] = {}
    active: set[str] = set()
    day, week, month = starts["daily"], starts["weekly"], starts["monthly"]
    # Rows, not SUM(CASE ...) per series: the sums are faster in this loop than in SQL.
    for sid, minute, inc in conn.execute(
        f"SELECT series_id, minute, inc FROM point_minutes WHERE series_id {_IN} AND minute >= ?", (index.of(COST), lo)
    ):
        user, session = owner.get(sid, ("", ""))
        per = spend.by_user.get(user)
        if per is None:
            per = spend.by_user[user] = dict.fromkeys(PERIODS, 0.0)
        if minute >= day:
            per["daily"] += inc
        if minute >= week:
            per["weekly"] += inc
        if minute >= month:
            per["monthly"] += inc
        since_lo[session] = since_lo.get(session, 0.0) + inc
        if minute >= recent:
            active.add(session)
    for p in PERIODS:
        spend.total[p] = sum(per[p] for per in spend.by_user.values())
    if budgets.session is not None:
        wanted = {only_session} if only_session is not None else active
        sids = [sid for sid, (_, session) in owner.items() if session in wanted]
        before: dict[str, float] = {}
        # A session older than the oldest period start: what it spent before that, too.
        for sid, usd in conn.execute(
            f"SELECT series_id, SUM(inc) FROM point_minutes WHERE series_id {_IN} AND minute < ? GROUP BY series_id",
            (json.dumps(sids), lo),
        ):
            session = owner[sid][1]
            before[session] = before.get(session, 0.0) + usd
        users = {session: user for user, session in (owner[sid] for sid in sids)}
        for session in wanted:
            spend.sessions[session] = (users.get(session, ""), since_lo.get(session, 0.0) + before.get(session, 0.0))
    return spend


def feed_recent(conn: sqlite3.Connection, engine: AlertEngine, now_ns: int, index: SeriesIndex | None = None) -> None:
    """The last minutes of cost, tokens and alert-worthy events into ``engine`` (``ccmon check``,
    and ``serve`` at start): the points through their end-time index (a series row is read
    only for the few recent points), not per series."""
    r = engine.rules
    minutes = max(r.surge_window_minutes, r.sustained_minutes, r.window_minutes) + 1
    since_ns = (now_ns // MINUTE_NS - minutes) * MINUTE_NS
    for metric, end, inc in conn.execute(
        "SELECT s.metric, p.end_ns, p.inc FROM points p JOIN series s ON s.id = p.series_id "
        "WHERE p.end_ns >= ? AND s.metric IN (?, ?)",
        (since_ns, COST, TOKENS),
    ):
        engine.add_point(metric, end, inc)
    for t, name, attrs in conn.execute(
        "SELECT t_ns, name, attrs FROM events WHERE t_ns >= ? AND name IN (?, ?, ?)", (since_ns, *_ALERT_EVENTS)
    ):
        try:
            engine.add_event(t, name, json.loads(attrs))
        except ValueError:
            continue
