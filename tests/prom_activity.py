"""One piece of Claude Code activity, told to both sources: as Prometheus series (remote write)
and as the OTLP cumulative exports that carry the same counters. Both must give the same
figures; the ones below are also worked out by hand.

Minute ``M`` is the minute before the one the test runs in; the poll happens at ``M:30``.
Samples never fall in minute M, M-5 or M-60, so "the last 5 (60) minutes" means the same
whether or not the current, partial minute counts::

    ended  M-200 .. M-170  one sample a minute at :17, from 0.10 $ (its first scrape already
                           held it) +0.02 $/min: 0.70 $, last seen 170 minutes ago
    reset  M-90 .. M-61    0.05 $/min from 0.05 $ to 1.50 $; the Collector restarts;
           M-59 .. M-40    0.05 $ .. 1.00 $ again: 2.50 $ in all, 1.00 $ in the last hour
    six    M-37 .. M-31    a 6-minute session at :13, 0.05 $ .. 0.65 $: 6.50 $/h, not 19.50 $/h
    new    M-4 .. M-1      started 4 minutes ago at :41, its first scrape holding 0.30 $ and
                           1,000 input tokens: 0.30, 0.40, 0.55, 0.60 $; tokens 1000, 1500,
                           2100, 2200 (input) and 100, 150, 210, 220 (output)

    burn 5m = 0.60 $ in 5 minutes = 7.20 $/h; burn 1h = 1.00 + 0.65 + 0.60 = 2.25 $/h
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.metrics.v1.metrics_pb2 import AGGREGATION_TEMPORALITY_CUMULATIVE

SONNET = "claude-sonnet-4-5-20250929"
COST = ("claude.code.cost", "claude_code.cost.usage", "claude_code_cost_usage_USD_total", "USD")
TOKENS = ("claude.code.tokens", "claude_code.token.usage", "claude_code_token_usage_tokens_total", "tokens")


@dataclass(frozen=True)
class Series:
    metric: tuple[str, str, str, str]  # (-, OTel name, Prometheus name, unit)
    labels: dict[str, str]  # Prometheus label names; OTel attributes are the dotted ones
    samples: tuple[tuple[int, float], ...]  # (unix ms, cumulative value)
    resets_at: tuple[int, ...] = ()  # indexes of samples that start a new epoch


def minute_of(at_s: int) -> int:
    return at_s // 60 - 1


def activity(m: int) -> list[Series]:
    """The series, ``m`` being minute M (unix minutes)."""

    def at(minute: int, second: int) -> int:
        return (minute * 60 + second) * 1000

    def labels(sid: str, **extra: str) -> dict[str, str]:
        return {"session_id": sid, "user_id": f"u-{sid}", "model": SONNET, "team": "platform", **extra}

    out = [
        Series(COST, labels("ended"), tuple((at(m - 200 + k, 17), round(0.10 + 0.02 * k, 10)) for k in range(31))),
        Series(
            COST,
            labels("reset"),
            tuple((at(m - 90 + k, 17), round(0.05 * (k + 1), 10)) for k in range(30))
            + tuple((at(m - 59 + k, 17), round(0.05 * (k + 1), 10)) for k in range(20)),
            resets_at=(30,),
        ),
        Series(COST, labels("six"), tuple((at(m - 37 + k, 13), round(0.05 + 0.10 * k, 10)) for k in range(7))),
        Series(COST, labels("new"), tuple((at(m - 4 + k, 41), v) for k, v in enumerate((0.30, 0.40, 0.55, 0.60)))),
        Series(
            TOKENS,
            labels("new", type="input"),
            tuple((at(m - 4 + k, 41), v) for k, v in enumerate((1000.0, 1500.0, 2100.0, 2200.0))),
        ),
        Series(
            TOKENS,
            labels("new", type="output"),
            tuple((at(m - 4 + k, 41), v) for k, v in enumerate((100.0, 150.0, 210.0, 220.0))),
        ),
    ]
    return out


def remote_write_series(series: list[Series]) -> list:
    return [({"__name__": s.metric[2], **s.labels}, list(s.samples)) for s in series]


_OTEL = {"session_id": "session.id", "user_id": "user.id"}


def otlp_export(series: list[Series]) -> bytes:
    """The same counters as Claude Code's cumulative OTLP export: each sample a data point of
    its series, an epoch starting at its first sample (so nothing is spread before it)."""
    req = ExportMetricsServiceRequest()
    rm = req.resource_metrics.add()
    for k, v in (("service.name", "claude-code"),):
        rm.resource.attributes.add(key=k).value.string_value = v
    sm = rm.scope_metrics.add()
    for s in series:
        metric = sm.metrics.add(name=s.metric[1], unit=s.metric[3])
        metric.sum.aggregation_temporality = AGGREGATION_TEMPORALITY_CUMULATIVE
        metric.sum.is_monotonic = True
        start = s.samples[0][0]
        for i, (t_ms, v) in enumerate(s.samples):
            if i in s.resets_at:
                start = t_ms
            dp = metric.sum.data_points.add(
                start_time_unix_nano=start * 1_000_000, time_unix_nano=t_ms * 1_000_000, as_double=v
            )
            for k, val in s.labels.items():
                dp.attributes.add(key=_OTEL.get(k, k)).value.string_value = val
    return req.SerializeToString()


def local_day(t_ms: int) -> str:
    return time.strftime("%Y-%m-%d", time.localtime(t_ms / 1000))


def spent_today(series: list[Series], at_s: int) -> float:
    """What the cost series added on the poll's local day (the reference for "today")."""
    today = local_day(at_s * 1000)
    total = 0.0
    for s in series:
        if s.metric is not COST:
            continue
        prev = None
        for t, v in s.samples:
            inc = v if prev is None or v < prev else v - prev
            prev = v
            if local_day(t) == today:
                total += inc
    return round(total, 10)
