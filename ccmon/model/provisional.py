"""Provisional cost: API calls the cost metric has not counted yet.

Claude Code exports its metrics every 60 s by default but logs each ``api_request`` event
(with its ``cost_usd`` and tokens) within seconds. Between two metric exports the dashboard
adds the calls that are newer than the session's newest cost or token metric point, so cost
moves within seconds of a call; the views mark such figures as provisional. When the next
metric point arrives it covers those calls and they leave this ledger: a call is never counted
twice, once as an event and once in the metric.

Two rules decide when a call is covered, per session:

* **time**: Claude Code adds a call to its counters and logs its event in the same
  synchronous step, so a metric point that ends at or after a call's time has counted it;
* **amount** (the safety net for clocks ccmon had to correct, or a point placed a nanosecond
  early): ``excess`` follows how far the events ran ahead of the metric (it grows by each
  call's cost and shrinks by each cost increment, never below zero). Whenever the uncovered
  calls add up to more than that, the oldest go first.

Calls older than ``MAX_AGE_NS`` leave the ledger too: at any usual export interval the metric
has arrived by then, and when it never does (metrics not exported) the events alone are not
what ccmon counts. Memory is bounded by that age and by ``MAX_CALLS`` per session.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .counting import MAX_VALUE
from .names import model_group
from .values import as_float

MAX_AGE_NS = 10 * 60 * 1_000_000_000
MAX_CALLS = 10_000  # per session: a burst beyond this loses its oldest provisional calls
_EPS = 1e-9
MINUTE_NS = 60_000_000_000
NO_TOKENS = (0.0, 0.0, 0.0, 0.0)


@dataclass(frozen=True, slots=True)
class Call:
    t_ns: int
    cost: float
    tokens: tuple[float, float, float, float]  # input, output, cacheRead, cacheCreation
    model: str  # grouped, as the metric's model label is


def call_of(t_ns: int, attrs: dict[str, Any]) -> Call:
    """An ``api_request`` event's cost and tokens (absent or non-finite values are 0)."""

    def num(key: str) -> float:
        v = as_float(attrs.get(key))
        return v if v is not None and 0 <= v <= MAX_VALUE else 0.0  # counting rule 1: no overflow

    raw_model = attrs.get("model")
    return Call(
        t_ns,
        num("cost_usd"),
        (num("input_tokens"), num("output_tokens"), num("cache_read_tokens"), num("cache_creation_tokens")),
        model_group(str(raw_model)) if raw_model is not None else "unknown",
    )


@dataclass(slots=True)
class Ledger:
    """One session's calls newer than its newest cost/token metric point, oldest first. The
    caller keeps that point's time and passes it in (most sessions have no ledger at all)."""

    calls: deque[Call] = field(default_factory=deque)
    excess: float = 0.0  # event cost not yet matched by metric cost (see the module docstring)

    def add(self, call: Call) -> None:
        """Record a call the metric has not covered (newer than its newest point)."""
        if self.calls and call.t_ns < self.calls[-1].t_ns:  # out of order: rare, keep time order
            ordered = sorted([*self.calls, call], key=lambda c: c.t_ns)
            self.calls = deque(ordered)
        else:
            self.calls.append(call)
        self.excess += call.cost
        while len(self.calls) > MAX_CALLS:
            self.calls.popleft()

    def metric(self, horizon_ns: int, cost_inc: float = 0.0) -> bool:
        """A cost (``cost_inc``) or token metric point arrived; ``horizon_ns`` is the newest
        such point's time. True when calls left."""
        before = len(self.calls)
        calls = self.calls
        while calls and calls[0].t_ns <= horizon_ns:
            calls.popleft()
        if cost_inc:
            self.excess = max(0.0, self.excess - cost_inc)
            pending = sum(c.cost for c in calls)
            while calls and pending > self.excess + _EPS * max(1.0, pending):
                pending -= calls.popleft().cost
        return len(calls) != before

    def expire(self, oldest_ns: int) -> bool:
        """Drop calls made before ``oldest_ns``; True when any left."""
        before = len(self.calls)
        while self.calls and self.calls[0].t_ns < oldest_ns:
            gone = self.calls.popleft()
            self.excess = max(0.0, self.excess - gone.cost)
        return len(self.calls) != before

    @property
    def cost(self) -> float:
        return sum(c.cost for c in self.calls)

    @property
    def tokens(self) -> tuple[float, float, float, float]:
        t = [0.0, 0.0, 0.0, 0.0]
        for c in self.calls:
            for i, v in enumerate(c.tokens):
                t[i] += v
        return (t[0], t[1], t[2], t[3])


@dataclass(slots=True)
class Totals:
    """Every session's provisional calls, summed the ways a snapshot shows them."""

    cost: float = 0.0
    today: float = 0.0
    calls: int = 0
    tokens: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0, 0.0])
    by_model: dict[str, tuple[float, tuple[float, ...]]] = field(default_factory=dict)
    by_minute: dict[int, list[float]] = field(default_factory=dict)  # [cost, input, output, cacheRead, cacheCreation]

    def add(self, calls: Iterable[Call], today: str) -> None:
        for c in calls:
            self.calls += 1
            self.cost += c.cost
            # whole seconds, as the metric's days are placed
            if time.strftime("%Y-%m-%d", time.localtime(c.t_ns // 1_000_000_000)) == today:
                self.today += c.cost
            for i, v in enumerate(c.tokens):
                self.tokens[i] += v
            cost, tokens = self.by_model.get(c.model, (0.0, NO_TOKENS))
            self.by_model[c.model] = (cost + c.cost, tuple(a + b for a, b in zip(tokens, c.tokens, strict=True)))
            b = self.by_minute.setdefault(c.t_ns // MINUTE_NS, [0.0] * 5)
            b[0] += c.cost
            for i, v in enumerate(c.tokens):
                b[1 + i] += v

    def merged(self, minutes: dict[int, list[float]]) -> dict[int, list[float]]:
        """``minutes`` (the metrics' per-minute buckets) with these calls added; the same
        dict when there are none (no copy on the usual path)."""
        if not self.by_minute:
            return minutes
        out = dict(minutes)
        for i, extra in self.by_minute.items():
            base = out.get(i)
            out[i] = extra if base is None else [a + b for a, b in zip(base, extra, strict=True)]
        return out
