"""Honest money: where a session's dollars come from, whether the two sources agree, and
whether the telemetry covers every request.

Claude Code reports cost twice: the ``cost.usage`` metric and ``cost_usd`` on each
``api_request`` event. Both are its own estimates from a price table (API-equivalent for
subscribers), and both should give the same sum (the 2.1.330 captures do, to the micro-dollar).
When they disagree beyond a tolerance one of them is incomplete: events lost or sampled, a
metric export refused, or a log pipeline that is off. The drift badge says so.

Coverage compares the tokens the ``api_request`` events account for with the tokens the
``token.usage`` metric counted: the requests seen as events against the requests that token
count implies (requests seen / token coverage). Below ``COVERAGE_OK`` a session's telemetry is
flagged incomplete. Metrics are exported less often than events (60 s against 5 s by default),
so a session still running can drift for a minute; the badge is about what has arrived.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .values import as_float

METRIC = "cost.usage metric"
EVENTS = "sum of api_request.cost_usd"
DRIFT_REL = 0.01  # 1 %
DRIFT_ABS = 0.0001  # or $0.0001, whichever is larger: float noise and micro-dollar rounding
COVERAGE_OK = 0.99
_EVENT_TOKENS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_creation_tokens")


@dataclass(frozen=True, slots=True)
class SessionMoney:
    session: str
    metric_cost: float | None  # None: no cost.usage point arrived for the session
    event_cost: float | None  # None: no api_request event arrived
    requests_seen: int
    metric_tokens: float
    event_tokens: float

    @property
    def drift(self) -> float | None:
        """metric - events; None unless both sources have something."""
        if self.metric_cost is None or self.event_cost is None:
            return None
        return self.metric_cost - self.event_cost

    @property
    def drifting(self) -> bool:
        """The two sources disagree beyond the tolerance (one of them is missing counts as
        disagreeing when the other has money)."""
        m, e = self.metric_cost or 0.0, self.event_cost or 0.0
        return abs(m - e) > max(DRIFT_ABS, DRIFT_REL * max(abs(m), abs(e)))

    @property
    def coverage(self) -> float | None:
        """Share of the metric's tokens that arrived as api_request events; None without a
        token metric (nothing to compare with)."""
        if self.metric_tokens <= 0:
            return None
        return self.event_tokens / self.metric_tokens

    @property
    def requests_implied(self) -> int | None:
        """Requests the token metric implies: those seen, scaled by the token coverage."""
        cov = self.coverage
        if cov is None:
            return None
        if cov <= 0:
            return None  # no event at all: no request size to scale by
        return max(self.requests_seen, round(self.requests_seen / cov))

    @property
    def incomplete(self) -> bool:
        cov = self.coverage
        return cov is not None and cov < COVERAGE_OK

    @property
    def cost(self) -> tuple[float, str]:
        """The figure to show and where it comes from: the metric when it arrived, else events."""
        if self.metric_cost is not None:
            return self.metric_cost, METRIC
        return (self.event_cost or 0.0), EVENTS

    def badge(self) -> str:
        """A few words for the screen: "" when all is well."""
        parts = []
        if self.drifting:
            m = "—" if self.metric_cost is None else f"${self.metric_cost:.4f}"
            e = "—" if self.event_cost is None else f"${self.event_cost:.4f}"
            parts.append(f"drift: metric {m} vs events {e}")
        if self.incomplete:
            parts.append(
                f"incomplete: {self.requests_seen} of ~{self.requests_implied or '?'} requests seen"
                if self.requests_implied
                else "incomplete: no api_request events"
            )
        return "; ".join(parts)


def session_money(
    metric_sums: Iterable[tuple[str, str, dict[str, Any], float]],
    events: Iterable[tuple[int, str, str, dict[str, Any]]],
) -> dict[str, SessionMoney]:
    """Per session, from ``insight_db.metric_sums`` of cost.usage and token.usage and from the
    ``api_request`` events."""
    mcost: dict[str, float] = {}
    mtok: dict[str, float] = {}
    ecost: dict[str, float] = {}
    etok: dict[str, float] = {}
    seen: dict[str, int] = {}
    for metric, session, _attrs, total in metric_sums:
        if metric == "claude_code.cost.usage":
            mcost[session] = mcost.get(session, 0.0) + total
        elif metric == "claude_code.token.usage":
            mtok[session] = mtok.get(session, 0.0) + total
    for _t, session, name, a in events:
        if name != "api_request":
            continue
        seen[session] = seen.get(session, 0) + 1
        ecost[session] = ecost.get(session, 0.0) + (as_float(a.get("cost_usd")) or 0.0)
        etok[session] = etok.get(session, 0.0) + sum(as_float(a.get(k)) or 0.0 for k in _EVENT_TOKENS)
    sessions = set(mcost) | set(mtok) | set(seen)
    return {
        s: SessionMoney(s, mcost.get(s), ecost.get(s), seen.get(s, 0), mtok.get(s, 0.0), etok.get(s, 0.0))
        for s in sessions
    }


def money_dict(money: dict[str, SessionMoney]) -> dict[str, Any]:
    """``ccmon report --by money``: per session, both sources, drift and coverage."""
    from .summary import usd

    rows = sorted(money.values(), key=lambda m: (not (m.drifting or m.incomplete), -(m.cost[0]), m.session))
    return {
        "by": "money",
        "note": "all $ are Claude Code's own estimates (API-equivalent for subscribers)",
        "tolerance": {"relative": DRIFT_REL, "absolute_usd": DRIFT_ABS, "coverage_ok": COVERAGE_OK},
        "cost_usd_metric_total": usd(sum(m.metric_cost or 0.0 for m in rows)),
        "cost_usd_events_total": usd(sum(m.event_cost or 0.0 for m in rows)),
        "sessions_drifting": sum(m.drifting for m in rows),
        "sessions_incomplete": sum(m.incomplete for m in rows),
        "sessions": [
            {
                "session_id": m.session,
                "cost_usd_metric": usd(m.metric_cost) if m.metric_cost is not None else None,
                "cost_usd_events": usd(m.event_cost) if m.event_cost is not None else None,
                "drift_usd": usd(m.drift) if m.drift is not None else None,
                "drifting": m.drifting,
                "requests_seen": m.requests_seen,
                "requests_implied": m.requests_implied,
                "coverage": round(m.coverage, 6) if m.coverage is not None else None,
                "incomplete": m.incomplete,
            }
            for m in rows
        ],
    }


def money_text(d: dict[str, Any]) -> str:
    from .text import clean

    def usd(x: float | None) -> str:
        return "-" if x is None else f"${x:.4f}"

    lines = [
        f"money per session  ({d['note']})",
        f"cost.usage metric ${d['cost_usd_metric_total']:.4f} · sum of api_request.cost_usd "
        f"${d['cost_usd_events_total']:.4f} · {d['sessions_drifting']} drifting · "
        f"{d['sessions_incomplete']} with incomplete telemetry",
        "",
    ]
    lines.append(f"  {'session':<38} {'metric':>10} {'events':>10} {'seen':>5} {'implied':>7} {'cover':>6}  flags")
    for s in d["sessions"]:
        cov = "-" if s["coverage"] is None else f"{s['coverage'] * 100:.0f}%"
        flags = " ".join(f for f, on in (("DRIFT", s["drifting"]), ("INCOMPLETE", s["incomplete"])) if on)
        implied = "-" if s["requests_implied"] is None else str(s["requests_implied"])
        lines.append(
            f"  {clean(s['session_id'])[:38]:<38} {usd(s['cost_usd_metric']):>10} "
            f"{usd(s['cost_usd_events']):>10} "
            f"{s['requests_seen']:>5} {implied:>7} {cov:>6}  {flags}"
        )
    return "\n".join(lines)
