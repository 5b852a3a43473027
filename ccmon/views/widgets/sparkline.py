"""Sparklines: a series as one line of block characters, newest on the right."""

from __future__ import annotations

from collections.abc import Sequence

BARS = " ▁▂▃▄▅▆▇█"


def bars(values: Sequence[float], width: int) -> str:
    """The last ``width`` values (one column per sample), scaled to the largest of them; a value
    above zero never rounds down to blank. Narrower than the series, the oldest are left out."""
    shown = list(values[-width:]) if width > 0 else []
    top = max(shown, default=0.0)
    out = []
    for v in shown:
        if v <= 0 or top <= 0:
            out.append(BARS[0])
        else:
            out.append(BARS[max(1, round(v / top * (len(BARS) - 1)))])
    return "".join(out).rjust(max(width, 0))


def scaled(label: str, values: Sequence[float], width: int, top_text: str) -> tuple[str, str]:
    """A label with the scale (``$/min max $0.0595 ``) and the bars for the rest of ``width``:
    without the maximum, a sparkline only says "more" or "less"."""
    head = f"{label} max {top_text} " if any(v > 0 for v in values[-max(width, 1) :]) else f"{label} "
    return head, bars(values, width - len(head))
