"""The counting rules against a reference model, over random export streams (hypothesis).

``Reference`` below is the README's "What ccmon counts, exactly" written as plainly as
possible: no SQLite, no rollups, no speed concerns, every point handled on its own. Random
streams mix delta and cumulative series, retries, reordering, resets, start-time changes,
non-finite, overflowing and negative values, gauges with Claude Code names, other senders,
several sessions and models, re-sent log records with and without ``event.sequence``, and
restarts of ccmon between exports. After each stream, and again after a restart on the same
database, the store's figures equal the reference's and the invariants hold.
"""

from __future__ import annotations

import math
import os
import tempfile
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

from ccmon.model import names
from ccmon.model.otlp import decode_logs, decode_metrics
from ccmon.model.store import Store

S = 1_000_000_000
MIN = 60 * S
HOUR = 60 * MIN
DAY = 24 * HOUR
SPREAD = 30 * DAY  # a first value is spread back over 30 days at most; without retention no time is too old
T0 = 1_795_435_200 * S  # 2026-11-23 09:20 UTC
CLAUDE = ("claude-code", "claude-code-desktop")

# -- the series a stream can use -------------------------------------------------------------
# (service, metric, kind, temporality, session, model, token type)
SERIES = [
    ("claude-code", names.COST, "sum", "delta", "a", "claude-opus-4-8", None),
    ("claude-code", names.COST, "sum", "cumulative", "b", "claude-opus-4-8[1m]", None),
    ("claude-code-desktop", names.COST, "sum", "delta", "c", "claude-haiku-4-5", None),
    ("claude-code", names.TOKENS, "sum", "delta", "a", "claude-opus-4-8", "input"),
    ("claude-code", names.TOKENS, "sum", "cumulative", "b", "claude-opus-4-8", "output"),
    ("", names.COST, "sum", "cumulative", "d", "claude-sonnet-4-6", None),  # no service.name: Claude by name
    ("claude-code", names.COST, "gauge", "cumulative", "a", "claude-opus-4-8", None),  # not a counter
    ("claude-code", names.COST, "non-monotonic", "delta", "a", "claude-opus-4-8", None),  # not a counter
    ("checkout", "http.server.requests", "sum", "delta", "x", "m", None),  # another sender
]
VALUES = [0.0, 0.25, 1.0, 2.5, 7.0, 0.001, 40.0, -1.0, float("inf"), float("-inf"), float("nan"), 1e308, 2e15]
END_OFFSETS = [-40 * DAY, -3 * HOUR, -10 * MIN, -61 * S, -30 * S, -S, 0, MIN, 10 * MIN, 100 * 365 * DAY]
DELTA_SPANS = [S, 59 * S, 2 * HOUR]
EPOCH_STARTS = [-3 * HOUR, -90 * S, 2 * MIN, -25 * HOUR]  # relative to T0: restarts of Claude Code


# -- the reference -------------------------------------------------------------------------------


class Reference:
    def __init__(self) -> None:
        self.cost = 0.0
        self.session_cost: dict[str, float] = defaultdict(float)
        self.tokens: dict[str, float] = defaultdict(float)
        self.model_cost: dict[str, float] = defaultdict(float)
        self.cost_minutes: dict[int, float] = defaultdict(float)  # minute -> USD placed there
        self.sessions: set[str] = set()
        self.other = 0
        self.refused = 0
        self.seen_deltas: set = set()
        self.epochs: dict = {}  # (series, start) -> (end, value)
        self.event_ids: set = set()
        self.requests: dict[str, int] = defaultdict(int)

    def point(self, series: int, start: int, end: int, value: float, arrival: int) -> None:
        service, metric, kind, temporality, session, model, ttype = SERIES[series]
        if service not in CLAUDE and not metric.startswith("claude_code."):
            self.other += 1  # rule 3
            return
        monotonic = kind == "sum"
        if math.isnan(value) or math.isinf(value) or abs(value) > 1e15 or (monotonic and value < 0):
            self.refused += 1  # rules 1 and 2
            return
        if kind != "sum":
            return  # rule 2: kept as "other", never cost or a session
        spread = False
        if temporality == "delta":
            if (series, start, end) in self.seen_deltas:
                return  # a retry (rule 6)
            self.seen_deltas.add((series, start, end))
            inc = value
        else:
            prev = self.epochs.get((series, start))
            if prev is not None and end <= prev[0]:
                return  # stale or repeated
            self.epochs[(series, start)] = (end, value)
            if prev is None:
                inc, spread = value, True
            elif value < prev[1]:
                inc = value  # a reset: counts from zero
            else:
                inc = value - prev[1]
            if inc == 0:
                return
        self.sessions.add(session)
        if metric == names.COST:
            self.cost += inc
            self.session_cost[session] += inc
            self.model_cost[names.model_group(model)] += inc
            for minute, part in self.place(start, end, inc, arrival, spread):
                self.cost_minutes[minute] += part
        else:
            self.tokens[ttype] += inc

    @staticmethod
    def place(start: int, end: int, amount: float, arrival: int, spread: bool) -> list[tuple[int, float]]:
        """Rule 4: (minute, amount) pieces."""
        if end > arrival + 5 * MIN:
            return [(arrival // MIN, amount)]
        if not spread or not 0 < start < end:
            return [(end // MIN, amount)]
        lo = max(start, arrival - SPREAD)
        if lo // MIN == end // MIN:
            return [(end // MIN, amount)]
        out = []
        # per minute over the last 24 hours of the interval ...
        by_minute = max(lo, end - DAY)
        for k in range(by_minute // MIN, (end - 1) // MIN + 1):
            covered = min(end, (k + 1) * MIN) - max(by_minute, k * MIN)
            if covered > 0:
                out.append((k, amount * covered / (end - lo)))
        # ... and per hour before that, each hour's share in its last minute
        for h in range(lo // HOUR, by_minute // HOUR + 1):
            covered = min(by_minute, (h + 1) * HOUR) - max(lo, h * HOUR)
            if covered > 0:
                out.append(((min(by_minute, (h + 1) * HOUR) - 1) // MIN, amount * covered / (end - lo)))
        return out

    def record(self, t: int, session: str, seq: int | None, duration: int, service: str) -> None:
        if service not in CLAUDE:
            self.other += 1
            return
        key = ("seq", session, seq, t) if seq is not None else ("digest", t, session, duration, service)
        if key in self.event_ids:
            return  # re-sent (rule 6)
        self.event_ids.add(key)
        self.sessions.add(session)
        self.requests[session] += 1

    # rule 5: what the dashboard shows at ``now``
    def burn(self, now: int, minutes: int) -> float:
        m = now // MIN
        return sum(self.cost_minutes.get(k, 0.0) for k in range(m - minutes, m)) * 60 / minutes

    def today(self, now: int) -> float:
        day = now // DAY  # the tests run in UTC
        return sum(v for k, v in self.cost_minutes.items() if k * MIN // DAY == day)

    def per_minute(self, now: int) -> list[float]:
        m = now // MIN
        return [self.cost_minutes.get(k, 0.0) for k in range(m - 59, m + 1)]


# -- turning a generated stream into OTLP requests ---------------------------------------------


def _kv(target, key, value) -> None:
    kv = target.add(key=key)
    if isinstance(value, int):
        kv.value.int_value = value
    else:
        kv.value.string_value = value


def metrics_request(points) -> ExportMetricsServiceRequest:
    req = ExportMetricsServiceRequest()
    for series, start, end, value in points:
        service, metric, kind, temporality, session, model, ttype = SERIES[series]
        rm = req.resource_metrics.add()
        if service:
            _kv(rm.resource.attributes, "service.name", service)
        m = rm.scope_metrics.add().metrics.add(name=metric)
        if kind == "gauge":
            dp = m.gauge.data_points.add()
        else:
            m.sum.aggregation_temporality = 1 if temporality == "delta" else 2
            m.sum.is_monotonic = kind == "sum"
            dp = m.sum.data_points.add()
        dp.start_time_unix_nano, dp.time_unix_nano, dp.as_double = start, end, value
        _kv(dp.attributes, "session.id", session)
        _kv(dp.attributes, "model", model)
        if ttype:
            _kv(dp.attributes, "type", ttype)
    return req


def logs_request(records) -> ExportLogsServiceRequest:
    req = ExportLogsServiceRequest()
    for t, session, seq, duration, service in records:
        rl = req.resource_logs.add()
        _kv(rl.resource.attributes, "service.name", service)
        rec = rl.scope_logs.add().log_records.add(time_unix_nano=t)
        rec.body.string_value = "claude_code.api_request" if service in CLAUDE else "request"
        _kv(rec.attributes, "session.id", session)
        _kv(rec.attributes, "event.name", "api_request")
        _kv(rec.attributes, "duration_ms", duration)
        if seq is not None:
            _kv(rec.attributes, "event.sequence", seq)
    return req


# -- streams ---------------------------------------------------------------------------------------


@st.composite
def points(draw):
    """(series, start, end, value) with times relative to the clock at sending (0 = arrival);
    a cumulative start is absolute: the epoch a Claude Code process began."""
    series = draw(st.integers(0, len(SERIES) - 1))
    end = draw(st.sampled_from(END_OFFSETS)) + draw(st.integers(0, 3)) * 17 * S
    if SERIES[series][3] == "delta":
        start = ("span", draw(st.sampled_from(DELTA_SPANS)))
    else:
        start = ("at", T0 + draw(st.sampled_from(EPOCH_STARTS)))
    return series, start, end, draw(st.sampled_from(VALUES))


def at_clock(items, now: int) -> list[tuple[int, int, int, float]]:
    out = []
    for series, (how, s), end, value in items:
        end += now
        out.append((series, end - s if how == "span" else s, end, value))
    return out


records = st.tuples(
    st.sampled_from([T0 - HOUR, T0, T0 + 5 * S]),
    st.sampled_from(["a", "b"]),
    st.sampled_from([None, None, 1, 2]),
    st.sampled_from([10, 20]),
    st.sampled_from(["claude-code", "claude-code", "checkout"]),
)

exports = st.one_of(
    st.tuples(st.just("metrics"), st.lists(points(), min_size=1, max_size=6)),
    st.tuples(st.just("logs"), st.lists(records, min_size=1, max_size=4)),
)
steps = st.tuples(
    exports,
    st.sampled_from([0, S, 20 * S, 61 * S, 5 * MIN]),  # how far the clock moves before it arrives
    st.sampled_from([False, False, False, True]),  # ccmon restarts before it
    st.sampled_from([False, False, True]),  # sent twice (an exporter retry)
)


@contextmanager
def utc():
    old = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    try:
        yield
    finally:
        if old is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = old
        time.tzset()


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def check(store: Store, ref: Reference, now: int) -> None:
    snap = store.snapshot(now)
    assert close(snap.cost_total, ref.cost), (snap.cost_total, ref.cost)
    assert {s.key for s in snap.sessions} == ref.sessions
    for s in snap.sessions:
        assert close(s.cost, ref.session_cost.get(s.key, 0.0)), s.key
        assert s.requests == ref.requests.get(s.key, 0), s.key
    assert {m.model for m in snap.models if m.cost} == {m for m, c in ref.model_cost.items() if c}
    for m in snap.models:
        assert close(m.cost, ref.model_cost.get(m.model, 0.0)), m.model
    assert close(snap.tokens.input, ref.tokens["input"]) and close(snap.tokens.output, ref.tokens["output"])
    assert snap.api_requests == sum(ref.requests.values())
    assert snap.other_telemetry == ref.other
    # rule 5: the dashboard's time-based figures
    assert close(snap.burn_5m, ref.burn(now, 5)) and close(snap.burn_1h, ref.burn(now, 60))
    assert close(snap.cost_today, ref.today(now))
    assert all(close(a, b) for a, b in zip(snap.cost_per_minute, ref.per_minute(now), strict=True))
    # invariants
    assert snap.cost_today <= snap.cost_total + 1e-9
    assert snap.burn_5m >= 0 and snap.burn_1h >= 0 and min(snap.cost_per_minute) >= -1e-12
    assert all(math.isfinite(x) for x in (snap.cost_total, snap.cost_today, snap.burn_5m, snap.burn_1h))


@settings(
    max_examples=int(os.environ.get("CCMON_PROPERTY_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.lists(steps, min_size=1, max_size=10))
def test_store_equals_the_reference_model(stream):
    ref = Reference()
    clock = [T0]
    refused = 0
    with utc(), tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ccmon.db"
        store = Store(path, retention_days=0, clock=lambda: clock[0])
        try:
            for (signal, items), advance, restart, twice in stream:
                clock[0] += advance
                if restart:
                    store.close()
                    store = Store(path, retention_days=0, clock=lambda: clock[0])
                for _ in range(2 if twice else 1):
                    if signal == "metrics":
                        # times relative to the clock (reordering: a later export may carry
                        # older times than an earlier one)
                        moved = at_clock(items, clock[0])
                        batch = decode_metrics(metrics_request(moved))
                        for p in moved:
                            ref.point(*p, arrival=clock[0])
                    else:
                        batch = decode_logs(logs_request(items), clock[0])
                        for r in items:
                            ref.record(*r)
                    refused += batch.rejected
                    store.ingest(batch)
            assert refused == ref.refused  # every refused value was answered as such
            check(store, ref, clock[0])
            check(store, ref, clock[0] + 90 * S)  # a minute and a half later: the rates move on
            store.close()
            store = Store(path, retention_days=0, clock=lambda: clock[0])  # the same after a restart
            check(store, ref, clock[0])
        finally:
            store.close()


# -- retention, re-sends and --since: never drop or double a day ---------------------------------

event_steps = st.lists(
    st.tuples(
        st.integers(0, 9),  # the event's day, counted back from the clock
        st.integers(0, 86_399),  # its second in that day
        st.sampled_from([None, 7]),  # event.sequence
        st.integers(0, 30),  # how many hours the clock moves on after it (a sweep runs each time)
    ),
    min_size=1,
    max_size=25,
)


@settings(
    max_examples=int(os.environ.get("CCMON_PROPERTY_EXAMPLES", "60")) // 2,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(event_steps, st.lists(st.integers(0, 12 * 86_400), min_size=1, max_size=6), st.sampled_from([1, 3, 7]))
def test_since_and_retention_never_drop_or_double_a_day(steps, since_ago_s, retention_days):
    from ccmon.model.store import rebuild

    clock = [T0]  # the retention cutoff moves through the events' days as the clock goes on
    sent: dict[tuple, int] = {}  # identity -> time: every distinct record ever sent
    with utc(), tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "ccmon.db", retention_days=retention_days, clock=lambda: clock[0])
        try:
            for day, second, seq, advance in steps:
                t = (clock[0] // DAY - day) * DAY + second * S
                rec = (t, "a", seq, 10, "claude-code")
                store.ingest(decode_logs(logs_request([rec]), clock[0]))
                sent[(t, seq)] = t
                clock[0] += advance * HOUR
                store.sweep()
            store.ingest(decode_logs(logs_request([(t, "a", seq, 10, "claude-code") for t, seq in sent]), clock[0]))
            assert store.snapshot().api_requests == len(sent)  # re-sent after retention: still once
            conn = store._conn
            counts = []
            for ago in sorted(since_ago_s):
                since = clock[0] - ago * S
                n = rebuild(conn, since).aggs.api_requests
                at_or_after = sum(1 for t in sent.values() if t >= since)
                same_day_or_after = sum(1 for t in sent.values() if t // DAY >= since // DAY)
                assert at_or_after <= n <= same_day_or_after, (since, n)  # nothing dropped, nothing doubled
                counts.append(n)
            assert counts == sorted(counts)  # an earlier --since never counts less
        finally:
            store.close()
