"""The store: persists what each export adds, by the rules of ``counting``, and keeps the totals.

Temporality is resolved here, once, before anything is counted:

* a **delta** point is added as it is; the same (series, start, end) seen again is an exporter
  retry and is ignored (the points table's primary key decides, so it holds across restarts);
* a **cumulative** point is compared with the newest value of its (series, start) epoch and
  only the growth is added (``counting.cumulative_increment``: lower means a reset); a new
  start time is a new epoch added on top; an older or equal end time is stale and ignored.

Where an increment goes in time (per-minute rollup, today, rates) is ``counting.placement``;
a log record's identity for dedupe is ``counting.event_key``.

``write`` runs on one thread at a time (the group committer's) and commits before it
returns; ``apply`` feeds the accepted increments to the in-memory aggregates on the thread
that owns them (the event loop). So an export is on disk before it is acknowledged, and the
screen never shows what the disk does not have.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections import Counter
from dataclasses import dataclass, field
from os import PathLike
from typing import Any, Callable, Iterable

from . import counting, db
from .aggregate import MINUTE_NS, RECENT_EVENTS, RECENT_LATENCIES, Aggregates
from .events import detail as event_detail
from .names import canonical, series_digest, session_key
from .series import SeriesInfo, describe, from_row, to_row
from .snapshot import Snapshot, SourceStatus
from .types import Batch, Point

DEFAULT_RETENTION_DAYS = 30
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


@dataclass(slots=True)
class Rebuilt:
    aggs: Aggregates
    series: dict[bytes, tuple[int, SeriesInfo]]  # by names.series_digest
    epochs: dict[tuple[int, int], tuple[int, float]]


def rebuild(conn: sqlite3.Connection, since_ns: int = 0) -> Rebuilt:
    """Totals from the database, through the same ``Aggregates`` methods the live path uses."""
    aggs = Aggregates()
    series: dict[bytes, tuple[int, SeriesInfo]] = {}
    by_id: dict[int, SeriesInfo] = {}
    for sid, digest, metric, *cols in db.series_rows(conn):
        info = from_row(metric, *cols)
        series[digest] = (sid, info)
        by_id[sid] = info
    for sid, inc, first, last in db.point_groups(conn, since_ns):
        info = by_id.get(sid)
        if info is not None:
            aggs.add_point(info, last, inc, first)
    for row in db.event_groups(conn, since_ns):
        aggs.add_events(*row)
    aggs.latencies.extend(db.recent_latencies(conn, RECENT_LATENCIES, since_ns))
    for t, s, n, a in reversed(db.recent_events(conn, RECENT_EVENTS, since_ns)):
        aggs.log_event(t, s, n, a)
    epochs = {(sid, start): (last_end, value) for sid, start, last_end, value in
              conn.execute("SELECT series_id, start_ns, last_end_ns, value FROM epochs")}
    row = conn.execute("SELECT n FROM counters WHERE key = 'other'").fetchone()
    aggs.other_telemetry = row[0] if row else 0
    return Rebuilt(aggs, series, epochs)


class Store:
    def __init__(self, path: str | PathLike[str], *, retention_days: float = DEFAULT_RETENTION_DAYS,
                 where: str = "", clock: Callable[[], int] = time.time_ns, load: bool = True) -> None:
        """Open (or create) the database; with ``load`` also apply retention and rebuild the
        totals. The dashboard passes ``load=False`` and calls ``load()`` on a thread, so its
        first frame does not wait for a large database."""
        self.path = path
        self.where = where
        self.retention_days = retention_days
        self.clock = clock
        self._conn = db.connect(path)
        self._read = db.connect(path)  # for drill-down queries from the UI thread
        self.aggs = Aggregates()
        self._series: dict[bytes, tuple[int, SeriesInfo]] = {}
        self._epochs: dict[tuple[int, int], tuple[int, float]] = {}
        self._resources: dict[str, int] = {}
        self._next_series_id = 1
        self.loaded = False
        self.version = 0
        self.received: Counter[str] = Counter()
        self.rejected: Counter[str] = Counter()
        self.last_payload_ns: dict[str, int] = {}
        self.last_error: str | None = None
        if load:
            self.load()

    def load(self) -> None:
        """Retention, then the totals from the database. Call once, before any ``write``."""
        self.sweep()
        built = rebuild(self._conn)
        self._series = built.series
        self._epochs = built.epochs
        self._resources = {attrs: rid for rid, attrs in self._conn.execute("SELECT id, attrs FROM resources")}
        self._next_series_id = 1 + (self._conn.execute("SELECT MAX(id) FROM series").fetchone()[0] or 0)
        self.aggs = built.aggs  # last: a snapshot taken meanwhile reads the empty aggregates
        self.loaded = True
        self.version += 1

    # -- writing (one thread at a time) ------------------------------------------------------

    def write(self, batches: list[Batch]) -> Accepted:
        """Persist ``batches`` in one transaction and return what they add. Raises on failure,
        having rolled back: then nothing was counted and nothing may be acknowledged."""
        conn = self._conn
        acc = Accepted()
        pending = _Pending(next_series_id=self._next_series_id)
        arrival = self.clock()
        conn.execute("BEGIN")
        try:
            for batch in batches:
                if batch.other:
                    acc.other += batch.other
                    conn.execute("INSERT INTO counters VALUES ('other', ?) ON CONFLICT (key) DO UPDATE "
                                 "SET n = n + excluded.n", (batch.other,))
                if batch.points:
                    self._write_points(conn, batch.points, acc, pending, arrival)
                if batch.events:
                    self._write_events(conn, batch.events, acc, pending.resources)
                for sp in batch.spans:
                    cur = conn.execute(
                        "INSERT OR IGNORE INTO spans (start_ns, end_ns, name, session, trace_id, span_id, parent_id, status, attrs) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (sp.start_ns, sp.end_ns, sp.name, session_key(sp.attrs), sp.trace_id, sp.span_id,
                         sp.parent_span_id, sp.status_code, canonical(sp.attrs)))
                    acc.spans += cur.rowcount == 1
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        # Only now, with the transaction on disk, does the in-memory state learn about it.
        self._series.update(pending.series)
        self._epochs.update(pending.epochs)
        self._resources.update(pending.resources)
        self._next_series_id = pending.next_series_id
        return acc

    _INSERT_POINT = "INSERT OR IGNORE INTO points VALUES (?, ?, ?, ?)"

    @property
    def horizon_ns(self) -> int:
        """How old a time stamp may be and still be placed as sent (the retention window)."""
        if self.retention_days > 0:
            return int(self.retention_days * db.DAY_NS)
        return counting.DEFAULT_HORIZON_NS

    def _write_points(self, conn: sqlite3.Connection, points: list[Point], acc: Accepted, pending: "_Pending",
                      arrival: int) -> None:
        """Resolve temporality for one request's points and insert the increments."""
        new_series = []
        epoch_rows = []
        rows = []
        facts = []
        for p in points:
            digest = series_digest(p.series)
            known = pending.series.get(digest) or self._series.get(digest)
            if known is None:
                info = describe(p.metric, p.attrs)
                sid = pending.next_series_id
                pending.next_series_id += 1
                new_series.append((sid, digest, p.series, p.metric, p.unit, *to_row(info)))
                known = pending.series[digest] = (sid, info)
            sid, info = known
            if p.cumulative:
                ek = (sid, p.start_ns)
                prev = pending.epochs.get(ek) or self._epochs.get(ek)
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
                "DO UPDATE SET last_end_ns = excluded.last_end_ns, value = excluded.value", epoch_rows)
        minutes: dict[tuple[int, int], list] = {}  # the point_minutes rollup of what was new
        horizon = self.horizon_ns
        for i in _insert_new(conn, self._INSERT_POINT, rows):
            info, p, spread = facts[i]
            sid, _, _, inc = rows[i]
            for first, t, part in counting.placement(p.start_ns, p.end_ns, inc, arrival, spread=spread,
                                                     horizon_ns=horizon):
                acc.points.append((info, t, part, first))
                _fold(minutes, (sid, t // MINUTE_NS), part, first, t)
        if minutes:
            conn.executemany(
                "INSERT INTO point_minutes VALUES (?, ?, ?, ?, ?) ON CONFLICT (series_id, minute) DO UPDATE SET "
                "inc = inc + excluded.inc, first_ns = MIN(first_ns, excluded.first_ns), "
                "last_ns = MAX(last_ns, excluded.last_ns)",
                [(sid, minute, inc, first, last) for (sid, minute), (inc, first, last) in minutes.items()])

    _INSERT_EVENT = ("INSERT OR IGNORE INTO events (t_ns, name, session, user_id, detail, seq, resource_id, attrs) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
    _INSERT_KEY = "INSERT OR IGNORE INTO event_keys VALUES (?, ?)"

    def _write_events(self, conn: sqlite3.Connection, events: list, acc: Accepted,
                      new_resources: dict[str, int]) -> None:
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
                rid = new_resources.get(rkey) or self._resources.get(rkey)
                if rid is None:
                    rid = new_resources[rkey] = conn.execute(
                        "INSERT INTO resources (attrs) VALUES (?)", (rkey,)).lastrowid
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
                [(*key, n, first, last) for key, (n, first, last) in days.items()])

    # -- applying (the thread that owns the aggregates) -----------------------------------------

    def apply(self, acc: Accepted) -> None:
        aggs = self.aggs
        for info, t, inc, first in acc.points:
            aggs.add_point(info, t, inc, first)
        for session, user, name, det, t, attrs in acc.events:
            aggs.add_events(session, user, name, det, 1, t, t)
            aggs.note_event(t, session, name, attrs)
        aggs.other_telemetry += acc.other
        if acc.points or acc.events or acc.spans or acc.other:
            self.version += 1

    def ingest(self, batch: Batch) -> Accepted:
        """Write and apply in the calling thread (tests, tools, benchmarks)."""
        self.note_received(batch.signal)
        acc = self.write([batch])
        self.apply(acc)
        return acc

    # -- bookkeeping ----------------------------------------------------------------------------

    def note_received(self, signal: str) -> None:
        self.received[signal] += 1
        self.last_payload_ns[signal] = self.clock()
        self.version += 1

    def note_rejected(self, signal: str, why: str) -> None:
        self.rejected[signal] += 1
        self.last_error = why
        self.version += 1

    def status(self) -> SourceStatus:
        return SourceStatus(
            kind="otlp", where=self.where, last_payload_ns=dict(self.last_payload_ns),
            received=dict(self.received), rejected=dict(self.rejected), last_error=self.last_error,
        )

    def snapshot(self, now_ns: int | None = None) -> Snapshot:
        return self.aggs.snapshot(self.version, self.status(), now_ns if now_ns is not None else self.clock())

    def sweep(self) -> int:
        """Retention: delete raw events (and spans) of the UTC days wholly older than the
        cutoff. Their counts live on in ``event_rollup``, their dedupe keys in ``event_keys``,
        and metric increments are kept for good. Cutting at a day boundary means no day is
        counted partly from raw rows and partly from the rollup. Returns the events removed."""
        if self.retention_days <= 0:
            return 0
        conn = self._conn
        day = max((self.clock() - int(self.retention_days * db.DAY_NS)) // db.DAY_NS, db.swept_day(conn))
        conn.execute("BEGIN")
        try:
            n = conn.execute("DELETE FROM events WHERE t_ns < ?", (day * db.DAY_NS,)).rowcount
            conn.execute("DELETE FROM spans WHERE start_ns < ?", (day * db.DAY_NS,))
            db.set_swept_day(conn, day)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return n

    def checkpoint(self) -> None:
        """Copy the WAL into the database file without waiting for readers (writer thread)."""
        self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)")

    # -- drill-down reads --------------------------------------------------------------------

    def session_events(self, session: str, limit: int = 5000) -> list[tuple[int, str, dict]]:
        return db.session_events(self._read, session, limit)

    def session_cost_points(self, session: str) -> list[tuple[int, float]]:
        return db.session_cost_points(self._read, session)

    def close(self) -> None:
        for c in (self._conn, self._read):
            try:
                c.close()
            except sqlite3.Error:
                pass
