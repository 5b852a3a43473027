"""`model.over_time.build` reads the window's per-minute increments in key order and sums a
series' minutes per 15-minute slot itself: many points per series, minute and slot, several
metrics, sessions, users and models, against a reference that sums the points directly."""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccmon.model import over_time
from ccmon.model.store import Store
from ccmon.model.types import Batch, Point

COST, TOKENS, LINES = "claude_code.cost.usage", "claude_code.token.usage", "claude_code.lines_of_code.count"
# (metric, type, session, user, model): sessions s0 and s1 belong to u1, s2 to u2.
SERIES = (
    (COST, None, "s0", "u1", "m1"),
    (COST, None, "s0", "u1", "m2"),
    (COST, None, "s1", "u1", "m2"),
    (COST, None, "s2", "u2", "m1"),
    (TOKENS, "input", "s0", "u1", "m1"),
    (TOKENS, "output", "s1", "u1", "m2"),
    (TOKENS, "cacheRead", "s2", "u2", "m1"),
    (LINES, "added", "s1", "u1", None),
    (LINES, "removed", "s2", "u2", None),
)
HOUR = 3_600_000_000_000
# Two days ago at a whole hour: in the past and within the store's horizon.
BASE = (time.time_ns() // HOUR - 48) * HOUR


def _key(by: str, session: str, user: str, model: str | None, t: int) -> str:
    if by == "day":
        return dt.datetime.fromtimestamp(t / 1e9).strftime("%Y-%m-%d")
    return {"session": session, "user": user, "model": model or "unknown"}[by]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        # seconds after BASE (26 h: several local days, many points per minute and slot), series, value
        st.tuples(st.integers(0, 26 * 3600), st.integers(0, len(SERIES) - 1), st.integers(1, 5000)),
        min_size=1,
        max_size=120,
        unique_by=lambda x: (x[0], x[1]),
    )
)
def test_totals_per_key_against_the_points(tmp_path_factory, points):
    store = Store(tmp_path_factory.mktemp("slots") / "s.db", retention_days=0)
    batch = Batch("metrics")
    for sec, i, v in points:
        metric, kind, session, user, model = SERIES[i]
        attrs = {"session.id": session, "user.id": user}
        if kind:
            attrs["type"] = kind
        if model:
            attrs["model"] = model
        t = BASE + sec * 1_000_000_000
        value = v / 1000 if metric == COST else float(v)
        batch.points.append(Point(metric, f"series-{i}", attrs, t - 1, t, value, False))
    store.ingest(batch)
    try:
        for by in ("day", "session", "user", "model"):
            ref: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
            ref_sessions: dict[str, set[str]] = defaultdict(set)
            for sec, i, v in points:
                metric, kind, session, user, model = SERIES[i]
                t = BASE + sec * 1_000_000_000
                col = "cost_usd" if metric == COST else kind if metric == TOKENS else f"lines_{kind}"
                k = _key(by, session, user, model, t)
                ref[k][col] += v / 1000 if metric == COST else v
                ref_sessions[k].add(session)
            data = over_time.build(store._read, BASE - HOUR, BASE + 27 * HOUR, by)
            rows = {r["key"]: r for r in data["rows"]}
            assert set(rows) == set(ref), by
            for k, r in rows.items():
                assert r["cost_usd"] == pytest.approx(ref[k]["cost_usd"], abs=1e-9)
                assert r["tokens"] == {t: int(ref[k][t]) for t in ("input", "output", "cacheRead", "cacheCreation")}
                assert (r["lines_added"], r["lines_removed"]) == (
                    int(ref[k]["lines_added"]),
                    int(ref[k]["lines_removed"]),
                )
                assert r["sessions"] == len(ref_sessions[k])
            total_cost = sum(v / 1000 for _, i, v in points if SERIES[i][0] == COST)
            assert data["summary"]["cost_usd"] == pytest.approx(total_cost, abs=1e-9)
            assert data["summary"]["sessions"] == len({SERIES[i][2] for _, i, _ in points})
            # Each session's span: its first and last point (first: the point's start, 1 ns before).
            spans = {s["session"]: s["minutes"] for s in data["top_sessions"]}
            for session, minutes in spans.items():
                ts = [BASE + sec * 1_000_000_000 for sec, i, _ in points if SERIES[i][2] == session]
                assert minutes == round((max(ts) - (min(ts) - 1)) / 6e10, 3)
    finally:
        store.close()
