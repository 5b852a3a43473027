"""The cache clock: when a session's prompt cache goes cold, and what idle gaps cost.

Anthropic's prompt cache keeps a written prefix for a lifetime that each read renews: 5 minutes,
or 1 hour for writes made with the 1-hour TTL. Claude Code 2.1.330 reports which on every
``api_request`` (``cache_creation_5m_tokens`` / ``cache_creation_1h_tokens``). So a session's
cache is warm until its last request's time plus the lifetime its writes used; the first
request after a longer pause writes the prefix again at the cache-write price instead of
reading it at a tenth of that (a "cache miss").

The miss cost of such a request is its cache-creation tokens at the model's cache-write price:
the price Claude Code was observed to charge (``PRICES``, from the 2.1.330 captures), else
estimated from the request's own cost with the usual ratios (``estimated_write_rate``).
The 1-hour write price is 1.6 times the 5-minute one. Pure functions over ``api_request``
event tuples ``(t_ns, session, name, attrs)``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .names import model_group
from .values import as_float, as_text

FIVE_MIN_NS = 300_000_000_000
ONE_HOUR_NS = 3_600_000_000_000
ONE_HOUR_FACTOR = 1.6  # 1 h cache writes cost 1.6 x the 5 min price (2 x input vs 1.25 x input)

# USD per million tokens: input, output, cache write (5 min), cache read, as Claude Code 2.1.330
# priced them (captures-2.1.330, "Prices": cost_usd equals cost.usage for these).
PRICES: dict[str, tuple[float, float, float, float]] = {
    "claude-opus-5-5": (4, 20, 5, 0.20),
    "claude-opus-4-8": (5, 25, 6.25, 0.50),
    "claude-sonnet-5-5": (2, 10, 2.5, 0.10),
    "claude-sonnet-5": (2, 10, 2.5, 0.20),
    "claude-sonnet-4-5": (3, 15, 3.75, 0.30),
    "claude-haiku-5-5": (0.1, 0.5, 0.125, 0.01),
    "claude-haiku-4-5": (1, 5, 1.25, 0.10),
    "claude-haiku-4-5-20251001": (1, 5, 1.25, 0.10),
    "claude-3-5-haiku-20241022": (0.8, 4, 1, 0.08),
}
# Relative to input: output 5x, cache write 1.25x, cache read 0.1x (the published ratios).
_RATIOS = (1.0, 5.0, 1.25, 0.1)


def _n(a: dict[str, Any], key: str) -> float:
    return as_float(a.get(key)) or 0.0


def estimated_write_rate(a: dict[str, Any]) -> float | None:
    """USD per 5-minute cache-write token implied by one request's ``cost_usd`` and tokens,
    assuming the published price ratios; None when the request has no cost or tokens."""
    cost = as_float(a.get("cost_usd"))
    units = sum(
        r * _n(a, k)
        for r, k in zip(
            _RATIOS, ("input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens"), strict=False
        )
    )
    if not cost or units <= 0:
        return None
    return cost / units * _RATIOS[2]


def write_rate(a: dict[str, Any]) -> tuple[float | None, str]:
    """(USD per 5-minute cache-write token, where the price comes from) for a request's model."""
    model = model_group(as_text(a.get("model"))) if a.get("model") else ""
    price = PRICES.get(model)
    if price is not None:
        return price[2] / 1e6, "price"
    est = estimated_write_rate(a)
    return (est, "estimated") if est is not None else (None, "unknown")


def lifetime_of(a: dict[str, Any]) -> int | None:
    """The cache lifetime this request's writes used; None when it says nothing (no breakdown
    or no write): the previous lifetime still holds."""
    if _n(a, "cache_creation_1h_tokens") > 0:
        return ONE_HOUR_NS
    if _n(a, "cache_creation_5m_tokens") > 0:
        return FIVE_MIN_NS
    return None


@dataclass(frozen=True, slots=True)
class CacheMiss:
    t_ns: int
    gap_ns: int  # since the previous request
    lifetime_ns: int  # the lifetime that had run out
    tokens: float  # cache-creation tokens written again
    cost: float  # at the model's cache-write price (0 when unknown)
    rate_source: str  # "price", "estimated" or "unknown"
    model: str


@dataclass(frozen=True, slots=True)
class SessionCache:
    session: str
    requests: int
    last_request_ns: int
    lifetime_ns: int  # of the writes in effect after the last request
    writes_5m: float
    writes_1h: float
    writes_total: float  # cache_creation_tokens (without a 5m / 1h breakdown too)
    misses: tuple[CacheMiss, ...]

    @property
    def cold_at_ns(self) -> int:
        return self.last_request_ns + self.lifetime_ns

    def remaining_ns(self, now_ns: int) -> int:
        """Until the cache goes cold; 0 or less: it is cold."""
        return self.cold_at_ns - now_ns

    def warm(self, now_ns: int) -> bool:
        return self.remaining_ns(now_ns) > 0

    @property
    def miss_cost(self) -> float:
        return sum(m.cost for m in self.misses)

    @property
    def miss_tokens(self) -> float:
        return sum(m.tokens for m in self.misses)


def _miss_cost(a: dict[str, Any]) -> tuple[float, str]:
    rate, source = write_rate(a)
    if rate is None:
        return 0.0, source
    w5, w1 = _n(a, "cache_creation_5m_tokens"), _n(a, "cache_creation_1h_tokens")
    total = _n(a, "cache_creation_tokens")
    if w5 + w1 <= 0:
        return total * rate, source
    return (w5 + max(0.0, total - w5 - w1)) * rate + w1 * rate * ONE_HOUR_FACTOR, source


def session_caches(events: Iterable[tuple[int, str, str, dict[str, Any]]]) -> dict[str, SessionCache]:
    """Per session, from its ``api_request`` events (any order; other events are skipped)."""
    by_session: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for t, session, name, a in events:
        if name == "api_request":
            by_session.setdefault(session, []).append((t, a))
    out = {}
    for session, reqs in by_session.items():
        reqs.sort(key=lambda r: r[0])
        lifetime = FIVE_MIN_NS
        prev_t: int | None = None
        w5 = w1 = wt = 0.0
        misses = []
        for t, a in reqs:
            cw = _n(a, "cache_creation_tokens")
            if prev_t is not None and t - prev_t > lifetime and cw > 0:
                cost, source = _miss_cost(a)
                misses.append(
                    CacheMiss(
                        t,
                        t - prev_t,
                        lifetime,
                        cw,
                        cost,
                        source,
                        model_group(as_text(a.get("model"))) if a.get("model") else "",
                    )
                )
            w5 += _n(a, "cache_creation_5m_tokens")
            w1 += _n(a, "cache_creation_1h_tokens")
            wt += cw
            lifetime = lifetime_of(a) or lifetime
            prev_t = t
        out[session] = SessionCache(session, len(reqs), reqs[-1][0], lifetime, w5, w1, wt, tuple(misses))
    return out


def clock_text(c: SessionCache, now_ns: int) -> str:
    """ "warm 3m 12s (5 min cache)" or "cold for 2h 05m (5 min cache)"."""
    left = c.remaining_ns(now_ns)
    life = "1 h" if c.lifetime_ns == ONE_HOUR_NS else "5 min"
    return f"{'warm ' + _dur(left) if left > 0 else 'cold for ' + _dur(-left)} ({life} cache)"


def _dur(ns: int) -> str:
    s = max(0, ns) // 1_000_000_000
    if s < 60:
        return f"{s}s"
    m, s = divmod(s, 60)
    if m < 60:
        return f"{m}m {s:02d}s"
    h, m = divmod(m, 60)
    return f"{h}h {m:02d}m"


def cache_dict(caches: dict[str, SessionCache], now_ns: int) -> dict[str, Any]:
    """``ccmon report --by cache``: per session, JSON-ready."""
    from .summary import iso, usd

    rows = sorted(caches.values(), key=lambda c: (-c.miss_cost, -c.last_request_ns, c.session))
    return {
        "by": "cache",
        "miss_cost_usd_total": usd(sum(c.miss_cost for c in rows)),
        "cost_source": "cache-creation tokens after an idle gap longer than the cache lifetime, at the model's "
        "cache-write price",
        "sessions": [
            {
                "session_id": c.session,
                "requests": c.requests,
                "last_request": iso(c.last_request_ns),
                "lifetime_s": c.lifetime_ns // 1_000_000_000,
                "cold_at": iso(c.cold_at_ns),
                "warm": c.warm(now_ns),
                "remaining_s": max(0, c.remaining_ns(now_ns)) // 1_000_000_000,
                "cache_writes": {"5m": int(c.writes_5m), "1h": int(c.writes_1h), "total": int(c.writes_total)},
                "misses": len(c.misses),
                "miss_tokens": int(c.miss_tokens),
                "miss_cost_usd": usd(c.miss_cost),
                "miss_rate_sources": sorted({m.rate_source for m in c.misses}),
            }
            for c in rows
        ],
    }


def cache_text(d: dict[str, Any]) -> str:
    from .text import clean

    lines = [
        f"prompt cache per session  (cache misses after idle gaps: ${d['miss_cost_usd_total']:.4f}; "
        f"{d['cost_source']})",
        "",
    ]
    lines.append(
        f"  {'session':<38} {'state':<6} {'cold at':<25} {'writes 5m':>10} {'writes 1h':>10} "
        f"{'writes':>10} {'misses':>6} {'miss cost':>10}"
    )
    for s in d["sessions"]:
        lines.append(
            f"  {clean(s['session_id'])[:38]:<38} {'warm' if s['warm'] else 'cold':<6} "
            f"{s['cold_at'] or '-':<25} {s['cache_writes']['5m']:>10,} {s['cache_writes']['1h']:>10,} "
            f"{s['cache_writes']['total']:>10,} "
            f"{s['misses']:>6} {'$' + format(s['miss_cost_usd'], '.4f'):>10}"
        )
    return "\n".join(lines)
