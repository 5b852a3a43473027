"""The headline strip: the figures a glance is for, on every layout and at every size.

Total, today, the 5-minute burn rate, tokens in the last minute, the cache hit rate and the
sessions (active of all). A ``~`` marks figures that include API calls no metric point has
counted yet (``model.provisional``). Each figure is one unbreakable group ("today $1.49"); the groups fill
lines left to right, so at 80 columns the strip takes two lines instead of cutting a number.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text

from ...model.session_state import state
from ...model.snapshot import Snapshot
from .. import fmt
from .text_view import TextView


def active_sessions(snap: Snapshot) -> int:
    """Sessions in the "active" state (``model.session_state``), as the sessions table shows them."""
    return sum(1 for s in snap.sessions if state(s, snap.now_ns) == "active")


def range_group(range_name: str, pending: str | None) -> list[Text]:
    """The time range the figures cover (none for "all"), and a new one still loading."""
    out = [Text.assemble(("range ", "dim"), (range_name, "bold reverse"))] if range_name != "all" else []
    if pending:
        out.append(Text(f"→ {pending}", "italic"))
    return out


def groups(data: Any) -> list[Text]:
    total, today, burn, tok_min, cache, sessions, active, prov, range_name, pending = data
    return range_group(range_name, pending) + [
        Text.assemble(("Total ", "dim"), (fmt.marked(fmt.usd(total), prov), "bold")),
        Text.assemble(("today ", "dim"), (fmt.marked(fmt.usd(today), prov), "bold")),
        Text.assemble(("burn 5m ", "dim"), (fmt.per_hour(burn), "bold")),
        Text.assemble((fmt.marked(fmt.compact(tok_min), prov), "bold"), (" tok/min", "dim")),
        Text.assemble(("cache hit ", "dim"), (fmt.percent(cache), "bold")),
        Text.assemble(
            (f"{sessions:,}", "bold"),
            (" session · " if sessions == 1 else " sessions · ", "dim"),
            (f"{active:,}", "bold"),
            (" active", "dim"),
        ),
    ]


def layout(parts: list[Text], width: int, gap: str = "  ") -> Text:
    """The groups in lines of at most ``width`` cells, never splitting a group."""
    out = Text(no_wrap=True, overflow="ellipsis")
    used = 0
    for part in parts:
        need = part.cell_len + (len(gap) if used else 0)
        if used and used + need > width:
            out.append("\n")
            used = 0
            need = part.cell_len
        if used:
            out.append(gap)
        out.append_text(part)
        used += need
    return out


class HeadlineBar(TextView):
    """One or two lines (``height: auto`` in ccmon.tcss) under the status bar."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._data: Any = None
        self._drawn: Any = None

    def show(self, snap: Snapshot, range_pending: str | None = None) -> None:
        self._data = (
            snap.cost_total,
            snap.cost_today,
            snap.burn_5m,
            snap.tokens_last_minute.total,
            snap.tokens.cache_ratio,
            len(snap.sessions),
            active_sessions(snap),
            snap.provisional_included and snap.provisional_calls > 0,
            snap.range_name,
            range_pending,
        )
        self._redraw()

    def on_resize(self) -> None:
        self._redraw()
        super().on_resize()

    def _redraw(self) -> None:
        width = self.size.width or self.app.size.width
        if self._data is None or (self._data, width) == self._drawn:
            return
        self._drawn = (self._data, width)
        text = layout(groups(self._data), max(width, 10))
        lines = text.plain.count("\n") + 1
        if self.styles.height is None or self.styles.height.value != lines:
            self.styles.height = lines
        self.set_text(text)
