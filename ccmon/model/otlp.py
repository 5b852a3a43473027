"""OTLP export requests (already parsed protobuf messages) to Points, Events and Spans.

Pure functions. They read messages by field name only, so this module imports neither
protobuf nor grpc: ``ingest`` owns bytes and wire formats, this module owns meaning.
"""

from __future__ import annotations

from typing import Any

from .names import canonical
from .types import LOGS, METRICS, TRACES, Batch, Event, Point, Span
from .values import attributes

_DELTA = 1  # AggregationTemporality: 1 delta, 2 cumulative, 0 unspecified


class DecodeError(ValueError):
    """A request that parsed but cannot mean anything (reported to the client as 400)."""


_MAX_NS = 2**63 - 1  # SQLite integers are signed 64-bit; OTLP times are fixed64


def _ns(v: int) -> int:
    if v > _MAX_NS:
        raise DecodeError(f"timestamp {v} is out of range (after year 2262)")
    return int(v)


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


def decode_metrics(req: Any) -> Batch:
    """ExportMetricsServiceRequest -> Batch of Points.

    Sums keep their temporality. A gauge is a running value, so it is treated as cumulative
    with one epoch (start 0): the newest value wins. Histograms contribute their count and
    sum as two sums (``name.count``, ``name.sum``). Summaries and exponential histograms are
    counted in ``skipped``: nothing Claude Code sends uses them.
    """
    out = Batch(METRICS)
    for rm in req.resource_metrics:
        resource = attributes(rm.resource.attributes)
        rkey = canonical(resource)
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                kind = m.WhichOneof("data")
                if kind == "sum":
                    # UNSPECIFIED (0) is invalid OTLP; treating it as cumulative (keep the latest) can
                    # never double count, treating it as delta could.
                    cumulative = m.sum.aggregation_temporality != _DELTA
                    for dp in m.sum.data_points:
                        _add_number(out, m.name, m.unit, resource, rkey, dp, cumulative, dp.start_time_unix_nano)
                elif kind == "gauge":
                    for dp in m.gauge.data_points:
                        _add_number(out, m.name, m.unit, resource, rkey, dp, True, 0)
                elif kind == "histogram":
                    cumulative = m.histogram.aggregation_temporality != _DELTA
                    for dp in m.histogram.data_points:
                        pattrs = attributes(dp.attributes)
                        for suffix, value in ((".count", float(dp.count)), (".sum", dp.sum)):
                            name = m.name + suffix
                            out.points.append(
                                Point(name, _series_key(name, rkey, pattrs), {**resource, **pattrs},
                                      _ns(dp.start_time_unix_nano), _ns(dp.time_unix_nano), value, cumulative, m.unit)
                            )
                else:
                    n = len(getattr(getattr(m, kind), "data_points", ())) if kind else 0
                    out.skipped += max(n, 1)
    return out


def _add_number(out: Batch, name: str, unit: str, resource: dict[str, Any], rkey: str, dp: Any,
                cumulative: bool, start_ns: int) -> None:
    value = _number(dp)
    if value is None or value != value:  # absent or NaN: nothing to count
        out.skipped += 1
        return
    pattrs = attributes(dp.attributes)
    out.points.append(
        Point(name, _series_key(name, rkey, pattrs), {**resource, **pattrs},
              _ns(start_ns), _ns(dp.time_unix_nano), value, cumulative, unit)
    )


def event_name(body: str | None, attrs: dict[str, Any]) -> str:
    """``event.name`` when present, else the body without Claude Code's prefix."""
    name = attrs.get("event.name")
    if isinstance(name, str) and name:
        return name
    if body:
        return body.removeprefix("claude_code.")
    return "log"


def decode_logs(req: Any, received_ns: int = 0) -> Batch:
    """Log records to Events; a record with neither time nor observed time gets ``received_ns``."""
    out = Batch(LOGS)
    for rl in req.resource_logs:
        resource = attributes(rl.resource.attributes)
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
        for ss in rs.scope_spans:
            for sp in ss.spans:
                out.spans.append(
                    Span(sp.name, sp.trace_id.hex(), sp.span_id.hex(), sp.parent_span_id.hex(),
                         _ns(sp.start_time_unix_nano), _ns(sp.end_time_unix_nano),
                         {**resource, **attributes(sp.attributes)}, int(sp.status.code), resource)
                )
    return out


DECODERS = {METRICS: decode_metrics, LOGS: decode_logs, TRACES: decode_traces}
