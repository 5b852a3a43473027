"""``model.ranged`` against a small reference model: runs placed at random moments, a random
range; the range's totals (and its per-day rows) hold exactly the runs inside it, and
``compose`` takes each figure from the snapshot whose window it has."""

from __future__ import annotations

import dataclasses
import datetime as dt
import tempfile
from pathlib import Path

import pytest
from app_support import utc  # noqa: F401  (fixture: per-day keys are local days)
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from otlp_client import capture
from restamp import _parse, _times, moved, newest_ns

from ccmon.ingest.payload import decode
from ccmon.model.ranged import LIVE_FIELDS, Query, compose, per_day, snapshot_since
from ccmon.model.snapshot import Snapshot, SourceStatus, Tokens
from ccmon.model.store import Store

_MIN = 60_000_000_000
_DAY = 1440 * _MIN
NOW = 1_795_463_910_000_000_000 // _DAY * _DAY + 12 * 60 * _MIN  # a noon (UTC)
RUNS = (  # distinct sessions, each within one export interval or a few minutes
    (("2.1.197", "grpc/all"), 0.2367105),
    (("2.1.330", "grpc/all"), 0.1786872),
    (("2.1.197", "grpc/interactive"), 0.19725875),
    (("2.1.330", "grpc/interactive"), 0.0893436),
    (("2.1.330", "grpc/error400"), 0.0297812),
)
SPAN = {}  # each capture's first to last time stamp
for what, _ in RUNS:
    exports = capture(*what)
    stamps = [t for e in exports if (req := _parse(e)) is not None for t in _times(e.signal, req) if t]
    SPAN[what] = newest_ns(exports) - min(stamps)
STATUS = SourceStatus(kind="otlp", where="")
pytestmark = pytest.mark.usefixtures("utc")


def _day(t_ns: int) -> str:
    return dt.datetime.fromtimestamp(t_ns / 1e9, dt.UTC).date().isoformat()


@settings(max_examples=25, deadline=None)
@given(
    ends=st.lists(st.integers(1, 40 * 1440), min_size=1, max_size=5),  # minutes before NOW
    back=st.integers(1, 35 * 1440),  # the range's start, minutes before NOW
)
def test_a_range_holds_exactly_the_runs_inside_it(ends, back):
    since = NOW - back * _MIN
    placed = []
    for (what, usd), end_min in zip(RUNS, ends, strict=False):
        end = NOW - end_min * _MIN
        start = end - SPAN[what]
        assume(start >= since or end < since)  # a run wholly inside or wholly before the range
        assume(_day(start) == _day(end))  # and on one day
        placed.append((what, usd, start, end))
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "ccmon.db"
        store = Store(path, retention_days=0, clock=lambda: NOW)
        try:
            for what, _, _, end in placed:
                for signal, body in moved(capture(*what), end):
                    store.ingest(decode(signal, body))
            snap = Query(path).run(snapshot_since, since, NOW, STATUS)
            days = Query(path).run(per_day, since, NOW)
        finally:
            store.close()
    inside = [(usd, end) for _, usd, start, end in placed if start >= since]
    assert round(snap.cost_total, 9) == round(sum(u for u, _ in inside), 9)
    assert len(snap.sessions) == len(inside)
    assert snap.last_ns == max((e for _, e in inside), default=0) or not inside
    want: dict[str, list[float]] = {}
    for usd, end in inside:
        want.setdefault(_day(end), []).append(usd)
    assert [(r["key"], round(r["cost_usd"], 9), r["sessions"]) for r in days["rows"]] == [
        (k, round(sum(v), 9), len(v)) for k, v in sorted(want.items())
    ]


def test_compose_takes_each_figure_from_its_window():
    live = Snapshot(
        version=7,
        now_ns=NOW,
        status=SourceStatus(kind="otlp", where="live"),
        cost_total=10.0,
        cost_today=2.0,
        burn_5m=1.5,
        burn_1h=0.5,
        cost_per_minute=(0.1, 0.2),
        tokens=Tokens(100, 50),
        tokens_last_minute=Tokens(1, 2),
        tokens_per_minute=(3.0,),
        commits=9,
        other_telemetry=4,
    )
    ranged = Snapshot(version=0, now_ns=NOW - 5, status=STATUS, cost_total=3.0, tokens=Tokens(7, 8), commits=1)
    out = compose(live, ranged, "7 d")
    assert out.range_name == "7 d"
    for f in dataclasses.fields(Snapshot):
        if f.name == "range_name":
            continue
        source = live if f.name in LIVE_FIELDS else ranged
        assert getattr(out, f.name) == getattr(source, f.name), f.name
    assert (out.cost_total, out.cost_today, out.tokens, out.commits) == (3.0, 2.0, Tokens(7, 8), 1)


ENDED: list[BaseException] = []  # what stopped _forever


def _forever(conn) -> int:
    """A statement that never ends by itself."""
    sql = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT COUNT(*) FROM c"
    try:
        return conn.execute(sql).fetchone()[0]
    except BaseException as exc:
        ENDED.append(exc)
        raise


async def test_a_cancelled_computation_interrupts_sqlite(tmp_path):
    """The app quitting (or a range abandoned) cancels the task; the thread's query stops at once
    instead of running on (and holding up the process' exit)."""
    import asyncio
    import sqlite3
    import time

    from ccmon.ingest.ranged import off_loop

    path = tmp_path / "ccmon.db"
    Store(path, retention_days=0).close()
    task = asyncio.ensure_future(off_loop(path, _forever))
    await asyncio.sleep(0.3)
    assert not task.done() and not ENDED
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    end = time.monotonic() + 10
    while not ENDED and time.monotonic() < end:
        await asyncio.sleep(0.02)
    assert len(ENDED) == 1 and isinstance(ENDED[0], sqlite3.OperationalError) and "interrupt" in str(ENDED[0])
    query = Query(path)
    query.interrupt()  # before it runs: it does not start
    with pytest.raises(sqlite3.OperationalError, match="interrupted"):
        query.run(_forever)
