"""A second real client: the OpenTelemetry Python SDK's OTLP exporters, gRPC and HTTP, delta
and cumulative, recording known values the way Claude Code names them."""

from __future__ import annotations

import asyncio

import pytest
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import Counter, MeterProvider
from opentelemetry.sdk.metrics.export import AggregationTemporality, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource

from ccmon.model.summary import report_dict

RESOURCE = Resource.create({"service.name": "claude-code", "service.version": "sdk-test", "team": "platform"})


def _exporters(protocol: str, port: int, temporality: AggregationTemporality):
    pref = {Counter: temporality}
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter

        return (
            OTLPMetricExporter(endpoint=f"127.0.0.1:{port}", insecure=True, preferred_temporality=pref),
            OTLPLogExporter(endpoint=f"127.0.0.1:{port}", insecure=True),
        )
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

    return (
        OTLPMetricExporter(endpoint=f"http://127.0.0.1:{port}/v1/metrics", preferred_temporality=pref),
        OTLPLogExporter(endpoint=f"http://127.0.0.1:{port}/v1/logs"),
    )


def _record(protocol: str, port: int, temporality: AggregationTemporality) -> None:
    """Two flushes: cost 0.5 then +0.25 (opus), tokens, lines; then 2 events."""
    metric_exporter, log_exporter = _exporters(protocol, port, temporality)
    reader = PeriodicExportingMetricReader(metric_exporter, export_interval_millis=3_600_000)
    meters = MeterProvider(resource=RESOURCE, metric_readers=[reader])
    meter = meters.get_meter("com.anthropic.claude_code")
    cost = meter.create_counter("claude_code.cost.usage", unit="USD")
    tokens = meter.create_counter("claude_code.token.usage", unit="tokens")
    lines = meter.create_counter("claude_code.lines_of_code.count")
    who = {"session.id": "sdk-session", "user.id": "sdk-user", "team": "platform"}
    cost.add(0.5, {**who, "model": "claude-sonnet-5[1m]"})
    tokens.add(1000, {**who, "model": "claude-sonnet-5[1m]", "type": "input"})
    tokens.add(3000, {**who, "model": "claude-sonnet-5[1m]", "type": "cacheRead"})
    meters.force_flush()
    cost.add(0.25, {**who, "model": "claude-sonnet-5[1m]"})
    cost.add(0.125, {**who, "model": "claude-haiku-4-5"})
    lines.add(7, {**who, "type": "added"})
    meters.force_flush()
    meters.force_flush()  # cumulative re-sends the same totals here; delta sends nothing new
    meters.shutdown()

    logs = LoggerProvider(resource=RESOURCE)
    logs.add_log_record_processor(SimpleLogRecordProcessor(log_exporter))
    logger = logs.get_logger("com.anthropic.claude_code.events")
    logger.emit(
        body="claude_code.api_request",
        attributes={
            **who,
            "event.name": "api_request",
            "event.sequence": 0,
            "model": "claude-sonnet-5",
            "duration_ms": "250",
            "cost_usd": 0.5,
        },
    )
    logger.emit(
        body="claude_code.api_error",
        attributes={**who, "event.name": "api_error", "event.sequence": 1, "status_code": "529", "attempt": 2},
    )
    logs.shutdown()


@pytest.mark.parametrize("protocol", ["grpc", "http"])
@pytest.mark.parametrize(
    "temporality", [AggregationTemporality.DELTA, AggregationTemporality.CUMULATIVE], ids=["delta", "cumulative"]
)
async def test_sdk_exporters_give_exact_totals(otlp, protocol, temporality):
    port = otlp.grpc_port if protocol == "grpc" else otlp.http_port
    await asyncio.to_thread(_record, protocol, port, temporality)
    # The api_request event was logged after the last metric export: no metric point has counted
    # it, so it is provisional (the dashboard adds it, marked; the report lists it apart).
    r = report_dict(otlp.store.snapshot(include_provisional=False))
    assert r["provisional"] == {
        "included": False,
        "cost_usd": 0.5,
        "tokens": {"input": 0, "output": 0, "cacheRead": 0, "cacheCreation": 0},
        "api_calls": 1,
    }
    assert report_dict(otlp.store.snapshot())["cost_usd"] == 1.375
    assert r["cost_usd"] == 0.875
    assert r["cost_by_model"] == {"claude-sonnet-5": 0.75, "claude-haiku-4-5": 0.125}
    assert r["tokens"] == {"input": 1000, "output": 0, "cacheRead": 3000, "cacheCreation": 0}
    assert r["cache_ratio"] == 0.75
    assert r["lines"] == {"added": 7, "removed": 0}
    assert r["events"] == {"api_request": 1, "api_error": 1}
    assert r["api_errors"] == {"529": 1} and r["retries"] == 1
    assert r["latency_ms"]["p50"] == 250.0
    (s,) = r["sessions"]
    assert (s["session_id"], s["user_id"], s["cost_usd"]) == ("sdk-session", "sdk-user", 0.875)
    snap = otlp.store.snapshot()
    assert ("team", "platform") in snap.sessions[0].labels
