"""The counting rules one by one, on the pure functions of ccmon/model/counting.py and on the
store where a rule needs its state (README: "What ccmon counts, exactly")."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccmon.model import counting, names
from ccmon.model.aggregate import Aggregates
from ccmon.model.series import describe
from ccmon.model.snapshot import SourceStatus
from ccmon.model.store import Store
from ccmon.model.types import Batch, Event

S = 1_000_000_000
MIN = counting.MINUTE_NS
DAY = counting.DAY_NS
T0 = 1_795_435_200 * S  # 2026-11-23 09:20 UTC


@pytest.mark.parametrize(
    "value,monotonic,why",
    [
        (float("inf"), False, "not a finite number"),
        (float("-inf"), False, "not a finite number"),
        (float("nan"), True, "not a finite number"),
        (1e308, False, "beyond"),
        (-2e15, False, "beyond"),
        (-0.5, True, "negative value -0.5 on a monotonic sum"),
    ],
)
def test_values_that_cannot_be_counted_say_why(value, monotonic, why):
    assert why in counting.refuse_value(value, monotonic=monotonic)


@pytest.mark.parametrize("value,monotonic", [(0.0, True), (1e15, True), (-3.0, False), (2.5e-9, True)])
def test_values_that_can_be_counted(value, monotonic):
    assert counting.refuse_value(value, monotonic=monotonic) is None


def test_only_monotonic_sums_keep_a_claude_code_name():
    assert counting.counter_name(names.COST, counting.SUM) == names.COST
    assert counting.counter_name(names.COST, counting.GAUGE) == "claude_code.cost.usage (gauge)"
    assert counting.counter_name("claude_code.commit", counting.HISTOGRAM) == "claude_code.commit (histogram)"
    assert counting.counter_name("queue.depth", counting.GAUGE) == "queue.depth"  # not ours: as sent
    assert counting.kept_apart("claude_code.cost.usage (gauge)") and not counting.kept_apart(names.COST)


def test_a_lower_cumulative_value_is_a_reset_counted_from_zero():
    assert counting.cumulative_increment(5.0, None) == 5.0
    assert counting.cumulative_increment(7.5, 5.0) == 2.5
    assert counting.cumulative_increment(2.0, 7.5) == 2.0  # reset
    assert counting.cumulative_increment(7.5, 7.5) == 0.0


def test_claude_codes_resources():
    assert counting.is_claude({"service.name": "claude-code"}, [])
    assert counting.is_claude({"service.name": "claude-code-desktop"}, ["x"])
    assert counting.is_claude({"service.name": "wrapper"}, ["claude_code.cost.usage"])
    assert not counting.is_claude({"service.name": "checkout"}, ["http.requests", None])
    assert not counting.is_claude({}, [])


def test_time_stamps_too_far_ahead_or_too_old_are_placed_at_arrival():
    assert counting.placed(T0 + 5 * MIN, T0) == T0 + 5 * MIN
    assert counting.placed(T0 + 5 * MIN + 1, T0) == T0
    assert counting.placed(T0 - 30 * DAY, T0) == T0 - 30 * DAY
    assert counting.placed(T0 - 30 * DAY - 1, T0) == T0
    assert counting.placed(T0 - 2 * DAY, T0, horizon_ns=DAY) == T0
    assert counting.placement(0, counting.MAX_NS, 2.0, T0, spread=True) == [(T0, T0, 2.0)]


def test_a_first_cumulative_value_is_spread_over_its_interval():
    start = T0 - 3 * MIN - 30 * S  # 3.5 minutes before T0, which is on a minute boundary
    parts = counting.placement(start, T0, 7.0, T0, spread=True)
    assert [(f // S, t // MIN, round(p, 12)) for f, t, p in parts] == [
        (start // S, T0 // MIN - 4, 1.0),
        ((T0 - 3 * MIN) // S, T0 // MIN - 3, 2.0),
        ((T0 - 2 * MIN) // S, T0 // MIN - 2, 2.0),
        ((T0 - MIN) // S, T0 // MIN - 1, 2.0),
    ]
    # not spread: one piece at the end, first seen at the start
    assert counting.placement(start, T0, 7.0, T0, spread=False) == [(start, T0, 7.0)]
    # per minute over the interval's last 24 hours, per hour before that
    parts = counting.placement(T0 - 5 * DAY, T0, 5.0, T0, spread=True)
    assert len(parts) == 4 * 24 + 24 * 60
    assert {round(p, 12) for _, _, p in parts[:96]} == {round(5.0 / (5 * 24), 12)}
    assert {round(p, 11) for _, _, p in parts[96:]} == {round(5.0 / (5 * 24 * 60), 11)}


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 3 * DAY),
    st.integers(1, 2 * DAY),
    st.floats(0, 1e15),
    st.integers(-40 * DAY, 10 * MIN),
    st.booleans(),
)
def test_placement_keeps_every_amount_and_one_piece_per_minute(start_before, length, amount, arrival_offset, spread):
    end = T0
    start = end - start_before if start_before else 0
    parts = counting.placement(start, end, amount, end + arrival_offset, spread=spread)
    assert math.isclose(sum(p for _, _, p in parts), amount, rel_tol=1e-9, abs_tol=1e-9)
    minutes = [t // MIN for _, t, _ in parts]
    assert len(set(minutes)) == len(minutes)
    assert all(f <= t and p >= -1e-6 for f, t, p in parts)


def test_burn_counts_complete_minutes_only():
    per_minute = {m: 0.10 for m in range(T0 // MIN - 70, T0 // MIN + 1)}  # $6.00/h, this minute too
    for second in (0, 1, 30, 59):
        now = T0 + second * S
        assert counting.burn(per_minute, now, 5) == pytest.approx(6.0)
        assert counting.burn(per_minute, now, 60) == pytest.approx(6.0)
    assert counting.burn({T0 // MIN: 100.0}, T0 + 59 * S, 5) == 0.0  # the partial minute waits


def test_an_event_key_is_the_record_not_the_dict_order():
    a = counting.event_key(T0, "api_request", "s", None, {"x": 1, "y": "2"}, '{"service.name":"claude-code"}')
    b = counting.event_key(T0, "api_request", "s", None, {"y": "2", "x": 1}, '{"service.name":"claude-code"}')
    c = counting.event_key(T0, "api_request", "s", None, {"y": "2", "x": 2}, '{"service.name":"claude-code"}')
    assert a == b != c
    assert counting.event_key(T0, "n", "s", 3, {"x": 1}, "{}") == counting.event_key(T0, "n", "s", 3, {"x": 2}, "{}")


def test_aggregates_never_add_a_value_that_is_not_finite():
    """The guard for every source (the Prometheus poller feeds add_point too)."""
    aggs = Aggregates()
    info = describe(names.COST, {"session.id": "s", "model": "m"})
    for v in (float("inf"), float("nan"), 0.5):
        aggs.add_point(info, T0, v)
    snap = aggs.snapshot(0, SourceStatus("otlp", ""), T0)
    assert snap.cost_total == 0.5 and snap.cost_today == 0.5


def test_one_stray_future_minute_does_not_empty_the_rates():
    aggs = Aggregates()
    info = describe(names.COST, {"session.id": "s", "model": "m"})
    for m in range(T0 // MIN - 30, T0 // MIN):
        aggs.add_point(info, m * MIN, 0.1)
    aggs.add_point(info, T0 + 100 * 365 * DAY, 1.0)  # from an older release's database
    for m in range(T0 // MIN - 2000, T0 // MIN - 30):  # enough new minutes to prune
        aggs.add_point(info, m * MIN, 0.0)
    assert aggs.snapshot(0, SourceStatus("otlp", ""), T0).burn_5m == pytest.approx(6.0)


def _event(t: int) -> Event:
    a = {"session.id": "s1", "event.name": "api_request", "event.sequence": t // S % 1000}
    return Event("api_request", t, a, "claude_code.api_request", {"service.name": "claude-code"})


def test_retention_cuts_at_a_day_boundary_and_keeps_the_keys(tmp_path):
    now = [T0]
    st = Store(tmp_path / "c.db", retention_days=30, clock=lambda: now[0])
    cut_day = (T0 - 30 * DAY) // DAY
    early, late = cut_day * DAY + S, cut_day * DAY + DAY - S  # before and after the cutoff, one day
    st.ingest(Batch("logs", events=[_event(early), _event(late), _event(T0)]))
    assert st.sweep() == 0  # the cut day is not yet wholly past the cutoff: nothing removed
    now[0] += DAY
    assert st.sweep() == 2  # now it is, and it goes whole
    st.ingest(Batch("logs", events=[_event(early), _event(late)]))  # re-sent after their rows went
    assert st.snapshot().api_requests == 3
    st.close()
