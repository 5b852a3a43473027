"""Polls' raw samples into the model's ``Aggregates``: the same counting and snapshot as OTLP
mode, so a pane cannot mean one thing per source (pure: no I/O, no clock).

Each series' samples become increments (``growth``), and each increment goes to
``Aggregates.add_point`` at its sample's time with a ``SeriesInfo`` derived from the series'
labels, as the OTLP store does with a cumulative point. Prometheus holds metrics, never events:
the event-derived fields of the Snapshot are None, which the panes show as "not available".
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from ...model import names
from ...model.aggregate import Aggregates
from ...model.series import SeriesInfo, describe
from ...model.snapshot import Snapshot, SourceStatus
from .fetch import Fetched
from .growth import Counters
from .naming import Naming

_MS_NS = 1_000_000
_MINUTE_MS = 60_000
_PER_MINUTE = frozenset({names.COST, names.TOKENS})
# Prometheus label -> the OTel attribute it came from, so labels read as in OTLP mode.
_OTEL_NAMES = {
    "session_id": "session.id",
    "user_id": "user.id",
    "user_email": "user.email",
    "terminal_type": "terminal.type",
    "organization_id": "organization.id",
    "user_account_uuid": "user.account_uuid",
    "service_version": "service.version",
    "app_version": "app.version",
}
# Labels that say how the series travelled, not whose session it is or what it measures.
_PIPELINE = frozenset(
    {"__name__", "job", "exported_job", "instance", "otel_scope_name", "otel_scope_version", "service_name"}
)


def session_key(labels: Mapping[str, str]) -> str:
    """``session_id``; without it (OTEL_METRICS_INCLUDE_SESSION_ID=false) a user is one row."""
    return labels.get("session_id") or f"user:{labels.get('user_id') or labels.get('user_email') or 'anonymous'}"


def series_info(family: str, labels: Mapping[str, str]) -> SeriesInfo:
    attrs = {_OTEL_NAMES.get(k, k): v for k, v in labels.items() if k not in _PIPELINE and v != ""}
    return dataclasses.replace(describe(family, attrs), session=session_key(labels))


class Variants:
    """Which label spellings the series carry, for the status bar's naming text."""

    def __init__(self) -> None:
        self.keys: set[str] = set()
        self.token_types: set[str] = set()
        self.session_jobs: set[str] = set()

    def note(self, family: str, labels: Mapping[str, str]) -> None:
        self.keys.update(k for k, v in labels.items() if v)
        if family == names.TOKENS:
            self.token_types.add(labels.get("type", ""))
        if family == names.SESSIONS:
            self.session_jobs.update(j for j in ("job", "exported_job") if labels.get(j))

    def describe(self, naming: Naming) -> str:
        if not self.keys:
            return naming.description
        k = self.keys
        parts = ["session_id" if "session_id" in k else "no session_id: one row per user"]
        users = [u for u in ("user_email", "user_id") if u in k]
        parts.append(" + ".join(users) if users else "no user label")
        tools = [t for t in ("tool_name", "tool") if t in k]
        if tools:
            parts.append(" + ".join(tools))
        spellings = sorted(self.token_types & {"cacheRead", "cache_read"})
        if spellings:
            parts.append("type=" + " + ".join(spellings))
        jobs = [j for j in ("job", "exported_job") if j in self.session_jobs]
        if jobs:
            parts.append(" + ".join(jobs))
        return f"{naming.description}; labels: {', '.join(parts)}"


class PromModel:
    """Everything counted so far from one server: polls add to it, snapshots read it."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self.aggs = Aggregates()
        self.counters = Counters()
        self.naming: Naming | None = None
        self.variants = Variants()
        self.groups: dict[str, dict[str, str]] = {}  # session -> its grouping labels (drill-down)
        self._info: dict[tuple[tuple[str, str], ...], SeriesInfo | None] = {}

    def feed(self, f: Fetched) -> bool:
        """Count one poll's samples; True when anything was new. A first poll starts over
        (the namings changed, or nothing was counted yet)."""
        if f.first:
            self._reset()
        self.naming = f.naming
        if f.naming is None:
            return f.first
        families = f.naming.family_of
        start_ms = round(f.start_s * 1000)
        for s in f.before:
            for _, v in s.points:
                self.counters.set_before(_key(s.labels), start_ms, v)
        new = False
        add = self.aggs.add_point
        for s in f.samples:
            key = _key(s.labels)
            try:
                info = self._info[key]
            except KeyError:  # a series not seen before
                family = families.get(s.label("__name__"))
                info = self._info[key] = series_info(family, s.labels) if family else None
                if family and info is not None:
                    self.variants.note(family, s.labels)
                    self.groups.setdefault(
                        info.session, {k: s.label(k) for k in ("session_id", "user_id", "user_email") if s.label(k)}
                    )
            if info is None:
                continue
            # A sample that adds nothing is skipped, as the store skips an unchanged cumulative
            # point: "last seen" is when a session last counted something in both modes, not
            # when an exporter last repeated it (a Collector keeps an idle series for minutes).
            grown = [
                g
                for g in self.counters.growth(
                    key, [p for p in ((round(t * 1000), v) for t, v in s.points) if p[0] > start_ms]
                )
                if g[1]
            ]
            if not grown:
                continue
            new = True
            if info.metric not in _PER_MINUTE:  # only adds up: one add for the poll
                add(info, grown[-1][0] * _MS_NS, sum(inc for _, inc in grown), grown[0][0] * _MS_NS)
                continue
            # Placed in time (cost, tokens): one add per minute, like the store's rollup.
            first_ms, last_ms, total = grown[0][0], grown[0][0], 0.0
            for t_ms, inc in grown:
                if t_ms // _MINUTE_MS != last_ms // _MINUTE_MS:
                    add(info, last_ms * _MS_NS, total, first_ms * _MS_NS)
                    first_ms, total = t_ms, 0.0
                last_ms = t_ms
                total += inc
            add(info, last_ms * _MS_NS, total, first_ms * _MS_NS)
        return new or f.first

    def snapshot(self, version: int, status: SourceStatus, now_ns: int) -> Snapshot:
        snap = self.aggs.snapshot(version, status, now_ns)
        # Metrics carry no events: None ("not available"), not zero.
        return dataclasses.replace(
            snap,
            events_by_name=None,
            api_requests=None,
            api_errors=None,
            latency_p50_ms=None,
            latency_p95_ms=None,
            retries=None,
            recent_events=None,
        )

    def describe_naming(self) -> str:
        if self.naming is None:
            return "no Claude Code metrics (no metric name contains claude_code_)"
        return self.variants.describe(self.naming)


def _key(labels: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(labels.items()))
