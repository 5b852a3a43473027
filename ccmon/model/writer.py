"""Persisting exports: one transaction per group of exports, resolving temporality and dedupe
by the rules of ``counting``, writing raw rows and their rollups together.

* a **delta** point is added as it is; the same (series, start, end) seen again is an exporter
  retry and is ignored (the points table's primary key decides, so it holds across restarts);
* a **cumulative** point is compared with the newest value of its (series, start) epoch and
  only the growth is added (``counting.cumulative_increment``: lower means a reset); a new
  start time is a new epoch added on top; an older or equal end time is stale and ignored;
* where an increment goes in time (the per-minute rollup) is ``counting.placement``;
* a log record is new when its ``counting.event_key`` is (keys are kept for good).

The in-memory indexes (series, epochs, resources) learn about a transaction only once it has
committed, so a failed write leaves them as the database is.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from . import counting, db
from .aggregate import MINUTE_NS
from .events import detail as event_detail
from .names import canonical, series_digest, session_key
from .series import SeriesInfo, describe, to_row
from .types import Batch, Point

_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str)  # built once: hot path


@dataclass(slots=True)
class Accepted:
    """What one commit added: increments and events that passed dedupe."""

    points: list[tuple[SeriesInfo, int, float, int]] = field(default_factory=list)  # info, t, inc, first
    events: list[tuple[str, str, str, str, int, dict[str, Any]]] = field(default_factory=list)
    spans: int = 0
    other: int = 0  # data from senders that are not Claude Code


@dataclass(slots=True)
class _Pending:
    """What a transaction adds to the in-memory indexes; applied only once it commits."""

    next_series_id: int
    series: dict[bytes, tuple[int, SeriesInfo]] = field(default_factory=dict)
    epochs: dict[tuple[int, int], tuple[int, float]] = field(default_factory=dict)
    resources: dict[str, int] = field(default_factory=dict)


def _fold(groups: dict[Any, list], key: Any, amount: float, first: int, last: int) -> None:
    """Sum ``amount`` into ``groups[key]`` = [total, first, last] (a rollup row in the making)."""
    g = groups.get(key)
    if g is None:
        groups[key] = [amount, first, last]
    else:
        g[0] += amount
        if first < g[1]:
            g[1] = first
        if last > g[2]:
            g[2] = last


def _insert_new(conn: sqlite3.Connection, sql: str, rows: list[tuple]) -> Iterable[int]:
    """INSERT OR IGNORE ``rows``; return the indexes of the rows that were new.

    One executemany is the fast path. Only when SQLite inserted fewer rows than given (a
    duplicate: an exporter retry) is it redone row by row inside a savepoint, to learn which.
    """
    if not rows:
        return ()
    conn.execute("SAVEPOINT ins")
    before = conn.total_changes
    conn.executemany(sql, rows)
    if conn.total_changes - before == len(rows):
        conn.execute("RELEASE ins")
        return range(len(rows))
    conn.execute("ROLLBACK TO ins")
    new = [i for i, row in enumerate(rows) if conn.execute(sql, row).rowcount == 1]
    conn.execute("RELEASE ins")
    return new


class Writer:
    """Writes on one connection, from one thread at a time (the group committer's)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self.series: dict[bytes, tuple[int, SeriesInfo]] = {}  # by names.series_digest
        self.epochs: dict[tuple[int, int], tuple[int, float]] = {}  # (series, start) -> (end, value)
        self.resources: dict[str, int] = {}
        self.next_series_id = 1

    def load(
        self, series: dict[bytes, tuple[int, SeriesInfo]], epochs: dict[tuple[int, int], tuple[int, float]]
    ) -> None:
        """The indexes as the database has them (at start-up, from ``store.rebuild``)."""
        self.series = series
        self.epochs = epochs
        self.resources = {attrs: rid for rid, attrs in self._conn.execute("SELECT id, attrs FROM resources")}
        self.next_series_id = 1 + (self._conn.execute("SELECT MAX(id) FROM series").fetchone()[0] or 0)

    def write(self, batches: list[Batch], arrival: int, horizon_ns: int) -> Accepted:
        """Persist ``batches`` in one transaction and return what they add. ``arrival`` is now
        and ``horizon_ns`` the retention window (for ``counting.placement``). Raises on failure,
        having rolled back: then nothing was counted and nothing may be acknowledged."""
        conn = self._conn
        acc = Accepted()
        pending = _Pending(next_series_id=self.next_series_id)
        conn.execute("BEGIN")
        try:
            for batch in batches:
                if batch.other:
                    acc.other += batch.other
                    conn.execute(
                        "INSERT INTO counters VALUES ('other', ?) ON CONFLICT (key) DO UPDATE SET n = n + excluded.n",
                        (batch.other,),
                    )
                if batch.points:
                    self._write_points(conn, batch.points, acc, pending, arrival, horizon_ns)
                if batch.events:
                    self._write_events(conn, batch.events, acc, pending.resources)
                for sp in batch.spans:
                    cur = conn.execute(
                        "INSERT OR IGNORE INTO spans "
                        "(start_ns, end_ns, name, session, trace_id, span_id, parent_id, status, attrs) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            sp.start_ns,
                            sp.end_ns,
                            sp.name,
                            session_key(sp.attrs),
                            sp.trace_id,
                            sp.span_id,
                            sp.parent_span_id,
                            sp.status_code,
                            canonical(sp.attrs),
                        ),
                    )
                    acc.spans += cur.rowcount == 1
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        # Only now, with the transaction on disk, does the in-memory state learn about it.
        self.series.update(pending.series)
        self.epochs.update(pending.epochs)
        self.resources.update(pending.resources)
        self.next_series_id = pending.next_series_id
        return acc

    _INSERT_POINT = "INSERT OR IGNORE INTO points VALUES (?, ?, ?, ?)"

    def _write_points(
        self,
        conn: sqlite3.Connection,
        points: list[Point],
        acc: Accepted,
        pending: _Pending,
        arrival: int,
        horizon: int,
    ) -> None:
        """Resolve temporality for one request's points and insert the increments."""
        new_series = []
        epoch_rows = []
        rows = []
        facts = []
        for p in points:
            digest = series_digest(p.series)
            known = pending.series.get(digest) or self.series.get(digest)
            if known is None:
                info = describe(p.metric, p.attrs)
                sid = pending.next_series_id
                pending.next_series_id += 1
                new_series.append((sid, digest, p.series, p.metric, p.unit, *to_row(info)))
                known = pending.series[digest] = (sid, info)
            sid, info = known
            if p.cumulative:
                ek = (sid, p.start_ns)
                prev = pending.epochs.get(ek) or self.epochs.get(ek)
                if prev is not None and p.end_ns <= prev[0]:
                    continue  # stale or repeated: the newest value is already counted
                inc = counting.cumulative_increment(p.value, prev[1] if prev else None)
                spread = prev is None  # an epoch's first value grew over its whole interval
                pending.epochs[ek] = (p.end_ns, p.value)
                epoch_rows.append((sid, p.start_ns, p.end_ns, p.value))
                if inc == 0.0:
                    continue
            else:
                inc = p.value
                spread = False
            rows.append((sid, p.start_ns, p.end_ns, inc))
            facts.append((info, p, spread))
        if new_series:
            conn.executemany("INSERT INTO series VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", new_series)
        if epoch_rows:
            conn.executemany(
                "INSERT INTO epochs VALUES (?, ?, ?, ?) ON CONFLICT (series_id, start_ns) "
                "DO UPDATE SET last_end_ns = excluded.last_end_ns, value = excluded.value",
                epoch_rows,
            )
        minutes: dict[tuple[int, int], list] = {}  # the point_minutes rollup of what was new
        for i in _insert_new(conn, self._INSERT_POINT, rows):
            info, p, spread = facts[i]
            sid, _, _, inc = rows[i]
            for first, t, part in counting.placement(
                p.start_ns, p.end_ns, inc, arrival, spread=spread, horizon_ns=horizon
            ):
                acc.points.append((info, t, part, first))
                _fold(minutes, (sid, t // MINUTE_NS), part, first, t)
        if minutes:
            conn.executemany(
                "INSERT INTO point_minutes VALUES (?, ?, ?, ?, ?) ON CONFLICT (series_id, minute) DO UPDATE SET "
                "inc = inc + excluded.inc, first_ns = MIN(first_ns, excluded.first_ns), "
                "last_ns = MAX(last_ns, excluded.last_ns)",
                [(sid, minute, inc, first, last) for (sid, minute), (inc, first, last) in minutes.items()],
            )

    _INSERT_EVENT = (
        "INSERT OR IGNORE INTO events (t_ns, name, session, user_id, detail, seq, resource_id, attrs) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    )
    _INSERT_KEY = "INSERT OR IGNORE INTO event_keys VALUES (?, ?)"

    def _write_events(
        self, conn: sqlite3.Connection, events: list, acc: Accepted, new_resources: dict[str, int]
    ) -> None:
        """Insert a request's events; the ones already seen (a re-sent export, even one whose
        rows retention removed) are skipped: their keys are kept for good."""
        rows = []
        keys = []
        facts = []
        rids: dict[int, tuple[int, str]] = {}  # a request's events share one resource object
        for e in events:
            res = e.resource
            known = rids.get(id(res))
            if known is None:
                rkey = canonical(res)
                rid = new_resources.get(rkey) or self.resources.get(rkey)
                if rid is None:
                    new_rid = conn.execute("INSERT INTO resources (attrs) VALUES (?)", (rkey,)).lastrowid
                    assert new_rid is not None  # a plain INSERT always sets it
                    rid = new_resources[rkey] = new_rid
                known = rids[id(res)] = (rid, rkey)
            rid, rkey = known
            own = e.own if e.own is not None else {k: v for k, v in e.attrs.items() if k not in res or res[k] != v}
            session = session_key(e.attrs)
            user = str(e.attrs.get("user.id") or e.attrs.get("user.email") or "")
            det = event_detail(e.name, e.attrs)
            seq = e.attrs.get("event.sequence")
            seq = seq if isinstance(seq, int) and not isinstance(seq, bool) else None
            keys.append((counting.event_key(e.t_ns, e.name, session, seq, own, rkey), e.t_ns))
            rows.append((e.t_ns, e.name, session, user, det, seq, rid, _JSON.encode(own)))
            facts.append((session, user, e.name, det, e.t_ns, e.attrs))
        new = list(_insert_new(conn, self._INSERT_KEY, keys))
        if new:
            conn.executemany(self._INSERT_EVENT, [rows[i] for i in new])
        days: dict[tuple[int, str, str, str, str], list] = {}  # the event_rollup of what was new
        for i in new:
            fact = facts[i]
            acc.events.append(fact)
            session, user, name, det, t, _ = fact
            _fold(days, (t // db.DAY_NS, session, user, name, det), 1, t, t)
        if days:
            conn.executemany(
                "INSERT INTO event_rollup VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (day, session, name, detail) "
                "DO UPDATE SET n = n + excluded.n, first_ns = MIN(first_ns, excluded.first_ns), "
                "last_ns = MAX(last_ns, excluded.last_ns)",
                [(*key, n, first, last) for key, (n, first, last) in days.items()],
            )
