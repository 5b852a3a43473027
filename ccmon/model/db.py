"""SQLite persistence: the schema, the connection settings, and the queries that rebuild totals.

Claude Code sends deltas, so this database is the only place its history exists. Tables:

    series        one row per metric series: its identity (a digest of metric, resource and
                  point attributes) and what it means to ccmon (session, model, type, ...)
    points        increments: a delta point as sent, or the growth of a cumulative point;
                  the primary key (series, start, end) makes an exporter retry count once
    point_minutes the same increments summed per series and minute
    epochs        per cumulative series and start time, the newest value seen
    resources     OTLP resources, stored once and referenced by events
    events        raw Claude Code events, kept ``retention_days`` (cut at a UTC day boundary)
    event_keys    the identity of every event ever stored (counting.event_key), kept for good:
                  a record re-sent after retention removed its row still counts once
    event_rollup  per day, session, event and detail: counts, kept for good
    spans         trace spans (beta telemetry), kept like events
    counters      running counts that are not telemetry totals (other senders' data points)
    quarantine    rows an older ccmon stored that break a counting rule (an infinite value):
                  moved here by the migration, not counted, never deleted

``point_minutes`` and ``event_rollup`` are written in the same transaction as the raw rows.
They are what start-up reads: a million events rebuild from a few thousand rollup rows instead
of a GROUP BY over the million (4 s -> well under 1 s), and totals outlive the raw events.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from . import counting
from .values import as_float

SCHEMA_VERSION = 3

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS series (
    id INTEGER PRIMARY KEY,
    digest BLOB NOT NULL UNIQUE,  -- names.series_digest(key): the identity, 16 bytes
    key TEXT NOT NULL,  -- metric, resource and point attributes, as JSON (see otlp._series_key)
    metric TEXT NOT NULL,
    unit TEXT NOT NULL DEFAULT '',
    -- SeriesInfo, so that start-up need not re-derive it from attrs:
    session TEXT NOT NULL,
    user_id TEXT NOT NULL,
    model TEXT,
    raw_model TEXT,
    kind TEXT,
    edit TEXT,  -- JSON [tool, language, source, decision] or NULL
    start_type TEXT,
    labels TEXT NOT NULL  -- JSON [[key, value], ...]
);
CREATE INDEX IF NOT EXISTS series_session ON series (session);
CREATE TABLE IF NOT EXISTS points (
    series_id INTEGER NOT NULL,
    start_ns INTEGER NOT NULL,
    end_ns INTEGER NOT NULL,
    inc REAL NOT NULL,
    PRIMARY KEY (series_id, start_ns, end_ns)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS points_end ON points (end_ns);
CREATE TABLE IF NOT EXISTS point_minutes (
    series_id INTEGER NOT NULL,
    minute INTEGER NOT NULL,
    inc REAL NOT NULL,
    first_ns INTEGER NOT NULL,
    last_ns INTEGER NOT NULL,
    PRIMARY KEY (series_id, minute)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS epochs (
    series_id INTEGER NOT NULL,
    start_ns INTEGER NOT NULL,
    last_end_ns INTEGER NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (series_id, start_ns)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS resources (id INTEGER PRIMARY KEY, attrs TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    t_ns INTEGER NOT NULL,
    name TEXT NOT NULL,
    session TEXT NOT NULL,
    user_id TEXT NOT NULL,
    detail TEXT NOT NULL,
    seq INTEGER,
    resource_id INTEGER,
    attrs TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_t ON events (t_ns);
-- Start-up reads the newest API latencies; a partial index keeps that one lookup, not a scan
-- of whatever else happened lately, and costs nothing on other events.
CREATE INDEX IF NOT EXISTS events_api ON events (t_ns) WHERE name = 'api_request';
-- Dedupe is event_keys' job (schema 3); this index, unique since schema 2, serves a session's
-- drill-down (it leads with session).
CREATE UNIQUE INDEX IF NOT EXISTS events_once ON events (session, seq, t_ns, name);
CREATE TABLE IF NOT EXISTS event_rollup (
    day INTEGER NOT NULL,
    session TEXT NOT NULL,
    user_id TEXT NOT NULL,
    name TEXT NOT NULL,
    detail TEXT NOT NULL,
    n INTEGER NOT NULL,
    first_ns INTEGER NOT NULL,
    last_ns INTEGER NOT NULL,
    PRIMARY KEY (day, session, name, detail)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS spans (
    id INTEGER PRIMARY KEY,
    start_ns INTEGER NOT NULL,
    end_ns INTEGER NOT NULL,
    name TEXT NOT NULL,
    session TEXT NOT NULL,
    trace_id TEXT NOT NULL,
    span_id TEXT NOT NULL,
    parent_id TEXT NOT NULL,
    status INTEGER NOT NULL,
    attrs TEXT NOT NULL,
    UNIQUE (trace_id, span_id)
);
CREATE INDEX IF NOT EXISTS spans_start ON spans (start_ns);
CREATE TABLE IF NOT EXISTS event_keys (key BLOB PRIMARY KEY, t_ns INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS counters (key TEXT PRIMARY KEY, n INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS quarantine (tbl TEXT NOT NULL, row TEXT NOT NULL);
"""

DAY_NS = 86_400_000_000_000


def default_path() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "ccmon" / "ccmon.db"


class SchemaError(RuntimeError):
    pass


def connect(path: str | os.PathLike[str], *, readonly: bool = False) -> sqlite3.Connection:
    """Open (and create, unless ``readonly``) a ccmon database.

    WAL lets the dashboard and ``ccmon report`` read while ``serve`` writes.
    ``synchronous=NORMAL`` in WAL mode: a committed transaction is in the WAL file before the
    commit returns, so it survives the process being killed (kill -9); only an OS crash or
    power loss can lose the last transactions, never corrupt the file.
    """
    p = Path(path)
    if readonly:
        if not p.exists():
            raise FileNotFoundError(f"no ccmon database at {p}")
        conn = sqlite3.connect(f"file:{p}?mode=ro", uri=True, check_same_thread=False)
        found = _schema(conn)
        if found is not None and found < SCHEMA_VERSION:
            conn.close()
            connect(p).close()  # an older ccmon's database: migrate it once, then read it
            conn = sqlite3.connect(f"file:{p}?mode=ro", uri=True, check_same_thread=False)
        elif found is not None and found > SCHEMA_VERSION:
            conn.close()
            raise SchemaError(f"{p} has schema {found}, this ccmon reads {SCHEMA_VERSION}: use a newer ccmon")
    else:
        # Private: the database may hold prompts and tool inputs. The folder is created 0700
        # and the file 0600 before SQLite opens it; SQLite gives its -wal and -shm files the
        # database file's mode.
        p.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not p.exists():
            os.close(os.open(p, os.O_WRONLY | os.O_CREAT, 0o600))
        conn = sqlite3.connect(p, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA busy_timeout=5000")  # first: another ccmon may be migrating it
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        # The group committer checkpoints whenever it is idle; SQLite's automatic checkpoint
        # (inside a commit) is only the backstop for sustained load, hence 16 MB, not 4.
        conn.execute("PRAGMA wal_autocheckpoint=4000")
        found = _schema(conn)
        if found is not None and found > SCHEMA_VERSION:
            conn.close()
            raise SchemaError(f"{p} has schema {found}, this ccmon reads {SCHEMA_VERSION}: use a newer ccmon")
        conn.executescript(SCHEMA)
        if found is None:
            conn.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
        elif found < SCHEMA_VERSION:
            migrate(conn, found)
    conn.execute("PRAGMA busy_timeout=5000")
    return conn


def _schema(conn: sqlite3.Connection) -> int | None:
    try:
        found = conn.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
    except sqlite3.OperationalError:  # no meta table: a new database
        return None
    return int(found[0]) if found else None


def _finite_json(node: Any) -> Any:
    if isinstance(node, float) and not math.isfinite(node):
        return str(node)
    if isinstance(node, dict):
        return {k: _finite_json(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_finite_json(v) for v in node]
    return node


def migrate(conn: sqlite3.Connection, found: int) -> None:
    """Bring an older ccmon's database to ``SCHEMA_VERSION`` in one transaction. Nothing is
    discarded: what can no longer be counted is moved to ``quarantine``."""
    if found != 2:
        raise SchemaError(f"schema {found} is too old to migrate (this ccmon reads 2 and {SCHEMA_VERSION})")
    conn.execute("BEGIN IMMEDIATE")
    try:
        if _schema(conn) != found:  # another process migrated it while this one waited
            conn.execute("COMMIT")
            return
        _migrate_2_to_3(conn)
        conn.execute("UPDATE meta SET value = ? WHERE key = 'schema'", (str(SCHEMA_VERSION),))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _migrate_2_to_3(conn: sqlite3.Connection) -> None:
    # 1. Increments that are not finite (schema 2 stored +Inf) or would overflow a total.
    bad = conn.execute(
        "SELECT series_id, start_ns, end_ns, inc FROM points WHERE NOT (abs(inc) <= ?)", (counting.MAX_VALUE,)
    ).fetchall()
    for sid, start, end, inc in bad:
        conn.execute("INSERT INTO quarantine VALUES ('points', ?)", (json.dumps([sid, start, end, str(inc)]),))
        conn.execute("DELETE FROM points WHERE series_id = ? AND start_ns = ? AND end_ns = ?", (sid, start, end))
    minutes = {(sid, end // counting.MINUTE_NS) for sid, _, end, _ in bad}
    minutes.update(
        conn.execute(
            "SELECT series_id, minute FROM point_minutes WHERE NOT (abs(inc) <= ?)", (counting.MAX_VALUE,)
        ).fetchall()
    )
    for sid, minute in minutes:  # the minute's finite increments, summed again
        conn.execute("DELETE FROM point_minutes WHERE series_id = ? AND minute = ?", (sid, minute))
        conn.execute(
            "INSERT INTO point_minutes SELECT series_id, ?, SUM(inc), MIN(CASE WHEN start_ns > 0 AND "
            "start_ns <= end_ns THEN start_ns ELSE end_ns END), MAX(end_ns) FROM points WHERE series_id = ? "
            "AND end_ns >= ? AND end_ns < ? GROUP BY series_id",
            (minute, sid, minute * counting.MINUTE_NS, (minute + 1) * counting.MINUTE_NS),
        )
    # 2. Attributes JSON cannot hold (Infinity, NaN): kept, as text.
    for table in ("events", "resources"):
        for rid, attrs in conn.execute(f"SELECT id, attrs FROM {table} WHERE json_valid(attrs) = 0").fetchall():
            try:
                fixed = json.dumps(_finite_json(json.loads(attrs)), ensure_ascii=False, separators=(",", ":"))
            except ValueError:
                fixed = json.dumps({"attrs": attrs})
            conn.execute(f"UPDATE {table} SET attrs = ? WHERE id = ?", (fixed, rid))
    # 3. The dedupe keys of the events still stored.
    resources = dict(conn.execute("SELECT id, attrs FROM resources"))
    rows = conn.execute("SELECT t_ns, name, session, seq, resource_id, attrs FROM events")
    conn.executemany(
        "INSERT OR IGNORE INTO event_keys VALUES (?, ?)",
        (
            (counting.event_key(t, name, session, seq, json.loads(attrs), resources.get(rid, "{}")), t)
            for t, name, session, seq, rid, attrs in rows.fetchall()
        ),
    )
    # 4. Where raw events end and the rollup alone counts: after the last day an older sweep
    #    emptied, wholly or in part (its raw count is below its rollup count).
    partial = conn.execute(
        "SELECT MAX(r.day) FROM (SELECT day, SUM(n) AS n FROM event_rollup GROUP BY day) r LEFT JOIN "
        "(SELECT t_ns / ? AS day, COUNT(*) AS n FROM events GROUP BY t_ns / ?) e ON e.day = r.day "
        "WHERE e.n IS NULL OR e.n < r.n",
        (DAY_NS, DAY_NS),
    ).fetchone()[0]
    if partial is not None:
        set_swept_day(conn, partial + 1)


def swept_day(conn: sqlite3.Connection) -> int:
    """The first UTC day whose raw events are all kept; days before it live in the rollup only."""
    row = conn.execute("SELECT value FROM meta WHERE key = 'swept_day'").fetchone()
    return int(row[0]) if row else 0


def set_swept_day(conn: sqlite3.Connection, day: int) -> None:
    conn.execute(
        "INSERT INTO meta VALUES ('swept_day', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", (str(day),)
    )


# --- rebuild queries ----------------------------------------------------------------------
# Each yields rows already grouped by SQL, so start-up touches Python once per
# (series, minute) and per (session, event, detail), not once per raw row.


def series_rows(conn: sqlite3.Connection) -> Iterator[tuple]:
    return conn.execute(
        "SELECT id, digest, metric, session, user_id, model, raw_model, kind, edit, start_type, labels FROM series"
    )


def point_groups(conn: sqlite3.Connection, since_ns: int = 0) -> Iterator[tuple[int, float, int, int]]:
    """(series_id, sum of increments, first seen, last time) per series and minute, as placed
    by the counting rules. Since a time: from the minute that holds it (whole minutes)."""
    if since_ns <= 0:
        return conn.execute("SELECT series_id, inc, first_ns, last_ns FROM point_minutes")
    return conn.execute(
        "SELECT series_id, inc, first_ns, last_ns FROM point_minutes WHERE minute >= ?",
        (since_ns // counting.MINUTE_NS,),
    )


def event_groups(conn: sqlite3.Connection, since_ns: int = 0) -> Iterator[tuple[str, str, str, str, int, int, int]]:
    """(session, user, name, detail, count, first, last).

    Everything: from the rollup. Since a time: the whole UTC days after the one that holds it
    from the rollup too (the same counts, written in the same transaction as the raw events,
    and a few rows per session and day instead of every event: a 30-day window over a million
    events is read in a fraction of the time), and that first, partial day from the raw events
    at or after ``since_ns``. When retention has emptied that day (before ``swept_day``: it
    cuts at a day boundary), it is counted whole from the rollup."""
    if since_ns <= 0:
        return conn.execute(
            "SELECT session, MAX(user_id), name, detail, SUM(n), MIN(first_ns), MAX(last_ns) FROM event_rollup "
            "GROUP BY session, name, detail"
        )
    first_day = since_ns // DAY_NS
    whole_from = first_day if first_day < swept_day(conn) else first_day + 1
    rollup = conn.execute(
        "SELECT session, MAX(user_id), name, detail, SUM(n), MIN(first_ns), MAX(last_ns) FROM event_rollup "
        "WHERE day >= ? GROUP BY session, name, detail",
        (whole_from,),
    )
    if whole_from == first_day:
        return rollup
    return itertools.chain(
        conn.execute(
            "SELECT session, MAX(user_id), name, detail, COUNT(*), MIN(t_ns), MAX(t_ns) FROM events "
            "WHERE t_ns >= ? AND t_ns < ? GROUP BY session, name, detail",
            (since_ns, whole_from * DAY_NS),
        ),
        rollup,
    )


def recent_events(conn: sqlite3.Connection, limit: int, since_ns: int = 0) -> list[tuple[int, str, str, dict]]:
    """Newest first: (t_ns, session, name, attrs)."""
    rows = conn.execute(
        "SELECT e.t_ns, e.session, e.name, e.attrs, r.attrs FROM events e LEFT JOIN resources r "
        "ON r.id = e.resource_id WHERE e.t_ns >= ? ORDER BY e.t_ns DESC, e.id DESC LIMIT ?",
        (since_ns, limit),
    )
    return [(t, s, n, _merge(res, a)) for t, s, n, a, res in rows]


def api_requests_since(conn: sqlite3.Connection, since_ns: int) -> list[tuple[int, str, dict]]:
    """API calls made since ``since_ns`` (the events_api index), oldest first:
    (t_ns, session, attrs). The provisional-cost ledger is rebuilt from these."""
    rows = conn.execute(
        "SELECT t_ns, session, attrs FROM events WHERE name = 'api_request' AND t_ns >= ? ORDER BY t_ns, id",
        (since_ns,),
    ).fetchall()
    return [(t, s, json.loads(a)) for t, s, a in rows]


def recent_latencies(conn: sqlite3.Connection, limit: int, since_ns: int = 0) -> list[float]:
    """The newest API requests' ``duration_ms``, oldest first (the events_api index)."""
    rows = conn.execute(
        "SELECT json_extract(attrs, '$.duration_ms') FROM events WHERE name = 'api_request' AND t_ns >= ? "
        "ORDER BY t_ns DESC, id DESC LIMIT ?",
        (since_ns, limit),
    ).fetchall()
    out = []
    for (d,) in reversed(rows):
        v = as_float(d)
        if v is not None:  # absent, not a number or not finite ("inf" kept as text): no latency
            out.append(v)
    return out


def session_events(conn: sqlite3.Connection, session: str, limit: int = 5000) -> list[tuple[int, str, dict]]:
    """A session's events in time order: (t_ns, name, attrs)."""
    rows = conn.execute(
        "SELECT e.t_ns, e.name, e.attrs, r.attrs FROM events e LEFT JOIN resources r ON r.id = e.resource_id "
        "WHERE e.session = ? ORDER BY e.t_ns, e.id LIMIT ?",
        (session, limit),
    )
    return [(t, n, _merge(res, a)) for t, n, a, res in rows]


def session_cost_points(conn: sqlite3.Connection, session: str) -> list[tuple[int, float]]:
    """A session's cost increments in time order: (end_ns, usd)."""
    return conn.execute(
        "SELECT p.end_ns, SUM(p.inc) FROM points p JOIN series s ON s.id = p.series_id "
        "WHERE s.session = ? AND s.metric = 'claude_code.cost.usage' GROUP BY p.end_ns ORDER BY p.end_ns",
        (session,),
    ).fetchall()


def session_interactions(conn: sqlite3.Connection, session: str) -> list[tuple[int, int]]:
    """(start_ns, end_ns) of a session's ``claude_code.interaction`` spans (one per prompt; only
    with Claude Code's tracing beta), in time order."""
    return conn.execute(
        "SELECT start_ns, end_ns FROM spans WHERE session = ? AND name = 'claude_code.interaction' ORDER BY start_ns",
        (session,),
    ).fetchall()


def _merge(resource_json: str | None, attrs_json: str) -> dict:
    attrs = json.loads(attrs_json)
    if resource_json:
        return {**json.loads(resource_json), **attrs}
    return attrs


# What Claude Code hands its statusLine command (``ccmon statusline`` POSTs it to the
# receiver, see model/limits_store.py): the newest JSON per session, and plan use (the 5 h and
# 7 d windows of a claude.ai subscription) each time it changes, per account where known.
SCHEMA += """
CREATE TABLE IF NOT EXISTS statusline_sessions (
    session TEXT PRIMARY KEY,
    t_ns INTEGER NOT NULL,
    account TEXT NOT NULL,
    json TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS plan_use (
    t_ns INTEGER NOT NULL,  -- first seen with these figures
    last_ns INTEGER NOT NULL,  -- last seen with them (a reading is written only on change)
    account TEXT NOT NULL,
    session TEXT NOT NULL,
    five_hour_pct REAL,
    five_hour_resets_at INTEGER,
    seven_day_pct REAL,
    seven_day_resets_at INTEGER
);
CREATE INDEX IF NOT EXISTS plan_use_t ON plan_use (t_ns);
"""
