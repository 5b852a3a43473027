"""The base of the summary panes: a bordered, focusable text that redraws only on change.

A pane picks from the snapshot the figures it shows (``select``, a cheap tuple) and turns them
into one ``Text`` for its current width (``draw``). A refresh that leaves those figures equal
costs a tuple comparison, not a redraw, and a redraw repaints only the lines that changed (see
``TextView``). Panes are drawn as plain aligned ``Text`` (``columns``) rather than Rich tables:
laying out a table on every change cost about 2 ms per pane.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.text import Text

from ...model.snapshot import Snapshot
from .text_view import TextView

Cell = str | Text


def columns(rows: Sequence[Sequence[Cell]], justify: str, gap: int = 1) -> Text:
    """``rows`` as lines of aligned columns, each as wide as its widest cell; ``justify`` has
    one letter per column, "l" or "r". A line too long for a narrow pane wraps rather than
    hiding the end of a figure."""
    cells = [[c if isinstance(c, Text) else Text(c) for c in row] for row in rows]
    widths = [max((row[i].cell_len for row in cells if i < len(row)), default=0) for i in range(len(justify))]
    out = Text()
    for n, row in enumerate(cells):
        if n:
            out.append("\n")
        for i, cell in enumerate(row):
            pad = " " * (widths[i] - cell.cell_len)
            if i:
                out.append(" " * gap)
            if justify[i] == "r":
                out.append(pad)
                out.append_text(cell)
            else:
                out.append_text(cell)
                if i < len(row) - 1:
                    out.append(pad)
    return out


def fit(value: Text, width: int) -> Text:
    """``value`` cut to ``width`` cells with an ellipsis (model names can be anything)."""
    value = value.copy()
    value.truncate(max(width, 1), overflow="ellipsis")
    return value


def range_title(title: str | Text, range_name: str) -> str | Text:
    """A pane's title naming the dashboard's time range ("Cost · 7 d"); as it was for "all"."""
    if range_name == "all":
        return title
    return Text.assemble(title, (" · ", "dim"), (range_name, "bold"))


class Pane(TextView, can_focus=True):
    TITLE = ""
    RANGED = False  # its figures follow the dashboard's time range (model.ranged), its title says so

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._data: Any = None
        self._drawn: Any = None
        self._range = "all"

    def on_mount(self) -> None:
        self.border_title = self.TITLE

    def show(self, snap: Snapshot) -> None:
        if self.RANGED and snap.range_name != self._range:  # a border title repaints the pane
            self._range = snap.range_name
            self.border_title = range_title(self.TITLE, self._range)
        self._data = self.select(snap)
        self._redraw()

    def on_resize(self) -> None:
        super().on_resize()
        self._redraw()

    def _redraw(self) -> None:
        if self._data is None:
            return
        width = self.size.width
        if (self._data, width) != self._drawn:
            self._drawn = (self._data, width)
            self.set_text(self.draw(self._data, width))

    def select(self, snap: Snapshot) -> Any:
        """The figures this pane shows, as a tuple that compares equal when nothing changed."""
        raise NotImplementedError

    def draw(self, data: Any, width: int) -> Text:
        raise NotImplementedError
