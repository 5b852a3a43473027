"""One poll: discover the naming, then run the plan's queries, all at one evaluation time."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Mapping

from .api import Sample, Series
from .client import PromClient
from .naming import Naming, discover
from .promql import PART, SPARK_MINUTES, discovery_match, plan

# Samples may reach the server a little late (remote write, a collector's batching). Prometheus'
# default lookback is 5 minutes; rechecking that much of the past costs five evaluations.
LATE_S = 300.0


@dataclass(frozen=True, slots=True)
class Fetched:
    """The raw results of one poll. Two polls that found the same numbers compare equal."""

    naming: Naming | None  # None: the server holds no Claude Code metrics (in the window)
    window_s: float
    results: Mapping[str, tuple[Sample, ...]] = field(default_factory=dict)  # by Plan.instant key
    per_minute: tuple[Series, ...] = ()
    spark_start_s: float = 0.0  # time of the first per-minute point
    at_s: float = field(default=0.0, compare=False)  # evaluation time


def seconds_since_midnight(at_s: float) -> float:
    t = time.localtime(at_s)
    return t.tm_hour * 3600 + t.tm_min * 60 + t.tm_sec + at_s % 1


async def fetch(client: PromClient, match: str, window_s: float, at_s: float,
                previous: Fetched | None = None) -> Fetched:
    """Sequential on purpose: a poll is a handful of queries, and a team's server should see
    one ccmon as one light client. Raises PromError.

    Sessions' first and last samples come from a subquery over the whole window on the first
    poll only; later polls look at what is new since ``previous`` and merge (a first sample
    never changes once found), which keeps a poll's cost flat as the window fills up."""
    found = await client.label_values("__name__", discovery_match(match), at_s - window_s, at_s)
    naming = discover(found)
    if naming is None:
        return Fetched(None, window_s, at_s=at_s)
    incremental = (previous is not None and previous.naming is not None and previous.window_s == window_s
                   and (previous.naming.prefix, previous.naming.style) == (naming.prefix, naming.style))
    seen_s = min(window_s, at_s - previous.at_s + LATE_S) if incremental else window_s
    p = plan(naming, match, window_s, seconds_since_midnight(at_s), seen_s)
    results = {key: await client.query(q, at_s) for key, q in p.instant.items()}
    if incremental:
        results["seen"] = merge_seen(previous.results.get("seen", ()), results["seen"], at_s - window_s)
    start = at_s - (SPARK_MINUTES - 1) * 60
    per_minute = await client.query_range(p.per_minute, start, at_s, 60)
    return Fetched(naming, window_s, results, per_minute, start, at_s)


def merge_seen(old: tuple[Sample, ...], new: tuple[Sample, ...], oldest_s: float) -> tuple[Sample, ...]:
    """Earliest "first" and latest "last" per session; a session whose last sample is older
    than the window leaves, as it does from every other query."""
    best: dict[tuple[tuple[str, str], ...], Sample] = {}
    for s in (*old, *new):
        key = tuple(sorted(s.labels.items()))
        kept = best.get(key)
        earlier = s.label(PART) == "first"
        if kept is None or (s.value < kept.value if earlier else s.value > kept.value):
            best[key] = s
    last = {_session(s): s.value for s in best.values() if s.label(PART) == "last"}
    return tuple(s for _, s in sorted(best.items()) if last.get(_session(s), 0.0) >= oldest_s)


def _session(s: Sample) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, v) for k, v in s.labels.items() if k != PART))
