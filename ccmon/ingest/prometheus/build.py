"""One poll's results to the ``Snapshot`` every pane renders (pure: no I/O, no clock).

Prometheus holds metrics, never events: the event-derived fields (event counts, API errors,
latency, retries, the event log) are None, which the panes show as "not available".
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ...model import names
from ...model.snapshot import EditRow, ModelRow, SessionRow, Snapshot, SourceStatus, Tokens
from .api import Sample
from .fetch import Fetched
from .promql import PART, SPARK_MINUTES

_NS = 1_000_000_000
# Prometheus label -> the OTel attribute it came from, so grouping dims read as in OTLP mode.
_DIM_NAMES = {
    "user_id": "user.id", "user_email": "user.email", "terminal_type": "terminal.type",
    "organization_id": "organization.id", "user_account_uuid": "user.account_uuid",
    "service_version": "service.version", "app_version": "app.version",
}
# Labels that say how the series travelled (or what it measures), not whose session it is.
_NOT_DIMS = frozenset({"__name__", PART, "session_id", "start_type", "job", "exported_job", "instance",
                       "otel_scope_name", "otel_scope_version", "service_name", "model", "type"})


@dataclass(slots=True)
class _Session:
    key: str
    group: dict[str, str]  # its session_id / user_id / user_email labels, for the drill-down
    cost: float = 0.0
    tokens: dict[str, float] = field(default_factory=lambda: dict.fromkeys(names.TOKEN_TYPES, 0.0))
    models: set[str] = field(default_factory=set)
    lines_added: float = 0.0
    lines_removed: float = 0.0
    commits: float = 0.0
    pull_requests: float = 0.0
    active_user: float = 0.0
    active_cli: float = 0.0
    start_type: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    first_ns: int = 0
    last_ns: int = 0

    @property
    def user(self) -> str:
        return self.group.get("user_id") or self.group.get("user_email") or ""

    def row(self) -> SessionRow:
        return SessionRow(
            key=self.key, user=self.user, models=tuple(sorted(self.models)), cost=self.cost,
            tokens=Tokens.of(self.tokens), first_ns=self.first_ns, last_ns=self.last_ns,
            active_user_s=self.active_user, active_cli_s=self.active_cli,
            lines_added=self.lines_added, lines_removed=self.lines_removed, commits=self.commits,
            pull_requests=self.pull_requests, start_type=self.start_type,
            labels=tuple(sorted(self.labels.items())),
        )


def session_key(s: Sample) -> str:
    """``session_id``; without it (OTEL_METRICS_INCLUDE_SESSION_ID=false) a user is one row."""
    return s.label("session_id") or f"user:{s.label('user_id') or s.label('user_email') or 'anonymous'}"


def session_groups(f: Fetched) -> dict[str, dict[str, str]]:
    """Session key -> its grouping labels, as the drill-down's selector needs them."""
    out: dict[str, dict[str, str]] = {}
    for key in ("cost", "seen"):
        for s in f.results.get(key, ()):
            out.setdefault(session_key(s), _group(s))
    return out


def _group(s: Sample) -> dict[str, str]:
    return {k: s.label(k) for k in ("session_id", "user_id", "user_email") if s.label(k)}


def _part(samples: tuple[Sample, ...], part: str) -> list[Sample]:
    return [s for s in samples if s.label(PART) == part]


def build_snapshot(f: Fetched, status: SourceStatus, version: int, now_ns: int) -> Snapshot:
    r = f.results
    sessions: dict[str, _Session] = {}

    def sess(s: Sample) -> _Session:
        key = session_key(s)
        if key not in sessions:
            sessions[key] = _Session(key, _group(s))
        return sessions[key]

    model_cost: dict[str, float] = {}
    model_raw: dict[str, set[str]] = {}
    model_tokens: dict[str, dict[str, float]] = {}
    for s in r.get("cost", ()):
        raw = s.label("model")
        model = names.model_group(raw or None)
        row = sess(s)
        row.cost += s.value
        row.models.add(model)
        model_cost[model] = model_cost.get(model, 0.0) + s.value
        model_raw.setdefault(model, set()).update([raw] if raw else [])
    for s in r.get("tokens", ()):
        kind = names.token_type(s.label("type"))
        if kind is None:
            continue  # a token type ccmon does not know is not one of the four
        raw = s.label("model")
        model = names.model_group(raw or None)
        row = sess(s)
        row.tokens[kind] += s.value
        row.models.add(model)
        model_tokens.setdefault(model, dict.fromkeys(names.TOKEN_TYPES, 0.0))[kind] += s.value
        model_raw.setdefault(model, set()).update([raw] if raw else [])

    activity = r.get("activity", ())
    for s in _part(activity, "lines"):
        row = sess(s)
        if s.label("type") == "removed":
            row.lines_removed += s.value
        else:
            row.lines_added += s.value
    for s in _part(activity, "commits"):
        sess(s).commits += s.value
    for s in _part(activity, "pull_requests"):
        sess(s).pull_requests += s.value
    for s in _part(activity, "active_time"):
        row = sess(s)
        if s.label("type") == "user":
            row.active_user += s.value
        else:
            row.active_cli += s.value
    sessions_started = 0.0
    for s in _part(activity, "sessions"):
        sessions_started += s.value
        row = sess(s)
        row.start_type = row.start_type or s.label("start_type")
        for k, v in s.labels.items():
            if k not in _NOT_DIMS and v:
                row.labels.setdefault(_DIM_NAMES.get(k, k), v)

    for s in r.get("seen", ()):
        row = sessions.get(session_key(s))
        if row is None:
            continue  # times alone make no row (the other queries say which sessions there are)
        t_ns = int(s.value * _NS)
        if s.label(PART) == "first":
            row.first_ns = t_ns if not row.first_ns else min(row.first_ns, t_ns)
        else:
            row.last_ns = max(row.last_ns, t_ns)

    edits: dict[tuple[str, str, str, str], float] = {}
    for s in r.get("edits", ()):
        key = (s.label("tool_name") or s.label("tool") or "?", s.label("language"), s.label("source"),
               s.label("decision") or "?")
        edits[key] = edits.get(key, 0.0) + s.value

    spend = {s.label(PART): s.value for s in r.get("spend", ())}
    cost_pm, tokens_pm = _per_minute(f)
    rows = sorted((x.row() for x in sessions.values()), key=lambda x: (-x.last_ns, x.key))
    firsts = [x.first_ns for x in rows if x.first_ns]
    totals = _sum_tokens(rows)
    return Snapshot(
        version=version,
        now_ns=now_ns,
        status=status,
        cost_total=sum(x.cost for x in rows),
        cost_today=spend.get("today", 0.0),
        burn_5m=spend.get("5m", 0.0) * 12,  # USD in the last 5 minutes, as USD per hour
        burn_1h=spend.get("1h", 0.0),
        cost_per_minute=tuple(cost_pm),
        models=tuple(sorted(
            (ModelRow(m, tuple(sorted(model_raw.get(m, ()))), model_cost.get(m, 0.0),
                      Tokens.of(model_tokens.get(m, {})))
             for m in set(model_cost) | set(model_tokens)),
            key=lambda x: (-x.cost, x.model))),
        tokens=totals,
        tokens_last_minute=Tokens.of({k: v[-1] for k, v in tokens_pm.items()}),
        tokens_per_minute=tuple(sum(v[i] for v in tokens_pm.values()) for i in range(SPARK_MINUTES)),
        sessions=tuple(rows),
        sessions_started=sessions_started,
        lines_added=sum(x.lines_added for x in rows),
        lines_removed=sum(x.lines_removed for x in rows),
        commits=sum(x.commits for x in rows),
        pull_requests=sum(x.pull_requests for x in rows),
        active_user_s=sum(x.active_user_s for x in rows),
        active_cli_s=sum(x.active_cli_s for x in rows),
        edit_decisions=tuple(EditRow(*k, count=v) for k, v in sorted(edits.items())),
        events_by_name=None,
        api_requests=None,
        api_errors=None,
        latency_p50_ms=None,
        latency_p95_ms=None,
        retries=None,
        recent_events=None,
        group_dims=tuple(sorted({k for x in rows for k, _ in x.labels})),
        first_ns=min(firsts, default=0),
        last_ns=max((x.last_ns for x in rows), default=0),
    )


def _sum_tokens(rows: list[SessionRow]) -> Tokens:
    return Tokens.of({t: sum(getattr(x.tokens, t) for x in rows) for t in names.TOKEN_TYPES})


def _per_minute(f: Fetched) -> tuple[list[float], dict[str, list[float]]]:
    """The range query's points into SPARK_MINUTES slots, oldest first (a missing point is 0).
    Token counts are rounded: increase() extrapolates, and a token is not divisible."""
    cost = [0.0] * SPARK_MINUTES
    tokens = {t: [0.0] * SPARK_MINUTES for t in names.TOKEN_TYPES}
    for series in f.per_minute:
        if series.label(PART) == "cost":
            slots = cost
        else:
            kind = names.token_type(series.label("type"))
            if kind is None:
                continue
            slots = tokens[kind]
        for t, v in series.points:
            i = round((t - f.spark_start_s) / 60)
            if 0 <= i < SPARK_MINUTES:
                slots[i] += v
    return cost, {k: [float(round(x)) for x in v] for k, v in tokens.items()}


def describe_naming(f: Fetched) -> str:
    """For the status bar: the naming found and which label variants the series carry."""
    if f.naming is None:
        return "no Claude Code metrics (no metric name contains claude_code_)"
    r = f.results
    every = [s for key in ("cost", "tokens", "activity") for s in r.get(key, ())]
    if not every:
        return f.naming.description
    variants = ["session_id" if any(s.label("session_id") for s in every) else "no session_id: one row per user"]
    users = [u for u in ("user_email", "user_id") if any(s.label(u) for s in every)]
    variants.append(" + ".join(users) if users else "no user label")
    tools = [t for t in ("tool_name", "tool") if any(s.label(t) for s in r.get("edits", ()))]
    if tools:
        variants.append(" + ".join(tools))
    spellings = sorted({s.label("type") for s in r.get("tokens", ())} & {"cacheRead", "cache_read"})
    if spellings:
        variants.append("type=" + " + ".join(spellings))
    jobs = [j for j in ("job", "exported_job") if any(s.label(j) for s in _part(r.get("activity", ()), "sessions"))]
    if jobs:
        variants.append(" + ".join(jobs))
    return f"{f.naming.description}; labels: {', '.join(variants)}"
