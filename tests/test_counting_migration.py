"""A database written by the release with schema 2 opens in this one: migrated, not discarded.

tests/data/schema2/ccmon.db was written by that release itself (see make.py there): real
captured exports, a day cut in two by its retention sweep, and the two rows it stored but
could not count (an infinite token delta that crashed the dashboard on every start, and an
event attribute that became JSON ``Infinity`` and broke every query on the events table).
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from otlp_client import capture

from ccmon.ingest.payload import decode
from ccmon.model import db
from ccmon.model.store import Store, rebuild
from ccmon.model.summary import report_dict
from ccmon.model.types import Batch, Event

DATA = Path(__file__).parent / "data" / "schema2"
S = 1_000_000_000
NOW = 1_795_463_910 * S  # the time make.py wrote it at
DAY = 86_400 * S


@pytest.fixture
def old_db(tmp_path) -> Path:
    path = tmp_path / "ccmon.db"
    shutil.copy(DATA / "ccmon.db", path)
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone() == ("2",)
    conn.close()
    return path


def expected() -> dict:
    return json.loads((DATA / "expected.json").read_text())


def test_the_store_migrates_and_counts_exactly_what_the_old_release_did(old_db):
    st = Store(old_db, retention_days=30, clock=lambda: NOW)
    got = report_dict(st.snapshot(NOW))
    want = expected()
    # The old release's figures for everything it could count; the event whose attribute was
    # Infinity is still one API request (its duration kept as text, so no latency from it).
    assert got["cost_usd"] == want["cost_usd"] == 0.2962729
    assert got["tokens"] == want["tokens"]  # the +Inf token delta is not counted ...
    assert got["api_requests"] == want["api_requests"] + 1 == 11
    assert got["events"] == {**want["events"], "api_request": 11}
    # latencies come from the raw events still stored; the "inf" one is text, not a latency
    conn = st._conn
    durations = sorted(
        d
        for (d,) in conn.execute("SELECT json_extract(attrs, '$.duration_ms') FROM events WHERE name = 'api_request'")
        if isinstance(d, (int, float))
    )
    # the 8 from the captures: the cut day is wholly in the rollup now (its raw rows swept)
    assert durations == [20, 21, 26, 33, 54, 60, 119, 3509]
    assert got["latency_ms"] == {"p50": 33.0, "p95": 3509.0}
    assert {k: got[k] for k in ("lines", "commits", "edit_decisions", "cost_by_model", "active_time_s")} == {
        k: want[k] for k in ("lines", "commits", "edit_decisions", "cost_by_model", "active_time_s")
    }
    # the session of the quarantined +Inf delta had nothing else: it has no row
    # ("old" also got the Infinity event, later)
    assert got["sessions"] == [
        {**s, "last_seen": "2026-11-23T19:58:20.000Z"} if s["session_id"] == "old" else s for s in want["sessions"]
    ]
    json.dumps(got, allow_nan=False)  # strict JSON
    assert conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone() == (str(db.SCHEMA_VERSION),)
    # ... but it is kept, in quarantine, not deleted
    (row,) = conn.execute("SELECT tbl, row FROM quarantine").fetchall()
    assert row[0] == "points" and json.loads(row[1])[3] == "inf"
    assert conn.execute("SELECT COUNT(*) FROM events WHERE json_valid(attrs) = 0").fetchone() == (0,)
    (attrs,) = conn.execute("SELECT attrs FROM events WHERE seq = 3 AND session = 'old'").fetchone()
    assert json.loads(attrs)["duration_ms"] == "inf"
    st.close()
    # and again after a restart on the migrated file
    st = Store(old_db, retention_days=30, clock=lambda: NOW)
    assert report_dict(st.snapshot(NOW)) == got
    st.close()


def test_migration_keeps_dedupe_keys_and_the_cut_day(old_db):
    st = Store(old_db, retention_days=30, clock=lambda: NOW)
    conn = st._conn
    # every stored event got its key: re-sent, the captured exports add nothing, nor does the
    # event whose raw row this start-up's sweep just removed (its key is kept)
    before = report_dict(st.snapshot(NOW))
    for e in capture("2.1.197", "grpc/all"):
        st.ingest(decode(e.signal, e.body))
    a = {"session.id": "old", "user.id": "u1", "event.name": "api_request", "event.sequence": 2, "duration_ms": 20}
    st.ingest(
        Batch(
            "logs",
            events=[
                Event(
                    "api_request",
                    (NOW - 30 * DAY) // DAY * DAY + 22 * 3600 * S,
                    a,
                    "claude_code.api_request",
                    {"service.name": "claude-code"},
                )
            ],
        )
    )
    assert report_dict(st.snapshot(NOW)) == before
    # the day the old sweep cut in two is counted whole from the rollup, not half from raw rows
    cut_day = (NOW - 30 * DAY) // DAY
    assert db.swept_day(conn) == cut_day + 1
    since = cut_day * DAY + 1
    snap = rebuild(conn, since).aggs.snapshot(0, st.status(), NOW)
    assert dict(snap.events_by_name)["api_request"] == 11  # both events of the cut day
    st.close()


def test_report_reads_an_old_database_directly(old_db):
    """`ccmon report` opens read-only; an old database is migrated once, then read."""
    out = subprocess.run(
        [sys.executable, "-m", "ccmon", "report", "--json", "--db", str(old_db)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert "Infinity" not in out.stdout and "NaN" not in out.stdout
    data = json.loads(out.stdout)
    assert data["cost_usd"] == 0.2962729 and data["tokens"] == expected()["tokens"]
    assert data["api_requests"] == 11


def test_a_newer_schema_is_refused_not_rewritten(old_db):
    conn = sqlite3.connect(old_db)
    conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema'")
    conn.commit()
    conn.close()
    with pytest.raises(db.SchemaError, match="schema 99"):
        Store(old_db)
    with pytest.raises(db.SchemaError, match="schema 99"):
        db.connect(old_db, readonly=True)
