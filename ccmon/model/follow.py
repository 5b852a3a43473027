"""Following a database another process writes: what changed since the last look, read-only.

A dashboard attached to a running receiver (``ingest.viewer``) keeps its own ``Aggregates``:
built once by ``store.rebuild`` (the same path a restart takes), then fed only what each new
commit added. To know what that is without re-reading everything:

* ``PRAGMA data_version`` tells, for the price of reading the WAL index, whether anything was
  committed since the last look;
* new series and new events have growing ids (``id > last seen``);
* metric increments land in ``point_minutes`` (inserted or updated per series and minute).
  The writer keeps a small log of those changes, ``follow_minutes``, filled by triggers
  (``SCHEMA``, installed by whoever owns the database): each row is what one commit added to
  one (series, minute). The log prunes itself; a follower that fell further behind than it
  keeps reads everything again.

The triggers sit on ``point_minutes`` rather than ``points`` on purpose: the store tells new
points from retried ones by counting changes, and a trigger on ``points`` would add to that
count. Nothing here writes the database: the follower's connection is read-only.
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from . import db
from .aggregate import Aggregates
from .series import SeriesInfo, from_row

KEEP_LOG = 100_000  # rows of follow_minutes kept: minutes of a busy team's traffic

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS follow_minutes (
    seq INTEGER PRIMARY KEY,
    series_id INTEGER NOT NULL,
    inc REAL NOT NULL,  -- what the commit added to point_minutes.inc
    first_ns INTEGER NOT NULL,
    last_ns INTEGER NOT NULL
);
CREATE TRIGGER IF NOT EXISTS follow_minutes_insert AFTER INSERT ON point_minutes BEGIN
    INSERT INTO follow_minutes (series_id, inc, first_ns, last_ns)
    VALUES (NEW.series_id, NEW.inc, NEW.first_ns, NEW.last_ns);
END;
CREATE TRIGGER IF NOT EXISTS follow_minutes_update AFTER UPDATE ON point_minutes BEGIN
    INSERT INTO follow_minutes (series_id, inc, first_ns, last_ns)
    VALUES (NEW.series_id, NEW.inc - OLD.inc, NEW.first_ns, NEW.last_ns);
END;
CREATE TRIGGER IF NOT EXISTS follow_minutes_prune AFTER INSERT ON follow_minutes WHEN NEW.seq % 1024 = 0 BEGIN
    DELETE FROM follow_minutes WHERE seq <= NEW.seq - {KEEP_LOG};
END;
"""


def install(path: str | os.PathLike[str]) -> None:
    """Create the change log and its triggers (the owner of the database calls this once)."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA busy_timeout=5000")
        conn.executescript(SCHEMA)
    finally:
        conn.close()


def newest_ns(conn: sqlite3.Connection) -> tuple[int, int]:
    """When the newest metric point ended and the newest event happened (0: none): how old
    the database's data is. Both are index lookups."""
    return (
        conn.execute("SELECT MAX(end_ns) FROM points").fetchone()[0] or 0,
        conn.execute("SELECT MAX(t_ns) FROM events").fetchone()[0] or 0,
    )


@dataclass(slots=True)
class Changes:
    """What a look at the database found; ``rebuilt`` replaces everything when set."""

    rebuilt: Aggregates | None = None
    series: dict[int, SeriesInfo] = field(default_factory=dict)
    minutes: list[tuple[int, float, int, int]] = field(default_factory=list)  # series, inc, first, last
    events: list[tuple[int, str, str, str, str, dict[str, Any]]] = field(default_factory=list)
    newest_point_ns: int = 0
    newest_event_ns: int = 0

    @property
    def empty(self) -> bool:
        return self.rebuilt is None and not self.minutes and not self.events and not self.series


class Follower:
    """Reads (on any one thread at a time) what changed; ``apply`` runs where the aggregates live."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = path
        self.conn = db.connect(path, readonly=True)
        self.series: dict[int, SeriesInfo] = {}
        self._series_seen = 0
        self._log_seen = 0
        self._event_seen = 0
        self._has_log = False
        self._loaded = False
        self.newest_point_ns = 0
        self.newest_event_ns = 0

    def data_version(self) -> int:
        """Changes whenever another connection committed (cheap: no table is read)."""
        return self.conn.execute("PRAGMA data_version").fetchone()[0]

    def read(self) -> Changes:
        """Everything committed since the last ``read``, in one read transaction (so the
        cursors and the rows agree)."""
        conn = self.conn
        conn.execute("BEGIN")
        try:
            if not self._loaded:
                return self._rebuild()
            ch = Changes()
            for sid, *cols in conn.execute(
                "SELECT id, metric, session, user_id, model, raw_model, kind, edit, start_type, labels "
                "FROM series WHERE id > ? ORDER BY id",
                (self._series_seen,),
            ):
                ch.series[sid] = from_row(*cols)
                self._series_seen = sid
            if self._has_log:
                rows = conn.execute(
                    "SELECT seq, series_id, inc, first_ns, last_ns FROM follow_minutes WHERE seq > ? ORDER BY seq",
                    (self._log_seen,),
                ).fetchall()
                if rows and rows[0][0] != self._log_seen + 1:
                    return self._rebuild()  # the log was pruned past what this follower saw
                if rows:
                    self._log_seen = rows[-1][0]
                    ch.minutes = [r[1:] for r in rows]
            else:
                return self._rebuild()  # an older writer without the log: read it all again
            newest_id = conn.execute("SELECT MAX(id) FROM events").fetchone()[0] or 0
            if newest_id < self._event_seen:
                return self._rebuild()  # retention emptied the table and ids started over
            for eid, t, session, user, name, det, attrs, res in conn.execute(
                "SELECT e.id, e.t_ns, e.session, e.user_id, e.name, e.detail, e.attrs, r.attrs FROM events e "
                "LEFT JOIN resources r ON r.id = e.resource_id WHERE e.id > ? ORDER BY e.id",
                (self._event_seen,),
            ):
                merged = {**json.loads(res), **json.loads(attrs)} if res else json.loads(attrs)
                ch.events.append((t, session, user, name, det, merged))
                self._event_seen = eid
            self._newest(ch)
            return ch
        finally:
            conn.execute("COMMIT")

    def _rebuild(self) -> Changes:
        from .store import rebuild

        conn = self.conn
        built = rebuild(conn)
        self.series = {sid: info for sid, info in built.series.values()}
        self._series_seen = max(self.series, default=0)
        self._has_log = (
            conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'follow_minutes'").fetchone()
            is not None
        )
        self._log_seen = 0
        if self._has_log:
            self._log_seen = conn.execute("SELECT MAX(seq) FROM follow_minutes").fetchone()[0] or 0
        self._event_seen = conn.execute("SELECT MAX(id) FROM events").fetchone()[0] or 0
        self._loaded = True
        ch = Changes(rebuilt=built.aggs)
        self._newest(ch)
        return ch

    def _newest(self, ch: Changes) -> None:
        """When the newest metric point and event were made (the status bar's "N s ago")."""
        if ch.rebuilt is not None or ch.minutes or ch.events:
            self.newest_point_ns, self.newest_event_ns = newest_ns(self.conn)
        ch.newest_point_ns, ch.newest_event_ns = self.newest_point_ns, self.newest_event_ns

    def apply(self, aggs: Aggregates, ch: Changes) -> Aggregates:
        """Feed ``ch`` to ``aggs`` through the same methods the receiver uses; returns the
        aggregates to keep (new ones after a rebuild)."""
        if ch.rebuilt is not None:
            return ch.rebuilt
        self.series.update(ch.series)
        for sid, inc, first, last in ch.minutes:
            info = self.series.get(sid)
            if info is not None:
                aggs.add_point(info, last, inc, first)
        for t, session, user, name, det, attrs in ch.events:
            aggs.add_events(session, user, name, det, 1, t, t)
            aggs.note_event(t, session, name, attrs)
        return aggs

    def close(self) -> None:
        try:
            self.conn.close()
        except sqlite3.Error:
            pass
