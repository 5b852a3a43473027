"""The dashboard's time range (key t): the figures of a window, and how they join the live ones.

A ranged snapshot is the database's totals since the range's start: ``store.rebuild`` from the
rollups (``point_minutes``, ``event_rollup`` and the raw events of the window), the path
``ccmon report --since`` takes, on its own read-only connection (``Query``) so that it can run
on a thread beside the receiver and the UI (``ingest.ranged.off_loop``). ``per_day`` is
``ccmon report --by day`` (``over_time.build``).

``compose`` puts a ranged snapshot on screen: the figures that follow the range (total cost and
tokens, models, sessions with their in-range figures, edits, events, group-by, productivity,
API health) come from it; what has a window of its own (the status bar, plan limits, cost
today, the 5 min / 1 h burn rates, the per-minute sparklines, tokens in the last minute) from
the live snapshot.
"""

from __future__ import annotations

import dataclasses
import os
import sqlite3
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from .snapshot import Snapshot, SourceStatus

T = TypeVar("T")

# Figures with their own window: always the live snapshot's.
LIVE_FIELDS = (
    "version",
    "now_ns",
    "status",
    "cost_today",
    "burn_5m",
    "burn_1h",
    "cost_per_minute",
    "tokens_last_minute",
    "tokens_per_minute",
    "limits",
    "prompts_logged",
    "tool_details_logged",
    "other_telemetry",
)


class Query:
    """One read-only connection for a computation on a thread, which the event loop may
    interrupt (SQLite stops the running statement): a range abandoned, the app quitting, does
    not leave a thread reading a million rows that exit would wait for."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._stopped = False

    def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(conn, *args)`` on this thread's connection (blocking)."""
        from . import db

        with self._lock:
            if self._stopped:
                raise sqlite3.OperationalError("interrupted")
            conn = self._conn = db.connect(self.path, readonly=True)
        try:
            return fn(conn, *args)
        finally:
            with self._lock:
                self._conn = None
                conn.close()

    def interrupt(self) -> None:
        with self._lock:
            self._stopped = True
            if self._conn is not None:
                self._conn.interrupt()


def snapshot_since(conn: sqlite3.Connection, since_ns: int, now_ns: int, status: SourceStatus) -> Snapshot:
    """The totals of what happened from ``since_ns`` on, as of ``now_ns`` (blocking: a thread)."""
    from .store import rebuild

    # A range that starts before everything the database holds is all of it: the rollups'
    # path (``rebuild(conn, 0)``), three times faster at a million events than grouping the
    # raw events of the window, with the same figures.
    built = rebuild(conn, 0 if since_ns <= earliest_ns(conn) else since_ns, now_ns)
    return built.aggs.snapshot(0, status, now_ns)


def per_day(conn: sqlite3.Connection, since_ns: int, until_ns: int) -> dict[str, Any]:
    """``ccmon report --by day`` over the window (blocking: a thread)."""
    from .over_time import build

    return build(conn, since_ns, until_ns, "day")


def compose(live: Snapshot, ranged: Snapshot, range_name: str) -> Snapshot:
    """``ranged``'s figures with ``live``'s own-window ones, labelled ``range_name``."""
    return dataclasses.replace(ranged, range_name=range_name, **{f: getattr(live, f) for f in LIVE_FIELDS})


def earliest_ns(conn: sqlite3.Connection) -> int:
    """The earliest moment any metric minute or event in the database counts at (0: empty).
    Index lookups and one scan of the per-minute rollup's keys."""
    from .counting import MINUTE_NS

    minute = conn.execute("SELECT MIN(minute) FROM point_minutes").fetchone()[0]
    event = conn.execute("SELECT MIN(t_ns) FROM events").fetchone()[0]
    rolled = conn.execute(
        "SELECT MIN(first_ns) FROM event_rollup WHERE day = (SELECT MIN(day) FROM event_rollup)"
    ).fetchone()[0]
    found = [t for t in (minute * MINUTE_NS if minute is not None else None, event, rolled) if t is not None]
    return min(found) if found else 0
