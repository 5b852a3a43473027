"""Time to first token (``api_request.ttft_ms``, Claude Code 2.1.330+): p50 and p95 of the
newest requests, for API health beside the full-response latency."""

from __future__ import annotations

RECENT = 2000  # as many requests as the latency percentiles use


def nearest_rank(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (an observed value, as the latency percentiles are)."""
    if not values:
        return None
    s = sorted(values)
    rank = max(1, -(-int(q * len(s) * 1000) // 1000))  # ceil without float drift (0.95 * 20 = 19.000000000000004)
    return s[min(rank, len(s)) - 1]


def ttft_percentiles(values: list[float]) -> tuple[float | None, float | None]:
    return nearest_rank(values, 0.50), nearest_rank(values, 0.95)
