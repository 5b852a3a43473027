"""How numbers, times and durations read on screen. Pure functions, one format per kind of figure."""

from __future__ import annotations

import time

DASH = "—"  # no value (0/0, nothing measured yet): never a misleading zero


def usd(x: float) -> str:
    """Four decimals under $10 (one API call costs cents), cents above."""
    if abs(x) < 10:
        return f"${x:,.4f}"
    return f"${x:,.2f}"


PROVISIONAL = "~"  # marks a figure that includes API calls no metric point has counted yet


def marked(text: str, provisional: bool) -> str:
    """``text`` marked provisional (``~$0.2367``) when it includes such calls."""
    return PROVISIONAL + text if provisional else text


def per_hour(x: float | None) -> str:
    """A spend rate, to the cent: $1.07/h."""
    if x is None:
        return DASH
    if 0 < x < 0.005:
        return "<$0.01/h"
    return f"${x:,.2f}/h"


def count(x: float) -> str:
    """Counters arrive as doubles; they are whole numbers on screen: 53,406."""
    return f"{round(x):,}"


def compact(x: float) -> str:
    """A count in at most six characters, for table columns: 950, 78.3k, 12.3M."""
    for limit, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= limit:
            v = x / limit
            return f"{v:.1f}{unit}" if v < 100 else f"{v:.0f}{unit}"
    return f"{round(x)}"


def percent(x: float | None, digits: int = 1) -> str:
    return DASH if x is None else f"{x * 100:.{digits}f}%"


def ratio(x: float | None) -> str:
    """Cache reads per cache write, the way teams quote it: 3.8:1, 20:1."""
    if x is None:
        return DASH
    return f"{x:.1f}:1" if x < 10 else f"{x:.0f}:1"


def seconds(s: float) -> str:
    """An active time: 0.6s, 59s, 12m 05s, 3h 02m."""
    if s < 10:
        return f"{s:.1f}s"
    if s < 60:
        return f"{s:.0f}s"
    m, sec = divmod(int(s), 60)
    if m < 60:
        return f"{m}m {sec:02d}s"
    h, m = divmod(m, 60)
    return f"{h}h {m:02d}m"


def millis(ms: float | None) -> str:
    if ms is None:
        return DASH
    return f"{ms:.0f} ms" if ms < 1000 else f"{ms / 1000:.1f} s"


def age(delta_ns: int) -> str:
    """How long ago, coarsely: 3s, 5m, 2h, 4d."""
    s = max(delta_ns, 0) / 1e9
    for limit, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if s >= limit:
            return f"{int(s // limit)}{unit}"
    return f"{int(s)}s"


def clock_time(t_ns: int) -> str:
    """Local wall-clock time of a record: 14:03:27."""
    return time.strftime("%H:%M:%S", time.localtime(t_ns / 1e9))


def when(t_ns: int, now_ns: int) -> str:
    """A timestamp as short as it can be: the time today, else the date and minute."""
    if not t_ns:
        return DASH
    t = time.localtime(t_ns / 1e9)
    if time.localtime(now_ns / 1e9)[:3] == t[:3]:
        return time.strftime("%H:%M:%S", t)
    return time.strftime("%m-%d %H:%M", t)


def plural(n: float, word: str) -> str:
    """``1 commit``, ``3 commits``, ``1 PR``."""
    c = round(n)
    return f"{c:,} {word if c == 1 else word + 's'}"
