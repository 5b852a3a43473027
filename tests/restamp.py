"""Captured exports moved in time: a capture replayed "now" (alerts and budgets look at the
current day and the last minutes), or into a chosen day (reports over time)."""

from __future__ import annotations

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from otlp_client import Export


def newest_ns(exports: list[Export]) -> int:
    """The latest timestamp in a capture's protobuf exports."""
    best = 0
    for e in exports:
        req = _parse(e)
        if req is None:
            continue
        for t in _times(e.signal, req):
            best = max(best, t)
    return best


def _parse(e: Export):
    if e.json:
        return None
    if e.signal == "metrics":
        return ExportMetricsServiceRequest.FromString(e.body)
    if e.signal == "logs":
        return ExportLogsServiceRequest.FromString(e.body)
    return None


def _times(signal: str, req):
    if signal == "metrics":
        for rm in req.resource_metrics:
            for sm in rm.scope_metrics:
                for m in sm.metrics:
                    for dp in _points(m):
                        yield dp.time_unix_nano
    else:
        for rl in req.resource_logs:
            for sl in rl.scope_logs:
                for rec in sl.log_records:
                    yield rec.time_unix_nano


def _points(m):
    kind = m.WhichOneof("data")
    return getattr(m, kind).data_points if kind else ()


def shift(e: Export, by_ns: int, edit=None) -> bytes:
    """The export's body with every timestamp moved by ``by_ns`` (protobuf captures only).
    ``edit(record)`` may change each log record (e.g. mark a tool call as failed)."""
    req = _parse(e)
    if req is None:
        raise ValueError("only protobuf metrics and logs captures can be moved")
    if e.signal == "metrics":
        for rm in req.resource_metrics:
            for sm in rm.scope_metrics:
                for m in sm.metrics:
                    for dp in _points(m):
                        if dp.start_time_unix_nano:
                            dp.start_time_unix_nano += by_ns
                        dp.time_unix_nano += by_ns
    else:
        for rl in req.resource_logs:
            for sl in rl.scope_logs:
                for rec in sl.log_records:
                    if rec.time_unix_nano:
                        rec.time_unix_nano += by_ns
                    if rec.observed_time_unix_nano:
                        rec.observed_time_unix_nano += by_ns
                    if edit is not None:
                        edit(rec)
    return req.SerializeToString()


def moved(exports: list[Export], to_ns: int, edit=None) -> list[tuple[str, bytes]]:
    """(signal, body) for each protobuf export, the capture's newest moment put at ``to_ns``."""
    by = to_ns - newest_ns(exports)
    return [(e.signal, shift(e, by, edit)) for e in exports if not e.json and e.signal in ("metrics", "logs")]


def set_attr(rec, key: str, value) -> None:
    for kv in rec.attributes:
        if kv.key == key:
            if isinstance(value, bool):
                kv.value.bool_value = value
            else:
                kv.value.string_value = str(value)
            return
