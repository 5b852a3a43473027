"""The query plan: every pane's numbers from a fixed set of PromQL queries (pure).

The number of queries never depends on how many sessions, users or models there are: each
query groups with ``sum by (...)`` and returns one row per group. Several small results
share a query by tagging each part with a ``ccmon_part`` label and joining them with ``or``.

Semantics (every one of these was seen going wrong on a real server):

* "so far" (a session's cost, the totals) is the counter itself, ``max_over_time(x[W])`` so
  that sessions that ended within the window W stay counted. ``increase`` would miss what a
  series already held when it first appeared (a session's first export). The max rather than
  the last value: after a counter reset (a collector restart) a total holds at its peak
  instead of falling back to what the counter has re-counted since;
* "in the last N" (burn rate, cost today, the per-minute sparklines) is ``increase`` (or
  ``rate``): it survives counter resets, where ``x - x offset N`` goes negative. It
  extrapolates, so integer counters come back fractional: ``build`` rounds them. It also
  leaves out what a series held when it first appeared, so a session's first export is in
  its "so far" but not in the burn rate: under-reporting a burn beats a spike whenever a
  long session's series reappears;
* an absent family (no commit yet) gives an empty result, which ``build`` reads as 0;
* no label is hard-coded to one spelling: grouping by a label that a series lacks is legal,
  so ``tool_name, tool`` and ``user_id, user_email`` cover both variants.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ...model import names
from .naming import NAME_PATTERN, Naming

PART = "ccmon_part"  # the label that tells the parts of a tagged query apart
SESSION_BY = "session_id, user_id, user_email"  # a session; a user when session_id is off
SPARK_MINUTES = 60


def duration(seconds: float) -> str:
    return f"{max(1, int(round(seconds)))}s"


def selector(metric: str, match: str) -> str:
    """``metric{<--match>}``: the user's matchers narrow every series the plan reads."""
    return f"{metric}{{{match}}}" if match else metric


def label_value(text: str) -> str:
    """A PromQL string literal (JSON's escaping is a subset of PromQL's)."""
    return json.dumps(text, ensure_ascii=False)


def tagged(parts: dict[str, str]) -> str:
    return " or ".join(f'label_replace({expr}, "{PART}", "{key}", "", "")' for key, expr in parts.items())


@dataclass(frozen=True, slots=True)
class Plan:
    instant: dict[str, str]  # result name -> PromQL, evaluated at the poll's time
    per_minute: str  # range query: the last SPARK_MINUTES minutes, one point a minute

    @property
    def queries_per_poll(self) -> int:
        return 1 + len(self.instant) + 1  # discovery + instant + range


def plan(naming: Naming, match: str, window_s: float, today_s: float, seen_s: float | None = None) -> Plan:
    """The queries for one poll. ``window_s``: what "so far" covers; ``today_s``: seconds
    since local midnight; ``seen_s``: how far back to look for sessions' first and last
    samples (the whole window on a first poll, then only what is new: see ``fetch``)."""
    def sel(family: str) -> str:
        return selector(naming.name(family), match)

    w = duration(window_s)

    def so_far(family: str, by: str = "") -> str:
        return f"sum by ({SESSION_BY}{by}) (max_over_time({sel(family)}[{w}]))"

    def seen(fn: str) -> str:
        # A session's first and last sample. timestamp() of a raw selector is the sample's own
        # time: at the poll's time it gives the newest sample of every live series (the
        # session counter covers a session without an API call yet); a subquery scans the
        # cost series further back. The scan is the costliest query of the plan, one
        # evaluation per step, so the whole window is scanned in 5-minute steps (the lookback:
        # no series slips between two) and the short ranges of later polls in 1-minute steps.
        scan_s = seen_s or window_s
        step = "1m" if scan_s <= 3600 else "5m"
        scan = f"{fn}_over_time(timestamp({sel(names.COST)})[{duration(scan_s)}:{step}])"
        now = [f"timestamp({sel(names.COST)})", f"timestamp({sel(names.SESSIONS)})"]
        each = [scan, *now] if fn == "min" else [*now, scan]  # ``or`` keeps the left of equal series
        return f"{fn} by ({SESSION_BY}) ({' or '.join(each)})"

    cost = sel(names.COST)
    return Plan(
        instant={
            "cost": so_far(names.COST, ", model"),
            "tokens": so_far(names.TOKENS, ", model, type"),
            "activity": tagged({
                "lines": so_far(names.LINES, ", type"),
                "commits": so_far(names.COMMITS),
                "pull_requests": so_far(names.PULL_REQUESTS),
                "active_time": so_far(names.ACTIVE_TIME, ", type"),
                # unaggregated: a session's other labels (team, terminal_type, ...) are grouping dims
                "sessions": f"max_over_time({sel(names.SESSIONS)}[{w}])",
            }),
            "edits": f"sum by (tool_name, tool, language, source, decision) "
                     f"(max_over_time({sel(names.EDIT_DECISION)}[{w}]))",
            "spend": tagged({
                "5m": f"sum(increase({cost}[5m]))",
                "1h": f"sum(increase({cost}[1h]))",
                "today": f"sum(increase({cost}[{duration(today_s)}]))",
            }),
            "seen": tagged({"first": seen("min"), "last": seen("max")}),
        },
        # Per minute, averaged over 2 minutes: Claude Code exports once a minute, and a
        # pipeline that forwards exports as they come (remote write) has one sample per minute,
        # too few for increase() over [1m].
        per_minute=tagged({
            "cost": f"sum(rate({cost}[2m])) * 60",
            "tokens": f"sum by (type) (rate({sel(names.TOKENS)}[2m])) * 60",
        }),
    )


def discovery_match(match: str) -> str:
    """The ``match[]`` of the discovery request: our names, narrowed like every query."""
    inner = f'__name__=~"{NAME_PATTERN}"' + (f", {match}" if match else "")
    return "{" + inner + "}"


def session_cost(naming: Naming, match: str, group: dict[str, str]) -> str:
    """One session's cumulative cost over time, for the drill-down (a range query).
    Every grouping label is matched exactly, "" included, which selects series without it."""
    exact = ", ".join(f"{k}={label_value(group.get(k, ''))}" for k in ("session_id", "user_id", "user_email"))
    return f"sum({naming.name(names.COST)}{{{', '.join(m for m in (match, exact) if m)}}})"

