"""OTLP export requests (already parsed protobuf messages) to Points, Events and Spans.

Pure functions. They read messages by field name only, so this module imports neither
protobuf nor grpc: ``ingest`` owns bytes and wire formats, this module owns meaning.
"""

from __future__ import annotations

from typing import Any

from . import counting
from .names import canonical
from .types import LOGS, METRICS, TRACES, Batch, Event, Point, Span
from .values import attributes

_DELTA = 1  # AggregationTemporality: 1 delta, 2 cumulative, 0 unspecified


class DecodeError(ValueError):
    """A request that parsed but cannot mean anything (reported to the client as 400)."""


def _ns(v: int) -> int:
    # A time past 2262 does not fit SQLite's integers; it is kept (clamped) rather than
    # losing the value: time-based figures place it at its arrival anyway (counting.placed).
    return counting.clamp_ns(int(v))


def _series_key(metric: str, resource_key: str, point: dict[str, Any]) -> str:
    """Metric name, resource and point attributes: what makes a time series one series."""
    return f"{metric}\x1f{resource_key}\x1f{canonical(point)}"


def _number(dp: Any) -> float | None:
    kind = dp.WhichOneof("value")
    if kind == "as_double":
        return dp.as_double
    if kind == "as_int":
        return float(dp.as_int)
    return None


def _data_points(m: Any) -> int:
    kind = m.WhichOneof("data")
    return len(getattr(m, kind).data_points) if kind else 0


def decode_metrics(req: Any) -> Batch:
    """ExportMetricsServiceRequest -> Batch of Points.

    Sums keep their temporality. A gauge is a running value, so it is treated as cumulative
    with one epoch (start 0): the newest value wins. Histograms contribute their count and
    sum as two sums (``name.count``, ``name.sum``). Only monotonic Sums are counters: the
    other kinds keep a Claude Code name apart (``counting.counter_name``). Summaries and
    exponential histograms are counted in ``skipped``: nothing Claude Code sends uses them.
    Values that break a counting rule are counted in ``rejected``; resources that are not
    Claude Code's in ``other``.
    """
    out = Batch(METRICS)
    for rm in req.resource_metrics:
        resource = attributes(rm.resource.attributes)
        if not counting.is_claude(resource, (m.name for sm in rm.scope_metrics for m in sm.metrics)):
            out.other += sum(_data_points(m) for sm in rm.scope_metrics for m in sm.metrics)
            continue
        rkey = canonical(resource)
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                kind = m.WhichOneof("data")
                if kind == "sum":
                    # UNSPECIFIED (0) is invalid OTLP; treating it as cumulative (keep the latest) can
                    # never double count, treating it as delta could.
                    cumulative = m.sum.aggregation_temporality != _DELTA
                    mono = m.sum.is_monotonic
                    name = counting.counter_name(m.name, counting.SUM if mono else counting.UPDOWN)
                    for dp in m.sum.data_points:
                        _add_number(out, name, m.unit, resource, rkey, dp, cumulative, dp.start_time_unix_nano, mono)
                elif kind == "gauge":
                    name = counting.counter_name(m.name, counting.GAUGE)
                    for dp in m.gauge.data_points:
                        _add_number(out, name, m.unit, resource, rkey, dp, True, 0, False)
                elif kind == "histogram":
                    cumulative = m.histogram.aggregation_temporality != _DELTA
                    for dp in m.histogram.data_points:
                        pattrs = attributes(dp.attributes)
                        for suffix, value, mono in ((".count", float(dp.count), True), (".sum", dp.sum, False)):
                            why = counting.refuse_value(value, monotonic=mono)
                            if why is not None:
                                out.refuse(f"{m.name}{suffix}: {why}")
                                continue
                            name = counting.counter_name(m.name + suffix, counting.HISTOGRAM)
                            out.points.append(
                                Point(
                                    name,
                                    _series_key(name, rkey, pattrs),
                                    {**resource, **pattrs},
                                    _ns(dp.start_time_unix_nano),
                                    _ns(dp.time_unix_nano),
                                    value,
                                    cumulative,
                                    m.unit,
                                )
                            )
                else:
                    out.skipped += max(_data_points(m), 1)
    return out


def _add_number(
    out: Batch,
    name: str,
    unit: str,
    resource: dict[str, Any],
    rkey: str,
    dp: Any,
    cumulative: bool,
    start_ns: int,
    monotonic: bool,
) -> None:
    value = _number(dp)
    if value is None:  # absent: nothing to count
        out.skipped += 1
        return
    why = counting.refuse_value(value, monotonic=monotonic)
    if why is not None:
        out.refuse(f"{name}: {why}")
        return
    pattrs = attributes(dp.attributes)
    out.points.append(
        Point(
            name,
            _series_key(name, rkey, pattrs),
            {**resource, **pattrs},
            _ns(start_ns),
            _ns(dp.time_unix_nano),
            value,
            cumulative,
            unit,
        )
    )


def event_name(body: str | None, attrs: dict[str, Any]) -> str:
    """``event.name`` when present, else the body without Claude Code's prefix."""
    name = attrs.get("event.name")
    if isinstance(name, str) and name:
        return name
    if body:
        return body.removeprefix("claude_code.")
    return "log"


def _body_text(rec: Any) -> str | None:
    if rec.HasField("body") and rec.body.WhichOneof("value") == "string_value":
        return rec.body.string_value
    return None


def decode_logs(req: Any, received_ns: int = 0) -> Batch:
    """Log records to Events; a record with neither time nor observed time gets ``received_ns``."""
    out = Batch(LOGS)
    for rl in req.resource_logs:
        resource = attributes(rl.resource.attributes)
        if not counting.is_claude(resource, (_body_text(rec) for sl in rl.scope_logs for rec in sl.log_records)):
            out.other += sum(len(sl.log_records) for sl in rl.scope_logs)
            continue
        for sl in rl.scope_logs:
            for rec in sl.log_records:
                own = attributes(rec.attributes)
                attrs = {**resource, **own}
                body = None
                if rec.HasField("body"):
                    kind = rec.body.WhichOneof("value")
                    body = rec.body.string_value if kind == "string_value" else None
                if rec.trace_id:
                    attrs.setdefault("trace_id", rec.trace_id.hex())
                    own.setdefault("trace_id", attrs["trace_id"])
                if rec.span_id:
                    attrs.setdefault("span_id", rec.span_id.hex())
                    own.setdefault("span_id", attrs["span_id"])
                t = rec.time_unix_nano or rec.observed_time_unix_nano or received_ns
                out.events.append(Event(event_name(body, attrs), _ns(t), attrs, body, resource, own))
    return out


def decode_traces(req: Any) -> Batch:
    out = Batch(TRACES)
    for rs in req.resource_spans:
        resource = attributes(rs.resource.attributes)
        if not counting.is_claude(resource, (sp.name for ss in rs.scope_spans for sp in ss.spans)):
            out.other += sum(len(ss.spans) for ss in rs.scope_spans)
            continue
        for ss in rs.scope_spans:
            for sp in ss.spans:
                out.spans.append(
                    Span(
                        sp.name,
                        sp.trace_id.hex(),
                        sp.span_id.hex(),
                        sp.parent_span_id.hex(),
                        _ns(sp.start_time_unix_nano),
                        _ns(sp.end_time_unix_nano),
                        {**resource, **attributes(sp.attributes)},
                        int(sp.status.code),
                        resource,
                    )
                )
    return out


DECODERS = {METRICS: decode_metrics, LOGS: decode_logs, TRACES: decode_traces}
