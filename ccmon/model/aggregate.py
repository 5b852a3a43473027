"""Running totals: the in-memory state the dashboard reads, fed one increment at a time.

Live ingestion and the rebuild from SQLite at start-up both go through ``add_point`` and
``add_events``, so a restart cannot compute a different number than the live path did.
Everything here is bounded: per-minute buckets cover 24 h, recent events and latencies are
deques, and sessions are one small object each (10,000 sessions are a few MB).
"""

from __future__ import annotations

import math
import time
from collections import Counter, defaultdict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from . import counting, names, provisional
from .events import content_logged, summarize
from .series import SeriesInfo
from .snapshot import EditRow, EventRow, ModelRow, SessionRow, Snapshot, SourceStatus, Tokens
from .values import as_float

MINUTE_NS = counting.MINUTE_NS
KEEP_MINUTES = 24 * 60
RECENT_EVENTS = 500
RECENT_LATENCIES = 2000
_TT = names.TOKEN_TYPES


def _zero_tokens() -> dict[str, float]:
    return dict.fromkeys(_TT, 0.0)


@dataclass(slots=True)
class _Session:
    key: str
    user: str = ""
    first_ns: int = 0
    last_ns: int = 0
    cost: float = 0.0
    tokens: dict[str, float] = field(default_factory=_zero_tokens)
    models: dict[str, float] = field(default_factory=dict)
    lines_added: float = 0.0
    lines_removed: float = 0.0
    commits: float = 0.0
    pull_requests: float = 0.0
    active_user: float = 0.0
    active_cli: float = 0.0
    requests: int = 0
    errors: int = 0
    start_type: str = ""
    labels: tuple[tuple[str, str], ...] = ()
    metric_ns: int = 0  # the newest cost or token metric point
    ledger: provisional.Ledger | None = None  # API calls newer than that (provisional cost), or None
    cached: SessionRow | None = None  # the last row built; None once anything changed

    def seen(self, t_first: int, t_last: int) -> None:
        if t_first and (not self.first_ns or t_first < self.first_ns):
            self.first_ns = t_first
        if t_last > self.last_ns:
            self.last_ns = t_last

    def row(self, include_provisional: bool = True) -> SessionRow:
        """Its row; by default with its uncovered API calls included (that row is cached)."""
        ledger = self.ledger if self.ledger is not None and self.ledger.calls else None
        if self.cached is not None and (include_provisional or ledger is None):
            return self.cached
        cost, tokens, extra, models = self.cost, Tokens.of(self.tokens), 0.0, set(self.models)
        if include_provisional and ledger is not None:
            extra = ledger.cost
            cost += extra
            tokens = tokens.plus(ledger.tokens)
            models = {*models, *(c.model for c in ledger.calls)}
        row = SessionRow(
            key=self.key,
            user=self.user,
            models=tuple(sorted(models)),
            cost=cost,
            tokens=tokens,
            provisional_cost=extra,
            first_ns=self.first_ns,
            last_ns=self.last_ns,
            active_user_s=self.active_user,
            active_cli_s=self.active_cli,
            lines_added=self.lines_added,
            lines_removed=self.lines_removed,
            commits=self.commits,
            pull_requests=self.pull_requests,
            requests=self.requests,
            errors=self.errors,
            start_type=self.start_type,
            labels=self.labels,
        )
        if include_provisional or ledger is None:
            self.cached = row
        return row


@dataclass(slots=True)
class _Model:
    cost: float = 0.0
    tokens: dict[str, float] = field(default_factory=_zero_tokens)
    raw: set[str] = field(default_factory=set)


def _by_last_seen(r: SessionRow) -> tuple[int, str]:
    """Newest activity first; sessions last seen at the same instant by id, so the order does
    not depend on which series a source happened to deliver first."""
    return (-r.last_ns, r.key)


def _percentile(sorted_values: list[float], q: float) -> float | None:
    """Nearest-rank percentile: an observed value, never an interpolation between two."""
    if not sorted_values:
        return None
    rank = max(1, -(-int(q * len(sorted_values) * 1000) // 1000))  # ceil without float drift
    return sorted_values[min(rank, len(sorted_values)) - 1]


class Aggregates:
    def __init__(self) -> None:
        self.cost = 0.0
        self.tokens = _zero_tokens()
        self.models: dict[str, _Model] = {}
        self.sessions: dict[str, _Session] = {}
        self.dims: set[str] = set()  # label keys seen on any session: the group-by choices
        self.lines_added = 0.0
        self.lines_removed = 0.0
        self.commits = 0.0
        self.pull_requests = 0.0
        self.active_user = 0.0
        self.active_cli = 0.0
        self.sessions_started = 0.0
        # float sums (a Counter is typed for int counts)
        self.edits: defaultdict[tuple[str, str, str, str], float] = defaultdict(float)
        self.other_metrics: defaultdict[str, float] = defaultdict(float)
        self.other_telemetry = 0  # data points, log records and spans from other senders
        # minute index -> [cost, input, output, cacheRead, cacheCreation]
        self.minutes: dict[int, list[float]] = {}
        self.cost_by_day: dict[str, float] = {}
        self.events_by_name: Counter[str] = Counter()
        self.api_errors: Counter[str] = Counter()
        self.api_requests = 0
        self.retries = 0
        # newest first: [t_ns, session, name, attrs, EventRow once summarised]
        self.recent: deque[list[Any]] = deque(maxlen=RECENT_EVENTS)
        self.latencies: deque[float] = deque(maxlen=RECENT_LATENCIES)
        self.prompts_logged = False
        self.tool_details_logged = False
        self.first_ns = 0
        self.last_ns = 0
        self.uncovered: set[str] = set()  # sessions with provisional calls

    # -- feeding ---------------------------------------------------------------------------

    def _session(self, key: str, user: str, labels: tuple[tuple[str, str], ...] = ()) -> _Session:
        """The session to update; its cached row is dropped since the caller changes it.
        (Rows are rebuilt only for sessions that changed: a snapshot of 10,000 sessions where
        one is active costs one row, not 10,000.)"""
        s = self.sessions.get(key)
        if s is None:
            s = self.sessions[key] = _Session(key, user, labels=labels)
            self.dims.update(k for k, _ in labels)
        else:
            s.cached = None
            if user and not s.user:
                s.user = user
            if labels and not s.labels:
                s.labels = labels
                self.dims.update(k for k, _ in labels)
        return s

    def _seen(self, t_first: int, t_last: int) -> None:
        if t_first and (not self.first_ns or t_first < self.first_ns):
            self.first_ns = t_first
        if t_last > self.last_ns:
            self.last_ns = t_last

    def add_point(self, info: SeriesInfo, t_ns: int, inc: float, first_ns: int | None = None) -> None:
        """Add ``inc`` (already a delta: temporality is resolved before this) at ``t_ns``.
        A value that is not finite is never added (counting rule 1, for every source)."""
        if not math.isfinite(inc):
            return
        if counting.kept_apart(info.metric):  # a gauge with a Claude Code name: "other" only
            self.other_metrics[info.metric] += inc
            return
        s = self._session(info.session, info.user, info.labels)
        s.seen(first_ns or t_ns, t_ns)
        self._seen(first_ns or t_ns, t_ns)
        m = info.metric
        if m == names.COST or m == names.TOKENS:
            self._covered(s, t_ns, inc if m == names.COST else 0.0)
        if m == names.COST:
            self.cost += inc
            s.cost += inc
            model = info.model or "unknown"
            s.models[model] = s.models.get(model, 0.0) + inc
            md = self._model(model, info.raw_model)
            md.cost += inc
            self._minute(t_ns)[0] += inc
            # whole seconds: t / 1e9 would round 23:59:59.9999999 into the next day
            day = time.strftime("%Y-%m-%d", time.localtime(t_ns // 1_000_000_000))
            self.cost_by_day[day] = self.cost_by_day.get(day, 0.0) + inc
        elif m == names.TOKENS:
            if info.kind is None:
                self.other_metrics[f"{m}{{type=?}}"] += inc
                return
            self.tokens[info.kind] += inc
            s.tokens[info.kind] += inc
            if info.model:
                self._model(info.model, info.raw_model).tokens[info.kind] += inc
                s.models.setdefault(info.model, 0.0)
            self._minute(t_ns)[1 + _TT.index(info.kind)] += inc
        elif m == names.LINES:
            if info.kind == "removed":
                self.lines_removed += inc
                s.lines_removed += inc
            else:
                self.lines_added += inc
                s.lines_added += inc
        elif m == names.COMMITS:
            self.commits += inc
            s.commits += inc
        elif m == names.PULL_REQUESTS:
            self.pull_requests += inc
            s.pull_requests += inc
        elif m == names.ACTIVE_TIME:
            if info.kind == "user":
                self.active_user += inc
                s.active_user += inc
            else:
                self.active_cli += inc
                s.active_cli += inc
        elif m == names.SESSIONS:
            self.sessions_started += inc
            if info.start_type and not s.start_type:
                s.start_type = info.start_type
        elif m == names.EDIT_DECISION and info.edit is not None:
            self.edits[info.edit] += inc
        else:
            self.other_metrics[m] += inc

    # -- provisional cost (model/provisional.py) ------------------------------------------------

    def _covered(self, s: _Session, t_ns: int, cost_inc: float) -> None:
        if t_ns > s.metric_ns:
            s.metric_ns = t_ns
        if s.ledger is not None and s.ledger.metric(s.metric_ns, cost_inc) and not s.ledger.calls:
            s.ledger = None
            self.uncovered.discard(s.key)

    def add_call(self, session: str, t_ns: int, attrs: dict[str, Any]) -> None:
        """An ``api_request`` event: provisional until a cost or token metric point covers it."""
        s = self._session(session, "")
        if t_ns <= s.metric_ns:
            return
        call = provisional.call_of(t_ns, attrs)
        if not call.cost and not any(call.tokens):
            return  # nothing it could add
        if s.ledger is None:
            s.ledger = provisional.Ledger()
        s.ledger.add(call)
        self.uncovered.add(session)

    def _expire_calls(self, now_ns: int) -> None:
        oldest = now_ns - provisional.MAX_AGE_NS
        for key in list(self.uncovered):
            s = self.sessions[key]
            if s.ledger is None or s.ledger.expire(oldest):
                s.cached = None
                if s.ledger is None or not s.ledger.calls:
                    s.ledger = None
                    self.uncovered.discard(key)

    def _model(self, model: str, raw: str | None) -> _Model:
        md = self.models.get(model)
        if md is None:
            md = self.models[model] = _Model()
        if raw:
            md.raw.add(raw)
        return md

    def _minute(self, t_ns: int) -> list[float]:
        idx = t_ns // MINUTE_NS
        b = self.minutes.get(idx)
        if b is None:
            b = self.minutes[idx] = [0.0] * 5
            if len(self.minutes) > KEEP_MINUTES + 60:
                # Keep the newest KEEP_MINUTES buckets. (Not "within KEEP_MINUTES of the newest":
                # one stray future minute must not empty the rates.)
                for k in sorted(self.minutes)[:-KEEP_MINUTES]:
                    del self.minutes[k]
        return b

    def add_events(
        self, session: str, user: str, name: str, detail: str, count: int, first_ns: int, last_ns: int
    ) -> None:
        """Count ``count`` events of one kind; the rebuild passes grouped counts here."""
        s = self._session(session, user)
        s.seen(first_ns, last_ns)
        self._seen(first_ns, last_ns)
        self.events_by_name[name] += count
        code, _, retry = detail.partition("|")
        if retry:
            self.retries += count
        if name == "api_request":
            self.api_requests += count
            s.requests += count
        elif name == "api_error":
            self.api_errors[code or "?"] += count
            s.errors += count

    def note_event(self, t_ns: int, session: str, name: str, attrs: dict[str, Any]) -> None:
        """The live-only parts of an event: the log line, its latency, content markers."""
        self.log_event(t_ns, session, name, attrs)
        if name == "api_request":
            d = as_float(attrs.get("duration_ms"))
            if d is not None:
                self.latencies.append(d)
            self.add_call(session, t_ns, attrs)

    def log_event(self, t_ns: int, session: str, name: str, attrs: dict[str, Any]) -> None:
        # The one-line text is made at snapshot time and only for lines still in the window:
        # a burst of 1,000 events costs 500 summaries at most, and only once.
        self.recent.appendleft([t_ns, session, name, attrs, None])
        if not (self.prompts_logged and self.tool_details_logged):
            prompts, details = content_logged(attrs)
            self.prompts_logged |= prompts
            self.tool_details_logged |= details

    def _recent_rows(self) -> tuple[EventRow, ...]:
        rows = []
        for entry in self.recent:
            if entry[4] is None:
                t, session, name, attrs, _ = entry
                entry[4] = EventRow(t, session, name, summarize(name, attrs))
                entry[3] = None  # the attributes are no longer needed
            rows.append(entry[4])
        return tuple(rows)

    # -- reading ---------------------------------------------------------------------------

    def snapshot(
        self, version: int, status: SourceStatus, now_ns: int | None = None, *, include_provisional: bool = True
    ) -> Snapshot:
        """The figures at ``now_ns``. By default (the dashboard) cost and tokens include
        the API calls no metric point has counted yet (``model.provisional``); without
        ``include_provisional`` (the report) they are the metrics' alone. ``provisional_*`` say how much either way."""
        now_ns = now_ns if now_ns is not None else time.time_ns()
        now_min = now_ns // MINUTE_NS
        today = time.strftime("%Y-%m-%d", time.localtime(now_ns // 1_000_000_000))
        self._expire_calls(now_ns)
        prov = self._provisional(today)
        minutes = prov.merged(self.minutes) if include_provisional else self.minutes
        cpm = []
        tpm = []
        for i in range(now_min - 59, now_min + 1):
            b = minutes.get(i)
            cpm.append(b[0] if b else 0.0)
            tpm.append(sum(b[1:]) if b else 0.0)
        cost_minutes = {i: b[0] for i, b in minutes.items() if now_min - 60 <= i < now_min}
        cur = minutes.get(now_min) or minutes.get(now_min - 1)
        tokens_last_minute = Tokens(*cur[1:]) if cur else Tokens()
        lat = sorted(self.latencies)
        sessions = sorted((s.row(include_provisional) for s in self.sessions.values()), key=_by_last_seen)
        added = prov if include_provisional else provisional.Totals()
        return Snapshot(
            version=version,
            now_ns=now_ns,
            status=status,
            cost_total=self.cost + added.cost,
            cost_today=self.cost_by_day.get(today, 0.0) + added.today,
            burn_5m=counting.burn(cost_minutes, now_ns, 5),
            burn_1h=counting.burn(cost_minutes, now_ns, 60),
            cost_per_minute=tuple(cpm),
            models=tuple(
                sorted(
                    (
                        ModelRow(m, tuple(sorted(md.raw)), md.cost + c, Tokens.of(md.tokens).plus(t))
                        for m, md, c, t in self._models_with(added)
                    ),
                    key=lambda r: (-r.cost, r.model),
                )
            ),
            tokens=Tokens.of(self.tokens).plus(tuple(added.tokens)),
            tokens_last_minute=tokens_last_minute,
            tokens_per_minute=tuple(tpm),
            sessions=tuple(sessions),
            sessions_started=self.sessions_started,
            lines_added=self.lines_added,
            lines_removed=self.lines_removed,
            commits=self.commits,
            pull_requests=self.pull_requests,
            active_user_s=self.active_user,
            active_cli_s=self.active_cli,
            edit_decisions=tuple(EditRow(*k, count=v) for k, v in sorted(self.edits.items())),
            events_by_name=tuple(sorted(self.events_by_name.items())),
            api_requests=self.api_requests,
            api_errors=tuple(sorted(self.api_errors.items())),
            latency_p50_ms=_percentile(lat, 0.50),
            latency_p95_ms=_percentile(lat, 0.95),
            retries=self.retries,
            recent_events=self._recent_rows(),
            prompts_logged=self.prompts_logged,
            tool_details_logged=self.tool_details_logged,
            group_dims=tuple(sorted(self.dims)),
            first_ns=self.first_ns,
            last_ns=self.last_ns,
            other_telemetry=self.other_telemetry,
            provisional_cost=prov.cost,
            provisional_tokens=Tokens(*prov.tokens),
            provisional_calls=prov.calls,
            provisional_included=include_provisional,
        )

    def _models_with(self, prov: provisional.Totals) -> Iterator[tuple[str, _Model, float, tuple[float, ...]]]:
        for m in {*self.models, *prov.by_model}:
            cost, tokens = prov.by_model.get(m, (0.0, provisional.NO_TOKENS))
            yield m, self.models.get(m) or _Model(), cost, tokens

    def _provisional(self, today: str) -> provisional.Totals:
        totals = provisional.Totals()
        for key in self.uncovered:
            ledger = self.sessions[key].ledger
            if ledger is not None:
                totals.add(ledger.calls, today)
        return totals
