"""The decoded forms every source produces and the store consumes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Signals, as OTLP names them; also the keys of the per-signal receive counters.
METRICS = "metrics"
LOGS = "logs"
TRACES = "traces"


@dataclass(frozen=True, slots=True)
class Point:
    """One number from a metric export.

    ``series`` identifies the time series across exports and restarts: metric name, resource
    attributes and point attributes, canonically serialised. ``attrs`` is the merged view
    (point attributes over resource attributes) that aggregation reads.
    """

    metric: str
    series: str
    attrs: dict[str, Any]
    start_ns: int
    end_ns: int
    value: float
    cumulative: bool  # False: a delta to add. True: a running total since start_ns.
    unit: str = ""


@dataclass(frozen=True, slots=True)
class Event:
    """One OTLP log record: a Claude Code event such as ``api_request``."""

    name: str
    t_ns: int
    attrs: dict[str, Any]  # record attributes over resource attributes
    body: str | None = None
    resource: dict[str, Any] = field(default_factory=dict)  # shared by a request's records
    own: dict[str, Any] | None = None  # the record's own attributes (what is stored per event)


@dataclass(frozen=True, slots=True)
class Span:
    name: str
    trace_id: str
    span_id: str
    parent_span_id: str
    start_ns: int
    end_ns: int
    attrs: dict[str, Any]
    status_code: int = 0
    resource: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Batch:
    """Everything one export request carried, decoded.

    ``skipped`` counts what was well-formed OTLP but that ccmon cannot use (for example a
    summary metric); ``rejected`` what breaks a counting rule (a non-finite or negative
    counter value), with ``reason`` the first why. Both are answered as OTLP partial success,
    never silently dropped. ``other`` counts data points, log records and spans from senders
    that are not Claude Code: counted as "other telemetry", never as sessions or cost.
    """

    signal: str
    points: list[Point] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    spans: list[Span] = field(default_factory=list)
    skipped: int = 0
    rejected: int = 0
    reason: str = ""
    other: int = 0

    def refuse(self, why: str, n: int = 1) -> None:
        self.rejected += n
        if not self.reason:
            self.reason = why
