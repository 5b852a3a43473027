"""Temporality, dedupe, persistence, rebuild and retention, on the store directly."""

from __future__ import annotations

import sqlite3

import pytest

from ccmon.model import names
from ccmon.model.names import canonical
from ccmon.model.store import Store, rebuild
from ccmon.model.summary import report_dict
from ccmon.model.types import Batch, Event, Point

S = 1_000_000_000
T0 = 1_795_000_000 * S  # a fixed 2026 instant


def cost(
    value: float,
    start: int,
    end: int,
    *,
    cumulative: bool = False,
    session: str = "s1",
    model: str = "claude-opus-4-8[1m]",
) -> Point:
    attrs = {"session.id": session, "user.id": "u1", "model": model}
    return Point(names.COST, f"{names.COST}\x1f{{}}\x1f{canonical(attrs)}", attrs, start, end, value, cumulative, "USD")


def batch(*points: Point, events: tuple[Event, ...] = ()) -> Batch:
    return Batch("metrics" if points else "logs", list(points), list(events))


@pytest.fixture
def store(tmp_path):
    st = Store(tmp_path / "c.db", retention_days=0, clock=lambda: T0 + 3600 * S)
    yield st
    st.close()


def test_deltas_add_up_and_a_retried_delta_counts_once(store):
    store.ingest(batch(cost(0.25, T0, T0 + S)))
    store.ingest(batch(cost(0.5, T0 + S, T0 + 2 * S)))
    store.ingest(batch(cost(0.25, T0, T0 + S)))  # exporter retry: same series, start, end
    assert store.snapshot().cost_total == 0.75


def test_same_delta_window_on_another_series_is_not_a_retry(store):
    store.ingest(batch(cost(0.25, T0, T0 + S, session="a"), cost(0.25, T0, T0 + S, session="b")))
    assert store.snapshot().cost_total == 0.5


def test_cumulative_keeps_latest_per_epoch_and_adds_a_new_epoch(store):
    for i, total in enumerate([1.0, 1.0, 2.5, 2.5]):  # re-sent every tick with the same start
        store.ingest(batch(cost(total, T0, T0 + (i + 1) * S, cumulative=True)))
    assert store.snapshot().cost_total == 2.5
    store.ingest(batch(cost(2.0, T0, T0 + 2 * S, cumulative=True)))  # stale (older end): ignored
    assert store.snapshot().cost_total == 2.5
    store.ingest(batch(cost(0.5, T0 + 10 * S, T0 + 11 * S, cumulative=True)))  # restart: new start
    store.ingest(batch(cost(0.75, T0 + 10 * S, T0 + 12 * S, cumulative=True)))
    assert store.snapshot().cost_total == 3.25


def test_per_minute_buckets_get_the_increment_not_the_running_total(store):
    store.ingest(batch(cost(1.0, T0, T0 + 30 * S, cumulative=True)))
    store.ingest(batch(cost(1.5, T0, T0 + 90 * S, cumulative=True)))
    snap = store.snapshot(now_ns=T0 + 90 * S)
    assert sum(snap.cost_per_minute) == 1.5
    assert snap.cost_per_minute[-1] == 0.5


def test_restart_rebuilds_the_same_totals_and_temporality_state(tmp_path):
    path = tmp_path / "c.db"
    st = Store(path, retention_days=0)
    st.ingest(batch(cost(1.0, T0, T0 + S, cumulative=True), cost(0.2, T0, T0 + S, session="d")))
    before = report_dict(st.snapshot())
    st.close()
    st2 = Store(path, retention_days=0)
    assert report_dict(st2.snapshot()) == before
    # the epoch survived: the same cumulative total again adds nothing, growth adds the difference
    st2.ingest(batch(cost(1.0, T0, T0 + 2 * S, cumulative=True)))
    st2.ingest(batch(cost(1.3, T0, T0 + 3 * S, cumulative=True)))
    st2.ingest(batch(cost(0.2, T0, T0 + S, session="d")))  # retry of a delta from before restart
    assert st2.snapshot().cost_total == pytest.approx(1.5)
    st2.close()


def test_models_group_and_keep_raw_labels(store):
    store.ingest(batch(cost(1.0, T0, T0 + S), cost(2.0, T0, T0 + S, model="claude-opus-4-8")))
    (row,) = store.snapshot().models
    assert row.model == "claude-opus-4-8" and row.cost == 3.0
    assert row.raw == ("claude-opus-4-8", "claude-opus-4-8[1m]")


def test_failed_commit_counts_nothing_and_leaves_state_clean(store):
    store.ingest(batch(cost(1.0, T0, T0 + S, cumulative=True)))
    store._conn.execute("CREATE TRIGGER boom BEFORE INSERT ON points BEGIN SELECT RAISE(ABORT, 'disk says no'); END")
    with pytest.raises(sqlite3.IntegrityError, match="disk says no"):
        store.ingest(batch(cost(2.0, T0, T0 + 2 * S, cumulative=True)))
    store._conn.execute("DROP TRIGGER boom")
    assert store.snapshot().cost_total == 1.0
    store.ingest(batch(cost(2.0, T0, T0 + 2 * S, cumulative=True)))  # the client's retry
    assert store.snapshot().cost_total == 2.0


def _event(t: int, name: str = "api_request", seq: int | None = 0, **attrs) -> Event:
    a = {"session.id": "s1", "user.id": "u1", "event.name": name, **attrs}
    if seq is not None:
        a["event.sequence"] = seq
    return Event(name, t, a, f"claude_code.{name}", {"service.name": "claude-code"})


def test_a_resent_log_export_counts_each_event_once(store):
    evs = (_event(T0, seq=0, duration_ms=100), _event(T0 + S, name="api_error", seq=1, status_code=529, attempt=2))
    store.ingest(batch(events=evs))
    store.ingest(batch(events=evs))
    snap = store.snapshot()
    assert dict(snap.events_by_name) == {"api_request": 1, "api_error": 1}
    assert dict(snap.api_errors) == {"529": 1} and snap.retries == 1
    assert snap.latency_p50_ms == 100


def test_events_without_sequence_count_once_per_distinct_record(store):
    # No event.sequence: the record's identity is a digest of its time, name, attributes and
    # resource. Two different records at the same instant are two; the same record re-sent is one.
    a, b = _event(T0, seq=None, duration_ms=5), _event(T0, seq=None, duration_ms=6)
    store.ingest(batch(events=(a, b)))
    store.ingest(batch(events=(a, b)))
    assert dict(store.snapshot().events_by_name) == {"api_request": 2}


def test_retention_rolls_old_events_up_and_keeps_their_counts(tmp_path):
    path = tmp_path / "c.db"
    now = T0 + 40 * 86400 * S
    st = Store(path, retention_days=30, clock=lambda: now)
    st.ingest(
        batch(
            cost(1.0, T0, T0 + S),
            events=(
                _event(T0, seq=0),
                _event(T0 + S, name="api_error", seq=1, status_code=400),
                _event(now - S, seq=2),
            ),
        )
    )
    st.close()
    st = Store(path, retention_days=30, clock=lambda: now)  # start-up applies retention
    raw = st._conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    assert raw == 1
    snap = st.snapshot()
    assert dict(snap.events_by_name) == {"api_request": 2, "api_error": 1}
    assert dict(snap.api_errors) == {"400": 1}
    assert snap.cost_total == 1.0  # metric increments are kept for good
    st.close()


def test_since_limits_the_rebuild(tmp_path):
    path = tmp_path / "c.db"
    st = Store(path, retention_days=0, clock=lambda: T0 + 7300 * S)
    st.ingest(
        batch(
            cost(1.0, T0, T0 + S),
            cost(2.0, T0 + 7200 * S, T0 + 7201 * S),
            events=(_event(T0, seq=0), _event(T0 + 7200 * S, seq=1)),
        )
    )
    st.close()
    conn = sqlite3.connect(path)
    snap = rebuild(conn, since_ns=T0 + 3600 * S).aggs.snapshot(0, st.status())
    assert snap.cost_total == 2.0 and dict(snap.events_by_name) == {"api_request": 1}


def test_schema_mismatch_is_a_clear_error(tmp_path):
    from ccmon.model.db import SchemaError

    path = tmp_path / "c.db"
    Store(path).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value='99' WHERE key='schema'")
    conn.commit()
    conn.close()
    with pytest.raises(SchemaError, match="schema 99"):
        Store(path)


def test_rollups_and_raw_rows_rebuild_the_same_totals(tmp_path):
    """Start-up reads the per-minute and per-day rollups; `report --since` reads raw rows. Both
    must say the same for the same data."""
    from otlp_client import capture

    from ccmon.ingest.payload import decode

    path = tmp_path / "c.db"
    st = Store(path, retention_days=0)
    for version, folder in (
        ("2.1.197", "grpc/all"),
        ("2.1.197", "grpc/interactive"),
        ("2.1.330", "grpc/write_hold_cumulative"),
        ("2.1.330", "grpc/error400_persistent"),
    ):
        for e in capture(version, folder):
            st.ingest(decode(e.signal, e.body))
    live = report_dict(st.snapshot())
    st.close()
    conn = sqlite3.connect(path)
    from_rollups = report_dict(rebuild(conn, 0).aggs.snapshot(0, st.status()))
    from_raw = report_dict(rebuild(conn, 1).aggs.snapshot(0, st.status()))
    assert from_rollups == live
    assert {**from_raw, "since": None} == live
    assert live["cost_usd"] == round(0.2367105 + 0.19725875 + 0.0595624, 10)
