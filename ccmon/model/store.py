"""The store: the database, the running totals, and the start-up rebuild that joins them.

What an export adds is decided by ``writer`` (temporality, dedupe) by the rules of
``counting``; the store owns when. ``write`` runs on one thread at a time (the group
committer's) and commits before it returns; ``apply`` feeds the accepted increments to the
in-memory aggregates on the thread that owns them (the event loop). So an export is on disk
before it is acknowledged, and the screen never shows what the disk does not have.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from os import PathLike

from . import counting, db, provisional
from .aggregate import RECENT_EVENTS, RECENT_LATENCIES, Aggregates
from .series import SeriesInfo, from_row
from .snapshot import Snapshot, SourceStatus
from .types import Batch
from .writer import Accepted, Writer

DEFAULT_RETENTION_DAYS = 30


@dataclass(slots=True)
class Rebuilt:
    aggs: Aggregates
    series: dict[bytes, tuple[int, SeriesInfo]]  # by names.series_digest
    epochs: dict[tuple[int, int], tuple[int, float]]


def rebuild(conn: sqlite3.Connection, since_ns: int = 0, now_ns: int | None = None) -> Rebuilt:
    """Totals from the database, through the same ``Aggregates`` methods the live path uses.
    ``now_ns`` (default: the wall clock) decides which API calls may still be provisional."""
    aggs = Aggregates()
    series: dict[bytes, tuple[int, SeriesInfo]] = {}
    by_id: dict[int, SeriesInfo] = {}
    for sid, digest, metric, *cols in db.series_rows(conn):
        info = from_row(metric, *cols)
        series[digest] = (sid, info)
        by_id[sid] = info
    for sid, inc, first, last in db.point_groups(conn, since_ns):
        known = by_id.get(sid)
        if known is not None:
            aggs.add_point(known, last, inc, first)
    for row in db.event_groups(conn, since_ns):
        aggs.add_events(*row)
    aggs.latencies.extend(db.recent_latencies(conn, RECENT_LATENCIES, since_ns))
    for t, s, n, a in reversed(db.recent_events(conn, RECENT_EVENTS, since_ns)):
        aggs.log_event(t, s, n, a)
    # After every metric point: only calls newer than their session's newest point stay.
    now = time.time_ns() if now_ns is None else now_ns
    for t, s, a in db.api_requests_since(conn, max(since_ns, now - provisional.MAX_AGE_NS)):
        aggs.add_call(s, t, a)
    epochs = {
        (sid, start): (last_end, value)
        for sid, start, last_end, value in conn.execute("SELECT series_id, start_ns, last_end_ns, value FROM epochs")
    }
    row = conn.execute("SELECT n FROM counters WHERE key = 'other'").fetchone()
    aggs.other_telemetry = row[0] if row else 0
    return Rebuilt(aggs, series, epochs)


class Store:
    def __init__(
        self,
        path: str | PathLike[str],
        *,
        retention_days: float = DEFAULT_RETENTION_DAYS,
        where: str = "",
        clock: Callable[[], int] = time.time_ns,
        load: bool = True,
    ) -> None:
        """Open (or create) the database; with ``load`` also apply retention and rebuild the
        totals. The dashboard passes ``load=False`` and calls ``load()`` on a thread, so its
        first frame does not wait for a large database."""
        self.path = path
        self.where = where
        self.retention_days = retention_days
        self.clock = clock
        self._conn = db.connect(path)
        self._read = db.connect(path)  # for drill-down queries from the UI thread
        self._read_lock = threading.Lock()
        self._closed = False
        self.aggs = Aggregates()
        self._writer = Writer(self._conn)
        self.loaded = False
        self.version = 0
        if load:
            self.load()

    def load(self) -> None:
        """Retention, then the totals from the database. Call once, before any ``write``."""
        self.sweep()
        built = rebuild(self._conn, now_ns=self.clock())
        self._writer.load(built.series, built.epochs)
        self.aggs = built.aggs  # last: a snapshot taken meanwhile reads the empty aggregates
        self.loaded = True
        self.version += 1

    # -- writing (one thread at a time) ------------------------------------------------------

    def write(self, batches: list[Batch]) -> Accepted:
        """Persist ``batches`` in one transaction and return what they add (see ``writer``).
        Raises on failure, having rolled back: then nothing may be acknowledged."""
        return self._writer.write(batches, self.clock(), self.horizon_ns)

    @property
    def horizon_ns(self) -> int:
        """How old a time stamp may be and still be placed as sent: the retention window, or
        any age when everything is kept (``--retention-days 0``)."""
        if self.retention_days > 0:
            return int(self.retention_days * db.DAY_NS)
        return counting.NO_HORIZON_NS

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
        acc = self.write([batch])
        self.apply(acc)
        return acc

    # -- bookkeeping ----------------------------------------------------------------------------

    def status(self) -> SourceStatus:
        """What the receiver saw lives in ``ingest.stats``; a source built on the receiver fills it in."""
        return SourceStatus(kind="otlp", where=self.where)

    def snapshot(self, now_ns: int | None = None, *, include_provisional: bool = True) -> Snapshot:
        """The live figures; see ``Aggregates.snapshot`` for ``include_provisional``."""
        now = now_ns if now_ns is not None else self.clock()
        return self.aggs.snapshot(self.version, self.status(), now, include_provisional=include_provisional)

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

    # They run on worker threads (the session screen loads off the loop), so a read may still
    # be running when the app quits: closing a connection under a query crashes SQLite. The
    # lock makes ``close`` wait for it, and a read after ``close`` finds nothing.

    def session_events(self, session: str, limit: int = 5000) -> list[tuple[int, str, dict]]:
        with self._read_lock:
            return [] if self._closed else db.session_events(self._read, session, limit)

    def session_cost_points(self, session: str) -> list[tuple[int, float]]:
        with self._read_lock:
            return [] if self._closed else db.session_cost_points(self._read, session)

    def session_interactions(self, session: str) -> list[tuple[int, int]]:
        with self._read_lock:
            return [] if self._closed else db.session_interactions(self._read, session)

    def close(self) -> None:
        with self._read_lock:
            self._closed = True
            for c in (self._conn, self._read):
                try:
                    c.close()
                except sqlite3.Error:
                    pass
