"""``ccmon report``: a snapshot as JSON-ready data and as a plain-text summary."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Any

from .snapshot import Snapshot
from .text import clean

_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> float:
    """``90s``, ``15m``, ``24h``, ``7d``, ``2w`` -> seconds."""
    m = _DURATION_RE.match(text)
    if not m:
        raise ValueError(f"not a duration: {text!r} (use e.g. 30m, 24h, 7d)")
    return float(m.group(1)) * _UNIT_S[m.group(2)]


def usd(x: float) -> float:
    # Sums of doubles carry float noise (0.23671050000000002); 10 decimals is far below a
    # micro-dollar and above the noise.
    return round(x, 10) + 0.0


def count(x: float) -> int | float:
    """Counters arrive as doubles; show whole numbers as ints."""
    if not math.isfinite(x):
        return x  # made null by ``strict``
    r = round(x)
    return int(r) if abs(x - r) < 1e-6 else round(x, 6)


def iso(t_ns: int) -> str | None:
    if not t_ns:
        return None
    return datetime.fromtimestamp(t_ns / 1e9, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# The report's keys that only a source with events has (OTLP; Prometheus has no events: its
# report has ``events`` and ``api_errors`` as null and none of the others).
EVENT_FIGURES = ("events", "api_errors", "api_requests", "retries", "latency_ms", "provisional")


def report_dict(snap: Snapshot, since_ns: int = 0) -> dict[str, Any]:
    t = snap.tokens
    ratio = t.cache_ratio
    out: dict[str, Any] = {
        "source": snap.status.where or snap.status.kind,
        "since": iso(since_ns),
        "first_seen": iso(snap.first_ns),
        "last_seen": iso(snap.last_ns),
        "cost_usd": usd(snap.cost_total),
        "today_usd": usd(snap.cost_today),
        # The dashboard's burn rates at the report's time: complete minutes only.
        "burn_usd_per_hour": {"5m": usd(snap.burn_5m), "1h": usd(snap.burn_1h)},
        "cost_by_model": {m.model: usd(m.cost) for m in snap.models},
        "tokens": t.as_dict(),
        "cache_ratio": round(ratio, 6) if ratio is not None else None,
        "cache_reads_per_write": round(t.reads_per_write, 3) if t.reads_per_write is not None else None,
        "lines": {"added": count(snap.lines_added), "removed": count(snap.lines_removed)},
        "commits": count(snap.commits),
        "pull_requests": count(snap.pull_requests),
        "active_time_s": {"user": round(snap.active_user_s, 3), "cli": round(snap.active_cli_s, 3)},
        "sessions_started": count(snap.sessions_started),
        "edit_decisions": [
            {
                "tool_name": e.tool,
                "language": e.language,
                "source": e.source,
                "decision": e.decision,
                "count": count(e.count),
            }
            for e in snap.edit_decisions
        ],
        "sessions": [
            {
                "session_id": s.key,
                "user_id": s.user,
                "cost_usd": usd(s.cost),
                "tokens": s.tokens.as_dict(),
                "models": list(s.models),
                "first_seen": iso(s.first_ns),
                "last_seen": iso(s.last_ns),
            }
            for s in sorted(snap.sessions, key=lambda s: (s.first_ns, s.key))
        ],
    }
    if snap.has_events:
        out["events"] = dict(snap.events_by_name or ())
        out["api_errors"] = dict(snap.api_errors or ())
        out["api_requests"] = snap.api_requests
        out["retries"] = snap.retries
        out["latency_ms"] = {"p50": snap.latency_p50_ms, "p95": snap.latency_p95_ms}
        # API calls no metric point has counted yet (``model.provisional``; only where there
        # are events): listed apart, and in the figures above only when the snapshot says so
        # (the report's never are).
        out["provisional"] = {
            "included": snap.provisional_included,
            "cost_usd": usd(snap.provisional_cost),
            "tokens": snap.provisional_tokens.as_dict(),
            "api_calls": snap.provisional_calls,
        }
    else:
        out["events"] = None
        out["api_errors"] = None
    out["other_telemetry"] = snap.other_telemetry
    return strict(out)


def strict(node: Any) -> Any:
    """JSON-safe: a number that is not finite becomes null, so the report is strict JSON
    whatever a source produced (the counting rules keep such values out; this is the guard)."""
    if isinstance(node, float) and not math.isfinite(node):
        return None
    if isinstance(node, dict):
        return {k: strict(v) for k, v in node.items()}
    if isinstance(node, list):
        return [strict(v) for v in node]
    return node


def report_text(d: dict[str, Any]) -> str:
    """A short human summary of ``report_dict``; plain text, safe for any terminal."""
    lines = []
    span = f"{d['first_seen'] or '-'} .. {d['last_seen'] or '-'}"
    lines.append(f"ccmon report  ({clean(d['source'])}; {span}{'; since ' + d['since'] if d['since'] else ''})")
    lines.append("")
    lines.append(
        f"cost            ${d['cost_usd']:.4f}   today ${d['today_usd']:.4f}   "
        f"burn ${d['burn_usd_per_hour']['5m']:.2f}/h (5m) ${d['burn_usd_per_hour']['1h']:.2f}/h (1h)"
    )
    prov = d.get("provisional") or {}
    if prov.get("api_calls") and not prov.get("included"):
        lines.append(
            f"  + ${prov['cost_usd']:.4f} provisional: {prov['api_calls']} API call(s) "
            "the cost metric has not counted yet"
        )
    for model, cost in sorted(d["cost_by_model"].items(), key=lambda kv: -kv[1]):
        lines.append(f"  {clean(model):<30} ${cost:.4f}")
    tk = d["tokens"]
    lines.append("tokens          " + "  ".join(f"{k} {v:,}" for k, v in tk.items()))
    cr = d["cache_ratio"]
    lines.append(f"cache hit rate  {'-' if cr is None else f'{cr * 100:.1f}%'}")
    lines.append(
        f"lines           +{d['lines']['added']} -{d['lines']['removed']}   "
        f"commits {d['commits']}   PRs {d['pull_requests']}"
    )
    at = d["active_time_s"]
    lines.append(f"active time     user {at['user']:.1f}s  cli {at['cli']:.1f}s")
    if d["edit_decisions"]:
        lines.append("edit decisions")
        for e in d["edit_decisions"]:
            lines.append(
                f"  {clean(e['tool_name']):<10} {clean(e['language']):<14} {clean(e['source']):<16} "
                f"{clean(e['decision']):<7} {e['count']}"
            )
    lines.append(f"sessions        {len(d['sessions'])}")
    for s in d["sessions"][-20:]:
        lines.append(f"  {clean(s['session_id']):<38} ${s['cost_usd']:.4f}  {clean(','.join(s['models']))}")
    if d.get("events") is not None:
        lines.append("events          " + ", ".join(f"{clean(k)} {v}" for k, v in sorted(d["events"].items())))
        if d["api_errors"]:
            lines.append("api errors      " + ", ".join(f"{clean(k)}: {v}" for k, v in sorted(d["api_errors"].items())))
    return "\n".join(lines)


def add_statusline(out: dict[str, Any], limits: Any) -> dict[str, Any]:
    """What Claude Code's status line told ccmon (``ccmon statusline``), added to a report:
    ``plan_limits`` (the newest 5 h / 7 d use and resets, None without any) and, per session
    where known, ``context_used_pct``, ``repo`` and ``cwd``. ``limits`` is a
    ``model.limits.LimitsView`` or None (Prometheus: no status line there)."""
    plan = limits.plan if limits is not None else None
    if plan is None:
        out["plan_limits"] = None
    else:

        def window(w: Any) -> dict[str, Any] | None:
            if w is None:
                return None
            return {"used_pct": round(w.used_pct, 6), "resets_at": iso(int(w.resets_at) * 1_000_000_000)}

        out["plan_limits"] = {
            "five_hour": window(plan.five_hour),
            "seven_day": window(plan.seven_day),
            "account": plan.account or None,
            "session_id": plan.session,
            "observed_at": iso(plan.t_ns),
        }
    status = dict(limits.sessions) if limits is not None else {}
    for s in out.get("sessions", ()):
        st = status.get(s["session_id"])
        if st is not None:
            s["context_used_pct"] = st.context_pct
            s["repo"] = st.repo or None
            s["cwd"] = st.cwd or None
    return out


def statusline_text(d: dict[str, Any]) -> str | None:
    """The ``plan_limits`` of ``add_statusline`` as one line of the text report, if any."""
    plan = d.get("plan_limits")
    if not plan:
        return None
    parts = []
    for key, label in (("five_hour", "5 h"), ("seven_day", "7 d")):
        w = plan.get(key)
        if w:
            parts.append(f"{label} {w['used_pct']:g}% (resets {w['resets_at']})")
    return "plan limits     " + "  ".join(parts) + f"  as of {plan['observed_at']}"
