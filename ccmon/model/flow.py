"""What the receivers saw on the wire, as the Flow view and the status bar read it.

These are facts about requests (who sent what, over which protocol, what was answered), not
about Claude Code usage: the ingest side records them (``ingest.stats``) and hands out these
frozen copies. ``hints`` turns them into the sentences that say why something does not arrive.
"""

from __future__ import annotations

from dataclasses import dataclass

CLAUDE_CODE = "claude-code"  # the service.name Claude Code's exporters send
MINUTE_NS = 60_000_000_000


@dataclass(frozen=True, slots=True)
class FlowLane:
    """One signal over one protocol (``metrics`` over ``grpc``, ``logs`` over ``http/json``...)."""

    signal: str
    protocol: str  # grpc | http/protobuf | http/json | http (a request refused before its type was known)
    accepted: int = 0
    rejected: int = 0
    partial: int = 0  # accepted in part (OTLP partial_success): points ccmon cannot use or refuses
    skipped_points: int = 0
    bytes: int = 0
    first_ns: int = 0
    last_ns: int = 0
    last_status: str = ""  # what was answered last: "200", "400", "OK", "INVALID_ARGUMENT"...
    last_reason: str = ""  # why the last rejection was rejected
    payloads_per_min: int = 0  # over the last 60 s
    bytes_per_min: int = 0
    typical_gap_ns: int = 0  # median time between the last few payloads, 0 when unknown
    statuses: tuple[tuple[str, int], ...] = ()  # every status answered, with its count
    partial_reason: str = ""  # why the last partial success left data points out


@dataclass(frozen=True, slots=True)
class FlowSender:
    service_name: str
    service_version: str
    user_agent: str
    payloads: int
    last_ns: int

    @property
    def other(self) -> bool:
        """Not Claude Code: a test export (``ccmon doctor``), another program, an SDK demo."""
        return self.service_name != CLAUDE_CODE


@dataclass(frozen=True, slots=True)
class Flow:
    where: str
    lanes: tuple[FlowLane, ...] = ()
    senders: tuple[FlowSender, ...] = ()  # most recent first
    last_error: str | None = None

    def accepted(self, signal: str) -> int:
        return sum(lane.accepted for lane in self.lanes if lane.signal == signal)

    def last_ns(self, signal: str) -> int:
        return max((lane.last_ns for lane in self.lanes if lane.signal == signal and lane.accepted), default=0)


QUIET_AFTER_NS = 30 * 1_000_000_000  # how long one signal may arrive alone before a hint
STOPPED_AFTER_NS = 120 * 1_000_000_000


def hints(flow: Flow, now_ns: int) -> list[str]:
    """Sentences for what the figures suggest is wrong, each with what to do."""
    out: list[str] = []
    m_first = min((la.first_ns for la in flow.lanes if la.signal == "metrics" and la.accepted), default=None)
    l_first = min((la.first_ns for la in flow.lanes if la.signal == "logs" and la.accepted), default=None)
    if m_first is not None and l_first is None and now_ns - m_first >= QUIET_AFTER_NS:
        out.append(
            "Metrics arrive but no logs (events): set OTEL_LOGS_EXPORTER=otlp where Claude Code "
            "reads its settings (run `ccmon doctor`)."
        )
    if l_first is not None and m_first is None and now_ns - l_first >= QUIET_AFTER_NS:
        out.append(
            "Logs arrive but no metrics: set OTEL_METRICS_EXPORTER=otlp; with the default "
            "OTEL_METRIC_EXPORT_INTERVAL metrics come only every 60 s (ccmon env uses 5000)."
        )
    for lane in flow.lanes:
        if lane.accepted < 3 or not lane.typical_gap_ns:
            continue
        quiet = now_ns - lane.last_ns
        if quiet >= max(3 * lane.typical_gap_ns, STOPPED_AFTER_NS):
            out.append(
                f"{lane.signal} over {lane.protocol} stopped {quiet // 1_000_000_000} s ago after arriving "
                f"every ~{max(1, lane.typical_gap_ns // 1_000_000_000)} s: the session may have ended, "
                "or Claude Code lost the endpoint (`claude --debug` shows [3P telemetry] lines; "
                "run `ccmon doctor`)."
            )
    for lane in flow.lanes:  # the rejections themselves are listed; say what the common ones mean
        if lane.rejected and lane.last_status == "404" and lane.last_reason.count("/v1/") > 1:
            out.append(
                f"{lane.signal} over {lane.protocol} went to a path with /v1/{lane.signal} twice: "
                "OTEL_EXPORTER_OTLP_ENDPOINT must not end in /v1/...; the exporters add it."
            )
        elif lane.rejected and lane.last_status in ("401", "403", "UNAUTHENTICATED"):
            out.append(
                f"{lane.signal} over {lane.protocol} lacks the token: set OTEL_EXPORTER_OTLP_HEADERS="
                "Authorization=Bearer <token> (`ccmon env` prints it)."
            )
    if any(s.other for s in flow.senders) and not any(not s.other for s in flow.senders):
        out.append(
            "Only other telemetry so far (not service.name claude-code): Claude Code itself has not "
            "sent anything here yet."
        )
    return out
