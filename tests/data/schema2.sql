-- The database schema of ccmon schema version 2 (the release before the counting rules),
-- copied verbatim from ccmon/model/db.py at that release: tests/test_counting_migration.py
-- builds a database exactly as that release did and opens it with this one.
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
-- event.sequence counts up per process, so (session, seq, time, name) is unique for Claude
-- Code's events: a re-sent log export is ignored. Rows without a sequence never collide.
-- Leading with session, it also serves a session's drill-down (no second index to maintain).
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
