"""Which metric names a server uses for Claude Code's 8 counters (pure).

The same OTel metric ``claude_code.cost.usage`` (unit USD) reaches Prometheus under
different names depending on the pipeline:

    OTel Collector, prometheus exporter      claude_code_cost_usage_USD_total     ("units")
    ... with ``namespace: claude_code``      claude_code_claude_code_cost_usage_USD_total
    Claude Code's own exporter on :9464      claude_code_cost_usage_total         ("total")
    Collector, ``add_metric_suffixes: false`` claude_code_cost_usage              ("bare")

Any namespace prefix works the same way. ``discover`` reads the names the server holds
(``/api/v1/label/__name__/values``) and picks the prefix and style that cover most families.
Label variants (``tool``/``tool_name``, ``cacheRead``/``cache_read``, ...) need no discovery:
queries group by both spellings and ``build`` normalises them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ...model import names

FAMILIES = (
    names.COST,
    names.TOKENS,
    names.SESSIONS,
    names.LINES,
    names.EDIT_DECISION,
    names.COMMITS,
    names.PULL_REQUESTS,
    names.ACTIVE_TIME,
)
_STEM = {
    names.COST: "cost_usage",
    names.TOKENS: "token_usage",
    names.SESSIONS: "session_count",
    names.LINES: "lines_of_code_count",
    names.EDIT_DECISION: "code_edit_tool_decision",
    names.COMMITS: "commit_count",
    names.PULL_REQUESTS: "pull_request_count",
    names.ACTIVE_TIME: "active_time",
}
_UNIT = {names.COST: "_USD", names.TOKENS: "_tokens", names.ACTIVE_TIME: "_seconds"}
STYLES = ("units", "total", "bare")  # preference order when two cover as many families
_STYLE_TEXT = {
    "units": "OTel Collector naming",
    "total": "Claude Code's own exporter naming (:9464, no unit)",
    "bare": "no suffixes (add_metric_suffixes: false)",
}
# For the discovery request: every name that could be one of ours, whatever the prefix.
NAME_PATTERN = ".*claude_code_.+"


def metric_name(family: str, style: str, prefix: str = "") -> str:
    stem = _STEM[family]
    if style == "units":
        tail = stem + _UNIT.get(family, "") + "_total"
    elif style == "total":
        tail = stem + "_total"
    else:  # the OTel name with dots as underscores; active_time's OTel name ends in .total
        tail = stem + ("_total" if family == names.ACTIVE_TIME else "")
    return prefix + "claude_code_" + tail


@dataclass(frozen=True, slots=True)
class Naming:
    prefix: str  # what comes before "claude_code_": "" or a collector namespace + "_"
    style: str
    found: frozenset[str]  # families present on the server (absent ones still get queried: 0)
    also: tuple[str, ...] = ()  # cost metric names of other namings seen on the same server
    others: tuple[tuple[str, str], ...] = ()  # (prefix, style) of those namings: their series are summed in

    def name(self, family: str) -> str:
        return metric_name(family, self.style, self.prefix)

    @property
    def names(self) -> Mapping[str, str]:
        return {f: self.name(f) for f in FAMILIES}

    @property
    def family_of(self) -> Mapping[str, str]:
        """Every metric name read -> its family: this naming's and the other namings' on the
        server. A session's series are summed across namings (two pipelines feeding one server,
        e.g. during a move from :9464 scraping to a Collector, each carry part of the history)."""
        out = {metric_name(f, s, p): f for p, s in self.others for f in FAMILIES}
        out.update({self.name(f): f for f in FAMILIES})
        return out

    @property
    def description(self) -> str:
        ns = f", namespace {self.prefix[:-1]}" if self.prefix else ""
        also = f" + {', '.join(self.also)} (summed)" if self.also else ""
        return f"{_STYLE_TEXT[self.style]}{ns}: {self.name(names.COST)}{also}"


def discover(metric_names: Iterable[str]) -> Naming | None:
    """The naming that covers most of the 8 families, or None when there is none at all."""
    found: dict[tuple[str, str], set[str]] = {}
    for n in set(metric_names):
        for style in STYLES:
            for family in FAMILIES:
                tail = metric_name(family, style)
                if n.endswith(tail):
                    prefix = n[: -len(tail)]
                    if prefix == "" or prefix.endswith("_"):
                        found.setdefault((prefix, style), set()).add(family)
    if not found:
        return None

    def rank(key: tuple[str, str]) -> tuple[int, int, int]:
        prefix, style = key
        return (-len(found[key]), STYLES.index(style), len(prefix))

    ordered = sorted(found, key=rank)
    prefix, style = ordered[0]
    best_cost = metric_name(names.COST, style, prefix)
    others = tuple(
        k for k in ordered[1:] if metric_name(names.COST, k[1], k[0]) != best_cost and _own(found[k], k, found)
    )
    also = tuple(sorted({metric_name(names.COST, s, p) for p, s in others if names.COST in found[(p, s)]}))
    return Naming(prefix, style, frozenset(found[(prefix, style)]), also, others)


def _own(families: set[str], key: tuple[str, str], found: dict[tuple[str, str], set[str]]) -> bool:
    """A naming is a naming of its own unless all its names are another's read differently:
    ``active_time_total`` is both the "bare" active-time name and part of the "total" naming."""
    prefix, style = key
    mine = {metric_name(f, style, prefix) for f in families}
    theirs = {metric_name(f, s, p) for (p, s), fs in found.items() if (p, s) != key for f in fs}
    return bool(mine - theirs)
