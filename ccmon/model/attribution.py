"""Attribution: which query source, effort, subagent, skill, plugin, MCP server or repository
the money and tokens went to.

Claude Code adds these attributes to a metric datapoint or an event when they apply:
``query_source`` (main loop, subagent, auxiliary...), ``effort``, ``speed``, and when a subagent,
skill, plugin or MCP tool caused it ``agent.name``, ``skill.name``, ``plugin.name``,
``mcp_server.name``; with ``OTEL_METRICS_INCLUDE_REPOSITORY=true`` (2.1.269+) the repository as
``vcs.owner.name`` / ``vcs.repository.name`` / ``vcs.repository.url.full``. Whatever lacks the
attribute goes to an explicit ``UNATTRIBUTED`` row, so the rows always add up to the total.

Two sources, always labelled: the ``cost.usage`` / ``token.usage`` metrics (what the totals
show) and the ``api_request`` events (which also count requests). Pure functions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .names import token_type
from .snapshot import Tokens
from .values import as_float, as_text

UNATTRIBUTED = "unattributed"
# report/screen name -> the attribute it reads ("repository" is derived from vcs.*)
DIMENSIONS = {
    "query_source": "query_source",
    "effort": "effort",
    "speed": "speed",
    "agent": "agent.name",
    "skill": "skill.name",
    "plugin": "plugin.name",
    "mcp_server": "mcp_server.name",
    "repository": "repository",
}
METRICS_SOURCE = "cost.usage / token.usage metrics"
EVENTS_SOURCE = "api_request events (cost_usd, tokens)"
COST_METRIC = "claude_code.cost.usage"
TOKEN_METRIC = "claude_code.token.usage"


def repository(attrs: dict[str, Any]) -> str | None:
    """``owner/name`` from the vcs.* attributes, else the name, else the URL; None without."""
    name = as_text(attrs.get("vcs.repository.name")) if attrs.get("vcs.repository.name") else ""
    owner = as_text(attrs.get("vcs.owner.name")) if attrs.get("vcs.owner.name") else ""
    if name:
        return f"{owner}/{name}" if owner else name
    url = attrs.get("vcs.repository.url.full")
    return as_text(url) if url else None


def repository_of_labels(labels: Iterable[tuple[str, str]]) -> str | None:
    """A session's repository from its labels (the metric attributes it was first seen with)."""
    return repository(dict(labels))


def value_of(attrs: dict[str, Any], dim: str) -> str:
    key = DIMENSIONS[dim]
    v = repository(attrs) if key == "repository" else attrs.get(key)
    if v is None or v == "":
        return UNATTRIBUTED
    return as_text(v)


@dataclass(frozen=True, slots=True)
class AttributionRow:
    value: str
    cost: float
    tokens: Tokens
    requests: int | None  # None from metrics (they do not count requests)
    sessions: int


@dataclass(frozen=True, slots=True)
class Attribution:
    dim: str
    source: str  # METRICS_SOURCE or EVENTS_SOURCE
    rows: tuple[AttributionRow, ...]  # most expensive first, UNATTRIBUTED last

    @property
    def cost(self) -> float:
        return sum(r.cost for r in self.rows)

    @property
    def tokens(self) -> Tokens:
        return Tokens(
            *(sum(getattr(r.tokens, f) for r in self.rows) for f in ("input", "output", "cacheRead", "cacheCreation"))
        )


def _rows(acc: dict[str, list], with_requests: bool) -> tuple[AttributionRow, ...]:
    rows = [
        AttributionRow(v, cost, Tokens(*tk), n if with_requests else None, len(sessions))
        for v, (cost, tk, n, sessions) in acc.items()
    ]
    rows.sort(key=lambda r: (r.value == UNATTRIBUTED, -r.cost, -r.tokens.total, r.value))
    return tuple(rows)


def _bucket(acc: dict[str, list], value: str) -> list:
    b = acc.get(value)
    if b is None:
        b = acc[value] = [0.0, [0.0, 0.0, 0.0, 0.0], 0, set()]
    return b


_TOKEN_INDEX = {"input": 0, "output": 1, "cacheRead": 2, "cacheCreation": 3}
_EVENT_TOKENS = (("input_tokens", 0), ("output_tokens", 1), ("cache_read_tokens", 2), ("cache_creation_tokens", 3))


def from_events(events: Iterable[tuple[int, str, str, dict[str, Any]]], dim: str) -> Attribution:
    """By ``dim`` from ``api_request`` events (other events are skipped)."""
    acc: dict[str, list] = {}
    for _t, session, name, a in events:
        if name != "api_request":
            continue
        b = _bucket(acc, value_of(a, dim))
        b[0] += as_float(a.get("cost_usd")) or 0.0
        for key, i in _EVENT_TOKENS:
            b[1][i] += as_float(a.get(key)) or 0.0
        b[2] += 1
        b[3].add(session)
    return Attribution(dim, EVENTS_SOURCE, _rows(acc, True))


def from_metrics(sums: Iterable[tuple[str, str, dict[str, Any], float]], dim: str) -> Attribution:
    """By ``dim`` from per-series sums of ``cost.usage`` and ``token.usage`` (``insight_db.metric_sums``)."""
    acc: dict[str, list] = {}
    for metric, session, attrs, total in sums:
        if metric == COST_METRIC:
            b = _bucket(acc, value_of(attrs, dim))
            b[0] += total
        elif metric == TOKEN_METRIC:
            i = _TOKEN_INDEX.get(token_type(attrs.get("type")) or "")
            if i is None:
                continue
            b = _bucket(acc, value_of(attrs, dim))
            b[1][i] += total
        else:
            continue
        b[3].add(session)
    return Attribution(dim, METRICS_SOURCE, _rows(acc, False))


def attribution_dict(a: Attribution) -> dict[str, Any]:
    from .summary import usd

    return {
        "by": a.dim,
        "source": a.source,
        "cost_usd_total": usd(a.cost),
        "tokens_total": a.tokens.as_dict(),
        "rows": [
            {
                "value": r.value,
                "cost_usd": usd(r.cost),
                "tokens": r.tokens.as_dict(),
                "requests": r.requests,
                "sessions": r.sessions,
            }
            for r in a.rows
        ],
    }


def attribution_text(ds: list[dict[str, Any]]) -> str:
    """Plain text of one or more ``attribution_dict`` (untrusted values cleaned)."""
    from .text import clean

    lines = []
    for d in ds:
        lines.append(
            f"cost and tokens by {d['by']}  (from {d['source']}; total ${d['cost_usd_total']:.4f}; "
            "Claude Code's own estimates)"
        )
        for r in d["rows"]:
            req = "" if r["requests"] is None else f"  {r['requests']:>6} requests"
            tokens = sum(r["tokens"].values())
            lines.append(
                f"  {clean(r['value'])[:40]:<40} ${r['cost_usd']:>10.4f}  {tokens:>12,} tokens"
                f"  {r['sessions']:>4} sessions{req}"
            )
        lines.append("")
    return "\n".join(lines).rstrip()
