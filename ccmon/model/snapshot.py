"""The immutable picture a view renders: one per refresh, whatever the source.

Both sources (the OTLP store and the Prometheus poller) produce these types, so every pane
and the report work the same way on either. Fields a source cannot know are ``None`` (for
example latency in Prometheus mode, which has no events) so a view can say "not available"
instead of showing a misleading zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .names import TOKEN_TYPES

if TYPE_CHECKING:
    from .limits import LimitsView


@dataclass(frozen=True, slots=True)
class Tokens:
    input: float = 0.0
    output: float = 0.0
    cacheRead: float = 0.0
    cacheCreation: float = 0.0

    @classmethod
    def of(cls, d: dict[str, float]) -> Tokens:
        return cls(*(d.get(t, 0.0) for t in TOKEN_TYPES))

    @property
    def total(self) -> float:
        return self.input + self.output + self.cacheRead + self.cacheCreation

    @property
    def cache_ratio(self) -> float | None:
        """cacheRead / (input + cacheRead + cacheCreation): the share of prompt tokens served
        from cache. None without prompt tokens (0/0 is not 0%)."""
        denom = self.input + self.cacheRead + self.cacheCreation
        return self.cacheRead / denom if denom > 0 else None

    @property
    def reads_per_write(self) -> float | None:
        """cacheRead : cacheCreation, the "20:1" figure; None without cache writes."""
        return self.cacheRead / self.cacheCreation if self.cacheCreation > 0 else None

    def plus(self, other: tuple[float, ...]) -> Tokens:
        """These tokens with (input, output, cacheRead, cacheCreation) added."""
        if not any(other):
            return self
        return Tokens(
            self.input + other[0], self.output + other[1], self.cacheRead + other[2], self.cacheCreation + other[3]
        )

    def as_dict(self) -> dict[str, int]:
        return {t: int(round(getattr(self, t))) for t in TOKEN_TYPES}


@dataclass(frozen=True, slots=True)
class ModelRow:
    model: str  # grouped name, suffix removed
    raw: tuple[str, ...]  # every label seen for it (e.g. "claude-opus-4-8[1m]")
    cost: float
    tokens: Tokens


@dataclass(frozen=True, slots=True)
class SessionRow:
    key: str
    user: str
    models: tuple[str, ...]
    cost: float
    tokens: Tokens
    first_ns: int
    last_ns: int
    active_user_s: float = 0.0
    active_cli_s: float = 0.0
    lines_added: float = 0.0
    lines_removed: float = 0.0
    commits: float = 0.0
    pull_requests: float = 0.0
    requests: int = 0
    errors: int = 0
    start_type: str = ""
    labels: tuple[tuple[str, str], ...] = ()
    # Part of ``cost`` (and of ``tokens``) from API calls its cost metric has not counted yet
    # (``model.provisional``): shown as provisional until the metric arrives.
    provisional_cost: float = 0.0

    @property
    def cost_per_hour(self) -> float | None:
        """Spend rate over the session's observed span (at least one minute, so a one-call
        session is not reported at thousands of dollars an hour)."""
        span_s = max((self.last_ns - self.first_ns) / 1e9, 60.0)
        return self.cost / span_s * 3600 if self.cost else 0.0


@dataclass(frozen=True, slots=True)
class EditRow:
    tool: str
    language: str
    source: str
    decision: str
    count: float


@dataclass(frozen=True, slots=True)
class EventRow:
    t_ns: int
    session: str
    name: str
    summary: str  # key fields as plain text; untrusted, never markup


@dataclass(frozen=True, slots=True)
class GroupRow:
    value: str
    sessions: int
    cost: float
    tokens: Tokens


@dataclass(frozen=True, slots=True)
class SourceStatus:
    kind: str  # "otlp", "prometheus", or "viewer" (a dashboard attached to another ccmon receiver)
    where: str  # endpoints or URL, for the status bar
    last_payload_ns: dict[str, int] = field(default_factory=dict)  # per signal
    received: dict[str, int] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)
    last_error: str | None = None
    stale: bool = False
    naming: str | None = None  # Prometheus: which metric naming was found


@dataclass(frozen=True, slots=True)
class Snapshot:
    version: int
    now_ns: int
    status: SourceStatus
    cost_total: float = 0.0
    cost_today: float = 0.0
    burn_5m: float = 0.0  # USD per hour over the last 5 minutes
    burn_1h: float = 0.0
    cost_per_minute: tuple[float, ...] = ()  # oldest first, the last 60 minutes
    models: tuple[ModelRow, ...] = ()
    tokens: Tokens = Tokens()
    tokens_last_minute: Tokens = Tokens()
    tokens_per_minute: tuple[float, ...] = ()  # all types, oldest first, the last 60 minutes
    sessions: tuple[SessionRow, ...] = ()  # newest activity first
    sessions_started: float = 0.0
    lines_added: float = 0.0
    lines_removed: float = 0.0
    commits: float = 0.0
    pull_requests: float = 0.0
    active_user_s: float = 0.0
    active_cli_s: float = 0.0
    edit_decisions: tuple[EditRow, ...] = ()
    # Event-derived figures: None where the source has no events (Prometheus).
    events_by_name: tuple[tuple[str, int], ...] | None = ()
    api_requests: int | None = 0
    api_errors: tuple[tuple[str, int], ...] | None = ()
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    retries: int | None = 0
    recent_events: tuple[EventRow, ...] | None = ()
    prompts_logged: bool = False  # OTEL_LOG_USER_PROMPTS content is arriving
    tool_details_logged: bool = False  # OTEL_LOG_TOOL_DETAILS content is arriving
    group_dims: tuple[str, ...] = ()
    first_ns: int = 0
    last_ns: int = 0
    # From Claude Code's status line (``ccmon statusline``): None where the source has none.
    limits: LimitsView | None = None
    other_telemetry: int = 0  # data points, log records, spans from senders that are not Claude Code
    # API calls (``api_request`` events) newer than
    # their session's last metric point (``model.provisional``); the views mark them provisional.
    provisional_cost: float = 0.0
    provisional_tokens: Tokens = Tokens()
    provisional_calls: int = 0
    provisional_included: bool = False  # whether the figures above include them (the dashboard's do)
    # The dashboard's time range (``views.time_range``) the range-following figures cover: "all",
    # or e.g. "7 d" for a snapshot composed by ``model.ranged.compose``.
    range_name: str = "all"

    @property
    def has_events(self) -> bool:
        return self.recent_events is not None
