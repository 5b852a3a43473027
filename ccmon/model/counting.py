"""The counting rules, as pure functions: what a number may be, what it adds, and when.

Everything that decides ccmon's totals lives here, so that it can be read in one place and
tested without SQLite or sockets; the decoder (``otlp``) and the store call these functions.
The README's "What ccmon counts, exactly" states the same rules in prose.

1. Finite numbers only: NaN, +-Inf and magnitudes past ``MAX_VALUE`` (where a handful would
   overflow a double total) are refused, and the export says so (OTLP partial success).
2. Monotonic means monotonic: a negative value on a monotonic Sum is refused; a cumulative
   value below the last one of its epoch is a reset, counted from zero (Prometheus'
   ``increase()``). Only monotonic Sums are counters: a gauge or up-down sum carrying a Claude
   Code name is renamed (``"<name> (gauge)"``) so it can never add to cost or tokens.
3. Claude Code's data and the rest: a resource is Claude Code's when its ``service.name`` says
   so or it carries ``claude_code.*`` names; everything else is "other telemetry".
4. Time: totals never depend on a timestamp. Per-minute placement does: a time more than
   ``FUTURE_SLACK_NS`` ahead of arrival or older than the retention horizon is placed at
   arrival; a cumulative epoch's first value is spread over its interval, never dropped into
   one minute.
5. Rates use complete minutes only (``burn``).
6. Once only: ``event_key`` is the identity of a log record for dedupe.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from typing import Any

from .names import canonical

MINUTE_NS = 60_000_000_000
HOUR_NS = 60 * MINUTE_NS
DAY_NS = 86_400_000_000_000
MAX_NS = 2**63 - 1  # SQLite integers are signed 64-bit; OTLP times are fixed64
# 1e15 USD or tokens is far beyond anything real, and a total of a billion such values is
# still finite and exact to the cent's noise; 1e308 twice is not.
MAX_VALUE = 1e15
FUTURE_SLACK_NS = 5 * MINUTE_NS
DEFAULT_HORIZON_NS = 30 * DAY_NS  # the longest a first value is spread back over
NO_HORIZON_NS = 1 << 62  # without retention (keep everything) no time stamp is too old to place as sent
SPREAD_MAX_NS = 24 * HOUR_NS  # spread per minute over this much; per hour before it

CLAUDE_SERVICES = frozenset({"claude-code", "claude-code-desktop"})
CLAUDE_PREFIX = "claude_code."

# Metric kinds as the decoder names them.
SUM = "sum"  # monotonic Sum: the only kind that counts as a counter
UPDOWN = "non-monotonic sum"
GAUGE = "gauge"
HISTOGRAM = "histogram"


# -- 1 and 2: what a value may be -----------------------------------------------------------


def refuse_value(value: float, *, monotonic: bool) -> str | None:
    """Why ``value`` cannot be stored, or None when it can."""
    if not math.isfinite(value):
        return f"value {value} is not a finite number"
    if abs(value) > MAX_VALUE:
        return f"value {value:g} is beyond {MAX_VALUE:g}"
    if monotonic and value < 0:
        return f"negative value {value:g} on a monotonic sum"
    return None


def counter_name(metric: str, kind: str) -> str:
    """The name a point is counted under: a Claude Code name on anything but a monotonic Sum
    is kept apart (``"claude_code.cost.usage (gauge)"``), so it is "other", never cost."""
    if kind == SUM or not metric.startswith(CLAUDE_PREFIX):
        return metric
    return f"{metric} ({kind})"


def kept_apart(metric: str) -> bool:
    """A name ``counter_name`` set apart: "other", and not a sign of a session either."""
    return metric.endswith(")") and metric.startswith(CLAUDE_PREFIX) and " (" in metric


def cumulative_increment(value: float, previous: float | None) -> float:
    """What a cumulative point adds over the newest value of its epoch. Lower than before
    means the counter was reset in between: it counts from zero (like Prometheus)."""
    if previous is None or value < previous:
        return value
    return value - previous


def finite_attr(value: Any) -> Any:
    """An attribute value that JSON can hold: a non-finite float becomes its text."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


# -- 3: whose data ----------------------------------------------------------------------------


def is_claude(resource: dict[str, Any], names: Iterable[str | None]) -> bool:
    """A resource is Claude Code's when its service.name is, or any of its metric, log or
    span names starts with ``claude_code.`` (``names`` is only read when service.name is not
    Claude Code's: pass a generator)."""
    if resource.get("service.name") in CLAUDE_SERVICES:
        return True
    return any(isinstance(n, str) and n.startswith(CLAUDE_PREFIX) for n in names)


# -- 4: where in time -------------------------------------------------------------------------


def clamp_ns(t: int) -> int:
    return t if t <= MAX_NS else MAX_NS


def placed(t_ns: int, arrival_ns: int, horizon_ns: int = DEFAULT_HORIZON_NS) -> int:
    """Where a time stamp goes for time-based figures: as sent, unless it is more than five
    minutes ahead of its arrival or older than the horizon (the retention window)."""
    if t_ns > arrival_ns + FUTURE_SLACK_NS or t_ns < arrival_ns - horizon_ns:
        return arrival_ns
    return t_ns


def placement(
    start_ns: int, end_ns: int, amount: float, arrival_ns: int, *, spread: bool, horizon_ns: int = DEFAULT_HORIZON_NS
) -> list[tuple[int, int, float]]:
    """``amount`` as (first_ns, t_ns, part) pieces; the parts add up to ``amount`` (the last
    takes the rounding remainder).

    ``spread`` (a cumulative epoch's first value): the value grew over its whole interval, so
    it is shared over start..end in proportion to time (from the horizon at the oldest): one
    piece per minute for the last ``SPREAD_MAX_NS`` (what per-minute figures can show), one per
    hour before that (what "today" needs, in a bounded number of rows). Otherwise it is one
    piece at its end time."""
    end = placed(end_ns, arrival_ns, horizon_ns)
    if end != end_ns or not spread or not 0 < start_ns < end_ns:
        first = start_ns if end == end_ns and 0 < start_ns <= end_ns else end
        return [(first, end, amount)]
    lo = max(start_ns, arrival_ns - min(horizon_ns, DEFAULT_HORIZON_NS))  # spread over 30 days at most
    if end_ns // MINUTE_NS == lo // MINUTE_NS:
        return [(lo, end_ns, amount)]
    by_minute = max(lo, end_ns - SPREAD_MAX_NS)
    span = end_ns - lo
    out: list[tuple[int, int, float]] = []
    done = 0.0
    t = lo
    while t < end_ns:
        if t < by_minute:
            nxt = min((t // HOUR_NS + 1) * HOUR_NS, by_minute)
        else:
            nxt = min((t // MINUTE_NS + 1) * MINUTE_NS, end_ns)
        part = amount * ((nxt - t) / span)
        out.append((t, nxt - 1, part))  # the piece covers [t, nxt): its last instant is nxt - 1
        done += part
        t = nxt
    a, b, c = out[-1]
    out[-1] = (a, b, c + (amount - done))
    return out


# -- 5: rates ---------------------------------------------------------------------------------


def burn(per_minute: dict[int, float], now_ns: int, minutes: int) -> float:
    """USD per hour over the last ``minutes`` complete minutes before ``now_ns`` (the current,
    partial minute is not one of them)."""
    now_min = now_ns // MINUTE_NS
    total = sum(per_minute.get(m, 0.0) for m in range(now_min - minutes, now_min))
    return max(total, 0.0) * 60.0 / minutes


# -- 6: once only -----------------------------------------------------------------------------


def event_key(t_ns: int, name: str, session: str, seq: int | None, own: dict[str, Any], resource_json: str) -> bytes:
    """The identity of a log record. With ``event.sequence`` (Claude Code counts it up per
    process): session, sequence, time and name. Without: a digest of time, name, attributes
    and resource, so a re-sent record still counts once."""
    if seq is not None:
        ident = f"s\x1f{session}\x1f{seq}\x1f{t_ns}\x1f{name}"
    else:
        ident = f"d\x1f{t_ns}\x1f{name}\x1f{canonical(own)}\x1f{resource_json}"
    return hashlib.blake2b(ident.encode("utf-8", "surrogatepass"), digest_size=16).digest()
