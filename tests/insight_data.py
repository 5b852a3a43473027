"""Synthetic Claude Code exports for the insight tests: OTLP protobuf requests built the way
2.1.330 shapes them (event attributes, delta Sum metrics), with whatever attributes a case
needs (repository, agent, skill, cache lifetimes, gaps). Real request bytes: tests send them
over a real socket to a real receiver."""

from __future__ import annotations

from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.metrics.v1.metrics_pb2 import AGGREGATION_TEMPORALITY_DELTA

RESOURCE = {"service.name": "claude-code", "service.version": "2.1.330", "os.type": "linux", "host.arch": "amd64"}
USER = "u-1"
MIN_NS = 60_000_000_000
T0 = 1_795_500_000_000_000_000  # 2026-11-24 06:00 UTC


def _value(v: Any) -> AnyValue:
    if isinstance(v, bool):
        return AnyValue(bool_value=v)
    if isinstance(v, int):
        return AnyValue(int_value=v)
    if isinstance(v, float):
        return AnyValue(double_value=v)
    return AnyValue(string_value=str(v))


def _kvs(attrs: dict[str, Any]) -> list[KeyValue]:
    return [KeyValue(key=k, value=_value(v)) for k, v in attrs.items()]


def logs(events: list[tuple[int, str, dict[str, Any]]]) -> bytes:
    """One logs export: ``(t_ns, event name, attributes)``; session.id etc. go in the attributes."""
    req = ExportLogsServiceRequest()
    rl = req.resource_logs.add()
    rl.resource.attributes.extend(_kvs(RESOURCE))
    sl = rl.scope_logs.add()
    sl.scope.name = "com.anthropic.claude_code.events"
    for t, name, attrs in events:
        r = sl.log_records.add()
        r.time_unix_nano = t
        r.observed_time_unix_nano = t
        r.body.string_value = f"claude_code.{name}"
        r.attributes.extend(_kvs({"user.id": USER, "event.name": name, **attrs}))
    return req.SerializeToString()


def metrics(points: list[tuple[str, float, dict[str, Any], int, int]]) -> bytes:
    """One metrics export of delta Sum points: ``(metric, value, attributes, start_ns, end_ns)``."""
    req = ExportMetricsServiceRequest()
    rm = req.resource_metrics.add()
    rm.resource.attributes.extend(_kvs(RESOURCE))
    sm = rm.scope_metrics.add()
    sm.scope.name = "com.anthropic.claude_code"
    for name, value, attrs, start, end in points:
        m = sm.metrics.add()
        m.name = name
        m.unit = "USD" if name.endswith("cost.usage") else "tokens"
        m.sum.aggregation_temporality = AGGREGATION_TEMPORALITY_DELTA
        m.sum.is_monotonic = True
        dp = m.sum.data_points.add()
        dp.start_time_unix_nano = start
        dp.time_unix_nano = end
        dp.as_double = value
        dp.attributes.extend(_kvs({"user.id": USER, **attrs}))
    return req.SerializeToString()


class Session:
    """Builds one session's events (numbered with event.sequence) and matching metrics."""

    def __init__(self, sid: str, **common: Any) -> None:
        self.sid = sid
        self.common = common  # e.g. vcs.* attributes on every event and point
        self.seq = 0
        self.events: list[tuple[int, str, dict[str, Any]]] = []
        self.points: list[tuple[str, float, dict[str, Any], int, int]] = []

    def event(self, t: int, name: str, **attrs: Any) -> None:
        self.events.append((t, name, {"session.id": self.sid, "event.sequence": self.seq, **self.common, **attrs}))
        self.seq += 1

    def request(
        self,
        t: int,
        prompt: str,
        cost: float,
        *,
        tokens=(100, 50, 1000, 200),
        cw5=None,
        cw1h=None,
        model: str = "claude-opus-5-5",
        metric: bool = True,
        metric_attrs: dict | None = None,
        **attrs: Any,
    ) -> None:
        """An api_request event and, unless ``metric`` is False, the cost.usage and token.usage
        points Claude Code would export for it."""
        inp, out, cr, cw = tokens
        extra = {}
        if cw5 is not None:
            extra["cache_creation_5m_tokens"] = cw5
        if cw1h is not None:
            extra["cache_creation_1h_tokens"] = cw1h
        self.event(
            t,
            "api_request",
            **{
                "prompt.id": prompt,
                "model": model,
                "input_tokens": inp,
                "output_tokens": out,
                "cache_read_tokens": cr,
                "cache_creation_tokens": cw,
                "cost_usd": cost,
                "duration_ms": 1000,
                "ttft_ms": 300,
                **extra,
                **attrs,
            },
        )
        if metric:
            mattrs = {"session.id": self.sid, "model": model, **self.common, **(metric_attrs or {})}
            for k in ("query_source", "effort", "agent.name", "skill.name", "plugin.name", "mcp_server.name"):
                if k in attrs and k not in mattrs:
                    mattrs[k] = attrs[k]
            self.points.append(("claude_code.cost.usage", cost, mattrs, t - 1000, t))
            for typ, n in zip(("input", "output", "cacheRead", "cacheCreation"), tokens, strict=False):
                self.points.append(("claude_code.token.usage", float(n), {**mattrs, "type": typ}, t - 1000, t))
