"""Two lines under a session's head: its prompt-cache clock and where its money comes from.

Cache: warm for how long (the last request plus the lifetime its writes used), the 5 min / 1 h
cache writes, and the cost of cache misses after idle gaps. Money: the figure and its source
(the ``cost.usage`` metric, or the sum of ``api_request.cost_usd``), a drift badge when the two
disagree, and how many of the requests the token metric implies arrived as events. Read from
the source's database on a worker thread (``views.insight_load``).
"""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.widgets import Static

from ...model import cache_clock, insight_db, money
from .. import fmt, insight_load


def insight_text(cache: cache_clock.SessionCache | None, m: money.SessionMoney | None, now_ns: int) -> Text:
    t = Text(no_wrap=True, overflow="ellipsis")
    t.append("Cache  ", "bold")
    if cache is None:
        t.append("no API requests seen", "dim")
    else:
        warm = cache.warm(now_ns)
        t.append(cache_clock.clock_text(cache, now_ns), "green" if warm else "yellow")
        t.append(
            f" · writes 5m {cache.writes_5m:,.0f} · 1h {cache.writes_1h:,.0f} · all {cache.writes_total:,.0f}"
            f" · misses after idle {len(cache.misses)}",
            "dim",
        )
        if cache.misses:
            t.append(f" cost {fmt.usd(cache.miss_cost)}", "bold yellow")
    t.append("\n")
    t.append("Money  ", "bold")
    if m is None:
        t.append("nothing arrived", "dim")
        return t
    cost, source = m.cost
    t.append(fmt.usd(cost), "bold")
    t.append(f" from the {source}", "dim")
    if m.metric_cost is not None and m.event_cost is not None and not m.drifting:
        t.append(f" · events {fmt.usd(m.event_cost)} agree ✓", "green")
    seen = f" · {m.requests_seen:,} requests seen"
    if m.coverage is not None:
        seen += (
            f" of ~{m.requests_implied:,} ({fmt.percent(m.coverage, 0)} of the tokens)"
            if m.requests_implied
            else " (no api_request events)"
        )
    t.append(seen, "dim")
    badge = m.badge()
    if badge:
        t.append(f"  ⚠ {badge}", "bold red")
    return t


class SessionInsight(Static):
    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.loaded: tuple | None = None

    def reload(self, source, key: str) -> None:
        self._load(source, key)

    @work(group="session-insight", exclusive=True)
    async def _load(self, source, key: str) -> None:
        def query(conn):
            reqs = insight_db.api_requests(conn, session=key)
            sums = insight_db.metric_sums(conn, ("claude_code.cost.usage", "claude_code.token.usage"), 0, key)
            return cache_clock.session_caches(reqs).get(key), money.session_money(sums, reqs).get(key)

        try:
            got = await insight_load.load(source, query)
        except Exception:  # the session screen reports read failures itself
            return
        if got is None:
            self.display = False  # Prometheus: no events, nothing to say here
            return
        self.loaded = got
        import time

        cache, m = got
        self.update(insight_text(cache, m, getattr(self.app, "clock", time.time_ns)()))
