"""A session's cumulative cost over time: a filled step chart with a $ axis and a time axis.

Hand-drawn with block characters (eighths of a cell for the top of each column), so it needs no
plotting dependency and redraws in well under a millisecond. Only the session screen uses it.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence

from rich.console import RenderableType
from rich.text import Text
from textual.widget import Widget

from .. import fmt
from .sparkline import BARS

MIN_SPAN_NS = 60_000_000_000  # a session seen at one instant is drawn over a minute


def draw(points: Sequence[tuple[int, float]], width: int, height: int) -> Text:
    """``points`` are (t_ns, cumulative USD) in time order."""
    if not points:
        return Text("No cost recorded for this session yet.", "dim italic")
    top = max(v for _, v in points)
    labels = {0: fmt.usd(top), (height - 3) // 2: fmt.usd(top / 2), height - 3: fmt.usd(0)}
    lw = max(len(s) for s in labels.values())
    plot_w = max(width - lw - 2, 1)
    plot_h = max(height - 2, 1)
    times = [t for t, _ in points]
    t0, t1 = times[0], times[-1]
    if t1 - t0 < MIN_SPAN_NS:
        pad = (MIN_SPAN_NS - (t1 - t0)) // 2
        t0, t1 = t0 - pad, t1 + pad
    # Cumulative cost at the right edge of each column (so the last column is the total).
    heights = []
    for c in range(plot_w):
        t = t0 + (t1 - t0) * (c + 1) // plot_w
        i = bisect_right(times, t)
        v = points[i - 1][1] if i else 0.0
        heights.append(round(v / top * plot_h * 8) if top > 0 else 0)

    out = Text(no_wrap=True, overflow="crop")
    for row in range(plot_h):
        label = labels.get(row)
        out.append(f"{label or '':>{lw}} {'┤' if label else '│'}", "dim")
        floor = (plot_h - 1 - row) * 8
        out.append("".join(BARS[min(max(h - floor, 0), 8)] for h in heights), "green")
        out.append("\n")
    out.append(f"{'':>{lw}} └{'─' * plot_w}\n", "dim")
    left, right = fmt.clock_time(t0), fmt.clock_time(t1)
    gap = max(plot_w - len(left) - len(right), 1)
    out.append(f"{'':>{lw}}  {left}{' ' * gap}{right}", "dim")
    return out


class CostChart(Widget):
    DEFAULT_CSS = "CostChart { height: 12; }"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.points: tuple[tuple[int, float], ...] = ()

    def plot(self, points: Sequence[tuple[int, float]]) -> None:
        self.points = tuple(points)
        self.refresh()

    def render(self) -> RenderableType:
        return draw(self.points, self.content_size.width, self.content_size.height)
