"""Each input the review found miscounted, sent over real sockets to real receivers, and what
ccmon now stores, answers and reports (README: "What ccmon counts, exactly").

Requests are built as any OTLP sender would build them (protobuf messages; OTLP/JSON for the
JSON path); the answers are read as an OTLP exporter reads them (partial_success).
"""

from __future__ import annotations

import asyncio
import time

import pytest
from app_support import started, utc, wait_for  # noqa: F401 (utc is a fixture)
from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest, ExportLogsServiceResponse
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from otlp_client import grpc_export, http_export, report

from ccmon.model import names

S = 1_000_000_000
MIN = 60 * S
DELTA, CUMULATIVE = 1, 2


def _attrs(target, d: dict) -> None:
    for k, v in d.items():
        kv = target.add(key=k)
        if isinstance(v, str):
            kv.value.string_value = v
        elif isinstance(v, float):
            kv.value.double_value = v
        else:
            kv.value.int_value = v


def metrics(
    points,
    *,
    name=names.COST,
    temporality=DELTA,
    monotonic=True,
    kind="sum",
    service="claude-code",
    session="s1",
    extra=None,
) -> ExportMetricsServiceRequest:
    """One metric with ``points`` = [(start_ns, end_ns, value), ...] for one session."""
    req = ExportMetricsServiceRequest()
    rm = req.resource_metrics.add()
    _attrs(rm.resource.attributes, {"service.name": service})
    m = rm.scope_metrics.add().metrics.add(name=name, unit="USD")
    if kind == "sum":
        m.sum.aggregation_temporality = temporality
        m.sum.is_monotonic = monotonic
        dps = m.sum.data_points
    else:
        dps = m.gauge.data_points
    for start, end, value in points:
        dp = dps.add(start_time_unix_nano=start, time_unix_nano=end, as_double=value)
        _attrs(
            dp.attributes,
            {
                "session.id": session,
                "user.id": "u1",
                "model": "claude-opus-4-8",
                **({"type": "input"} if name == names.TOKENS else {}),
                **(extra or {}),
            },
        )
    return req


def logs(records, *, service="claude-code") -> ExportLogsServiceRequest:
    """Log records = [(t_ns, event name, attrs), ...]."""
    req = ExportLogsServiceRequest()
    rl = req.resource_logs.add()
    _attrs(rl.resource.attributes, {"service.name": service})
    sl = rl.scope_logs.add()
    for t, name, attrs in records:
        rec = sl.log_records.add(time_unix_nano=t)
        rec.body.string_value = f"claude_code.{name}" if service.startswith("claude") else name
        _attrs(rec.attributes, {"session.id": "s1", "event.name": name, **attrs})
    return req


async def send(port_grpc, port_http, req, how: str):
    """Send one export; returns the response message (partial_success and all)."""
    signal = "metrics" if isinstance(req, ExportMetricsServiceRequest) else "logs"
    resp_cls = ExportMetricsServiceResponse if signal == "metrics" else ExportLogsServiceResponse
    if how == "grpc":
        raw = await asyncio.to_thread(grpc_export, port_grpc, signal, req.SerializeToString())
        return resp_cls.FromString(raw)
    json_body = how == "http-json"
    body = json_format.MessageToJson(req).encode() if json_body else req.SerializeToString()
    status, headers, raw = await asyncio.to_thread(http_export, port_http, signal, body, json_body=json_body)
    assert status == 200, raw
    if json_body:
        assert headers["content-type"] == "application/json"
        return json_format.Parse(raw, resp_cls())
    return resp_cls.FromString(raw)


HOW = ("grpc", "http-protobuf", "http-json")


def now_ns() -> int:
    return time.time_ns()


# -- Rule 1: finite numbers only ---------------------------------------------------------------


@pytest.mark.parametrize("how", HOW)
async def test_infinite_and_overflowing_values_are_refused_with_partial_success(otlp, how, tmp_path):
    t = now_ns()
    store = otlp.store
    req = metrics(
        [
            (t - 2 * S, t - S, float("inf")),
            (t - 3 * S, t - 2 * S, 1e308),
            (t - 4 * S, t - 3 * S, 1e308),
            (t - 5 * S, t - 4 * S, 0.25),
        ],
        name=names.TOKENS,
    )
    resp = await send(otlp.grpc_port, otlp.http_port, req, how)
    assert resp.partial_success.rejected_data_points == 3
    assert "not a finite number" in resp.partial_success.error_message
    assert "\n" not in resp.partial_success.error_message
    cost = await send(
        otlp.grpc_port, otlp.http_port, metrics([(t - 2 * S, t - S, float("inf")), (t - 2 * S, t - S, 0.5)]), how
    )
    assert cost.partial_success.rejected_data_points == 1
    snap = store.snapshot()
    assert snap.tokens.input == 0.25 and snap.cost_total == 0.5  # the rest of each export is stored
    # an export with nothing refused is answered with an empty response, as before
    ok = await send(otlp.grpc_port, otlp.http_port, metrics([(t - 9 * S, t - 8 * S, 0.25)]), how)
    assert not ok.HasField("partial_success")
    # the database opens again and `report --json` is strict JSON with the exact totals
    data = report(store.path)
    assert data["cost_usd"] == 0.75 and data["tokens"]["input"] == 0


async def test_non_finite_event_attributes_are_kept_as_text(otlp):
    t = now_ns()
    req = logs(
        [
            (t - S, "api_request", {"duration_ms": "1e400", "event.sequence": 1, "cost_usd": float("nan")}),
            (t, "api_request", {"duration_ms": float("inf"), "event.sequence": 2}),
        ]
    )
    resp = await send(otlp.grpc_port, otlp.http_port, req, "grpc")
    assert not resp.HasField("partial_success")  # nothing refused: the attributes are kept as text
    store = otlp.store
    events = store.session_events("s1")
    assert [(e[2]["duration_ms"], e[2].get("cost_usd")) for e in events] == [("1e400", "nan"), ("inf", None)]
    data = report(store.path)  # before: "malformed JSON", and the database could not be opened
    assert data["api_requests"] == 2 and data["latency_ms"] == {"p50": None, "p95": None}


async def test_the_dashboard_starts_on_what_once_crashed_it(otlp, tmp_path, utc):
    """Before: one +Inf token delta meant an OverflowError on every start of the dashboard."""
    from ccmon.cli import build_parser
    from ccmon.compose import make_app

    t = now_ns()
    await send(
        otlp.grpc_port,
        otlp.http_port,
        metrics(
            [
                (t - 2 * S, t - S, float("inf")),
                (t - 2 * S, t - S, 1e308),
                (t - 3 * S, t - S, 1e308),
                (t - 4 * S, t - S, 1500.0),
            ],
            name=names.TOKENS,
        ),
        "grpc",
    )
    await send(otlp.grpc_port, otlp.http_port, logs([(t, "api_request", {"duration_ms": "1e400"})]), "grpc")
    args = build_parser().parse_args(
        ["--db", str(otlp.store.path), "--grpc-port", "0", "--http-port", "0", "--retention-days", "0"]
    )
    app = make_app(args, clock=lambda: t)
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot, app)
        await wait_for(
            pilot, lambda: app.snapshot is not None and app.snapshot.tokens.input == 1500.0, "the stored tokens"
        )
        assert app.return_code is None


# -- Rule 2: monotonic means monotonic ---------------------------------------------------------


@pytest.mark.parametrize("how", HOW)
async def test_a_negative_delta_on_a_monotonic_sum_is_refused(otlp, how):
    t = now_ns()
    resp = await send(otlp.grpc_port, otlp.http_port, metrics([(t - 2 * S, t - S, 1.0), (t - S, t, -5.0)]), how)
    assert resp.partial_success.rejected_data_points == 1
    assert "negative value -5 on a monotonic sum" in resp.partial_success.error_message
    assert otlp.store.snapshot().cost_total == 1.0  # before: -4.0


async def test_a_cumulative_counter_that_goes_down_is_a_reset(otlp):
    t = now_ns()
    start = t - 10 * S
    for end, value in ((t - 3 * S, 5.0), (t - 2 * S, 2.0), (t - S, 3.5)):
        await send(otlp.grpc_port, otlp.http_port, metrics([(start, end, value)], temporality=CUMULATIVE), "grpc")
    # 5, then a reset to 2 (counted from zero: +2, as increase() does), then +1.5; before: 3.5
    assert otlp.store.snapshot().cost_total == 8.5
    assert report(otlp.store.path)["cost_usd"] == 8.5


@pytest.mark.parametrize("kind,monotonic", [("gauge", True), ("sum", False)])
async def test_only_monotonic_sums_count_as_cost(otlp, kind, monotonic):
    t = now_ns()
    await send(
        otlp.grpc_port,
        otlp.http_port,
        metrics([(t - S, t, 7.0)], kind=kind, monotonic=monotonic, temporality=CUMULATIVE),
        "grpc",
    )
    snap = otlp.store.snapshot()
    assert snap.cost_total == 0.0 and snap.sessions == ()
    label = "gauge" if kind == "gauge" else "non-monotonic sum"
    assert dict(otlp.store.aggs.other_metrics) == {f"{names.COST} ({label})": 7.0}


# -- Rule 3: Claude Code's data, and the rest ---------------------------------------------------


async def test_another_service_never_becomes_sessions_requests_or_cost(otlp):
    t = now_ns()
    for how in HOW:
        await send(
            otlp.grpc_port,
            otlp.http_port,
            metrics([(t - S, t, 3.0)], name="http.requests", service="checkout", session="phantom"),
            how,
        )
        await send(
            otlp.grpc_port, otlp.http_port, logs([(t, "api_request", {"event.sequence": 1})], service="checkout"), how
        )
    # a gauge named like Claude Code's cost (a claude_code.* name: Claude Code's data by rule 3)
    # is not a counter (rule 2): kept as "other", not cost, no session
    await send(otlp.grpc_port, otlp.http_port, metrics([(t - S, t, 9.0)], kind="gauge", service="checkout"), "grpc")
    snap = otlp.store.snapshot()
    assert (snap.cost_total, snap.sessions, snap.api_requests) == (0.0, (), 0)
    assert snap.other_telemetry == 6  # 3 metric points + 3 log records
    assert dict(otlp.store.aggs.other_metrics) == {f"{names.COST} (gauge)": 9.0}
    data = report(otlp.store.path)
    assert (data["cost_usd"], data["sessions"], data["api_requests"], data["other_telemetry"]) == (0.0, [], 0, 6)


# -- Rules 4 and 5: time and rates --------------------------------------------------------------


async def test_burn_rates_count_complete_minutes_and_survive_a_future_point(tmp_path):
    """A steady $6.00/h ($0.10 every minute) reads $6.00/h at every second of a minute (before:
    $4.80/h for part of each minute); a point stamped in 2100 does not blank the rates after a
    restart, and its value is in the total."""
    from otlp_client import ServeProcess

    db = tmp_path / "ccmon.db"
    serve = ServeProcess(db, "--retention-days", "0")
    try:
        t = now_ns()
        m = t // MIN
        points = [(i * MIN, i * MIN + 1, 0.10) for i in range(m - 90, m + 1)]  # through the current minute
        await send(serve.grpc_port, serve.http_port, metrics(points), "grpc")
        await send(serve.grpc_port, serve.http_port, metrics([(0, 4_102_444_800 * S, 1.0)], session="s2"), "grpc")
    finally:
        assert serve.stop() == 0
    serve = ServeProcess(db, "--retention-days", "0")  # a restart: totals rebuilt from the database
    try:
        data = report(db)
        assert data["burn_usd_per_hour"] == {"5m": 6.0, "1h": 6.0}
        assert data["cost_usd"] == 10.1
        assert data["today_usd"] <= data["cost_usd"]
    finally:
        assert serve.stop() == 0


async def test_a_cumulative_backlog_is_spread_over_its_interval(otlp):
    """ccmon started three hours after Claude Code: the first cumulative value ($3.00) grew over
    those three hours ($1.00/h), so the burn reads $1.00/h, not $36/h from one minute."""
    t = now_ns()
    m = t // MIN
    start, end = (m - 180) * MIN, m * MIN
    await send(otlp.grpc_port, otlp.http_port, metrics([(start, end, 3.0)], temporality=CUMULATIVE), "grpc")
    snap = otlp.store.snapshot(now_ns=end + 30 * S)
    assert snap.burn_5m == pytest.approx(1.0, rel=1e-9) and snap.burn_1h == pytest.approx(1.0, rel=1e-9)
    # the chart's 60 minutes end with the current one (no backlog in it): 59 minutes of $3/180
    assert sum(snap.cost_per_minute) == pytest.approx(59 * 3.0 / 180, rel=1e-9)
    assert max(snap.cost_per_minute) == pytest.approx(3.0 / 180, rel=1e-9)
    assert snap.cost_total == pytest.approx(3.0, rel=1e-12)
    # the next value is growth since the last one: placed at its own end
    await send(otlp.grpc_port, otlp.http_port, metrics([(start, end + 30 * S, 3.5)], temporality=CUMULATIVE), "grpc")
    snap = otlp.store.snapshot(now_ns=end + 40 * S)
    assert snap.cost_per_minute[-1] == pytest.approx(0.5) and snap.cost_total == pytest.approx(3.5, rel=1e-12)


# -- Rule 6: once only ---------------------------------------------------------------------------


@pytest.mark.parametrize("how", HOW)
async def test_a_resent_record_without_sequence_counts_once(otlp, how):
    t = now_ns()
    req = logs([(t, "api_request", {"duration_ms": 12}), (t, "api_request", {"duration_ms": 13})])
    for _ in range(3):
        await send(otlp.grpc_port, otlp.http_port, req, how)
    assert otlp.store.snapshot().api_requests == 2  # two different records, each once


async def test_dedupe_keys_outlive_retention_and_since_keeps_the_cut_day(tmp_path):
    """An event 40 days old is swept by the 30-day retention at the next start; sent again, it
    still counts once. `--since` across the cutoff counts the cut day once, whole."""
    from otlp_client import ServeProcess

    db = tmp_path / "ccmon.db"
    t = now_ns()
    old = logs([(t - 40 * 86400 * S, "api_request", {"duration_ms": 1})])
    recent = logs([(t - 3600 * S, "api_request", {"duration_ms": 2})])
    # the day the 30-day cutoff falls in: one event before the cutoff, one after (before: the
    # sweep removed the first and `--since` then counted that day from raw rows: 1, not 2)
    cutoff = t - 30 * 86400 * S
    day_start = cutoff // (86400 * S) * 86400 * S
    # (the first a minute into the day where the cutoff allows: `--since` below is counted from
    # the report process's own clock, which starts a moment after this test computes it)
    first = day_start + min(60 * S, (cutoff - day_start) // 2)
    cut_day = logs([(first, "user_prompt", {}), (cutoff + (day_start + 86400 * S - cutoff) // 2, "user_prompt", {})])
    serve = ServeProcess(db, "--retention-days", "30")
    try:
        await send(serve.grpc_port, serve.http_port, old, "grpc")
        await send(serve.grpc_port, serve.http_port, recent, "http-json")
        await send(serve.grpc_port, serve.http_port, cut_day, "grpc")
    finally:
        assert serve.stop() == 0
    serve = ServeProcess(db, "--retention-days", "30")  # start-up sweeps the old raw row
    try:
        import sqlite3

        conn = sqlite3.connect(db)
        # the 40-day-old row is gone; the cut day is kept whole (retention cuts at day boundaries)
        assert conn.execute("SELECT COUNT(*) FROM events").fetchone() == (3,)
        conn.close()
        await send(serve.grpc_port, serve.http_port, old, "grpc")  # re-sent after its row is gone
        await send(serve.grpc_port, serve.http_port, recent, "http-protobuf")
        assert report(db)["api_requests"] == 2
        assert report(db, "--since", "45d")["api_requests"] == 2
        assert report(db, "--since", "2d")["api_requests"] == 1
        since_s = (time.time_ns() - day_start) // S  # from the cut day's start (within a second)
        assert report(db, "--since", f"{since_s}s")["events"]["user_prompt"] == 2
    finally:
        assert serve.stop() == 0


@pytest.mark.parametrize("how", HOW)
async def test_kinds_ccmon_does_not_use_are_reported_as_partial_success(otlp, how):
    t = now_ns()
    req = metrics([(t - S, t, 0.5)])
    summary = req.resource_metrics[0].scope_metrics[0].metrics.add(name="claude_code.latency")
    summary.summary.data_points.add(time_unix_nano=t, count=3, sum=1.5)
    resp = await send(otlp.grpc_port, otlp.http_port, req, how)
    assert resp.partial_success.rejected_data_points == 1
    assert "kind ccmon does not use" in resp.partial_success.error_message
    assert otlp.store.snapshot().cost_total == 0.5


async def test_spans_from_another_service_are_other_telemetry(otlp):
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    req = ExportTraceServiceRequest()
    for service, span in (("checkout", "GET /cart"), ("claude-code", "claude_code.tool")):
        rs = req.resource_spans.add()
        _attrs(rs.resource.attributes, {"service.name": service})
        rs.scope_spans.add().spans.add(
            name=span,
            trace_id=b"\x01" * 16,
            span_id=bytes([len(service)] * 8),
            start_time_unix_nano=now_ns() - S,
            end_time_unix_nano=now_ns(),
        )
    await asyncio.to_thread(grpc_export, otlp.grpc_port, "traces", req.SerializeToString())
    import sqlite3

    conn = sqlite3.connect(otlp.store.path)
    assert conn.execute("SELECT name FROM spans").fetchall() == [("claude_code.tool",)]
    conn.close()
    assert otlp.store.snapshot().other_telemetry == 1
