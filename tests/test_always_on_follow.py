"""The viewer's follower (``model.follow``) against the reference: what a restart computes.

Whatever the order of exports, retries and looks at the database, a follower that read the
changes commit by commit must show exactly what ``store.rebuild`` (the restart path) shows,
and it must read only the changes (no rebuild) while its log covers them."""

from __future__ import annotations

import dataclasses
import sqlite3

from app_support import FIXED_NS, ingest_capture
from hypothesis import given, settings
from hypothesis import strategies as st

from ccmon.model import follow
from ccmon.model.aggregate import Aggregates
from ccmon.model.snapshot import SourceStatus
from ccmon.model.store import Store, rebuild

CAPTURES = (
    ("2.1.197", "grpc/all"),
    ("2.1.197", "grpc/error400"),
    ("2.1.197", "grpc/interactive"),
    ("2.1.330", "grpc/all"),
    ("2.1.330", "grpc/write_hold_delta"),
    ("2.1.330", "grpc/error529_retried"),
    ("2.1.330", "grpc/interactive"),
    ("2.1.197", "grpc/write_hold_cumulative"),
)


def _norm(x):
    """A snapshot as plain data: floats to 9 places (a follower adds per-minute deltas, the
    restart per-minute sums: the same numbers up to the last bit), unordered parts sorted."""
    if dataclasses.is_dataclass(x):
        return {f.name: _norm(getattr(x, f.name)) for f in dataclasses.fields(x)}
    if isinstance(x, float):
        return round(x, 9)
    if isinstance(x, (list, tuple)):
        return [_norm(v) for v in x]
    if isinstance(x, dict):
        return {k: _norm(v) for k, v in x.items()}
    return x


def _view(aggs: Aggregates) -> dict:
    snap = _norm(aggs.snapshot(0, SourceStatus(kind="otlp", where=""), FIXED_NS))
    snap["sessions"] = sorted(snap["sessions"], key=lambda s: s["key"])
    snap["recent_events"] = sorted(map(repr, snap["recent_events"]))
    return snap


def _restart(path) -> dict:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return _view(rebuild(conn).aggs)
    finally:
        conn.close()


@settings(max_examples=12, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(CAPTURES) - 1), st.booleans()), min_size=1, max_size=6), st.booleans())
def test_follower_equals_a_restart_whatever_the_order_of_exports_and_looks(tmp_path_factory, steps, look_first):
    path = tmp_path_factory.mktemp("follow") / "ccmon.db"
    store = Store(path, retention_days=0, clock=lambda: FIXED_NS)
    follow.install(path)
    follower = follow.Follower(path)
    aggs = Aggregates()
    try:
        loaded = look_first
        if look_first:  # a viewer that started on an empty database
            aggs = follower.apply(aggs, follower.read())
        for i, look in steps:
            ingest_capture(store, *CAPTURES[i])  # a capture sent twice is an exporter retry: counts once
            if look:
                ch = follower.read()
                assert (ch.rebuilt is None) == loaded  # after its first look, only ever the changes
                loaded = True
                aggs = follower.apply(aggs, ch)
        aggs = follower.apply(aggs, follower.read())
        assert follower.read().empty  # nothing new: nothing read
        assert _view(aggs) == _restart(path)
    finally:
        follower.close()
        store.close()


def test_follower_reads_only_what_changed(tmp_path):
    path = tmp_path / "ccmon.db"
    store = Store(path, retention_days=0, clock=lambda: FIXED_NS)
    follow.install(path)
    ingest_capture(store, "2.1.197", "grpc/all")
    follower = follow.Follower(path)
    try:
        v = follower.data_version()
        first = follower.read()
        assert first.rebuilt is not None  # the first look reads everything, once
        aggs = follower.apply(Aggregates(), first)
        assert follower.data_version() == v  # reading changed nothing
        count = "SELECT COUNT(*) FROM events"
        before = follower.conn.execute(count).fetchone()[0]
        ingest_capture(store, "2.1.197", "grpc/error400")
        assert follower.data_version() != v  # the writer's commit is seen without reading a table
        ch = follower.read()
        assert ch.rebuilt is None
        new = follower.conn.execute(count).fetchone()[0] - before
        assert new > 0 and len(ch.events) == new  # the new events, none of the older ones again
        assert {e[3] for e in ch.events} >= {"api_error"}
        aggs = follower.apply(aggs, ch)
        assert _view(aggs) == _restart(path)
        ingest_capture(store, "2.1.197", "grpc/error400")  # a retry: nothing new
        assert follower.read().empty
    finally:
        follower.close()
        store.close()


def test_a_follower_behind_the_pruned_log_reads_everything_again(tmp_path):
    path = tmp_path / "ccmon.db"
    store = Store(path, retention_days=0, clock=lambda: FIXED_NS)
    follow.install(path)
    ingest_capture(store, "2.1.197", "grpc/all")
    follower = follow.Follower(path)
    try:
        aggs = follower.apply(Aggregates(), follower.read())
        ingest_capture(store, "2.1.330", "grpc/all")
        ingest_capture(store, "2.1.197", "grpc/interactive")
        w = sqlite3.connect(path, isolation_level=None)
        top = w.execute("SELECT MAX(seq) FROM follow_minutes").fetchone()[0]
        w.execute("DELETE FROM follow_minutes WHERE seq < ?", (top,))  # what the prune trigger does, sooner
        w.close()
        ch = follower.read()
        assert ch.rebuilt is not None
        aggs = follower.apply(aggs, ch)
        assert _view(aggs) == _restart(path)
    finally:
        follower.close()
        store.close()


def test_a_database_without_the_change_log_is_followed_by_reading_it_again(tmp_path):
    """A writer from before the log (no triggers): correct, only not incremental."""
    path = tmp_path / "ccmon.db"
    store = Store(path, retention_days=0, clock=lambda: FIXED_NS)
    follower = follow.Follower(path)
    try:
        aggs = follower.apply(Aggregates(), follower.read())
        ingest_capture(store, "2.1.330", "grpc/all")
        ch = follower.read()
        assert ch.rebuilt is not None
        aggs = follower.apply(aggs, ch)
        assert _view(aggs) == _restart(path)
        assert round(aggs.cost, 7) == 0.1786872
    finally:
        follower.close()
        store.close()
