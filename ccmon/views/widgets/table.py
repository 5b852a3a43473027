"""A light table for live data: rows kept in step by key, each row rendered once per change.

Why not ``DataTable``: measured with 1,000 sessions and 100,000 events, a refresh that touched
the four tables cost 200-700 ms, nearly all of it repainting. Any cell update invalidates every
cell's render cache, and adding or removing a row relayouts the whole screen. Here a row is
rendered into one ``Strip`` when its cells change and reused until they change again; a repaint
only crops cached strips. Layout is untouched unless the number of rows changes.

Widths: a column is at least its declared width; a right-aligned (number) column widens to its
widest value, so a figure is never cut; a column with ``grow`` takes up to that many more
cells of the room left after the whole columns that fit (session ids, event details). Widths change
rarely (a new widest figure, a resize); then every row is rendered again. A column that does
not fit entirely is not drawn at all: a cut figure reads as another number (``$14.`` for
$14.20/h). Left/right scroll by whole columns; the header shows ``›`` when more are to the right.

Each refresh hands ``sync`` the rows it wants, in order, as ``(key, cells)``. Cells are plain
strings (already cleaned: see ``views.safe``) or ``Text``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

Cell = str | Text


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    label: str
    width: int
    justify: Literal["left", "right"] = "left"
    grow: int = 0  # extra cells this column may take when the table has room


class KeyedTable(ScrollView, can_focus=True):
    """Fixed-width columns, a header line that stays put, a row cursor, Enter to select."""

    COMPONENT_CLASSES = {"keyed-table--header", "keyed-table--even-row", "keyed-table--cursor"}
    DEFAULT_CSS = """
    KeyedTable {
        height: 1fr;
        background: $surface;
        color: $foreground;
        scrollbar-size-vertical: 1;
        scrollbar-size-horizontal: 1;
        & > .keyed-table--header { text-style: bold; background: $panel; color: $foreground; }
        & > .keyed-table--even-row { background: $surface-lighten-1 50%; }
        & > .keyed-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
        }
        &:focus > .keyed-table--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: $block-cursor-text-style;
        }
    }
    """
    BINDINGS = [
        Binding("enter", "select", "Select", show=False),
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "cursor_to(0)", "First row", show=False),
        Binding("end", "cursor_to(-1)", "Last row", show=False),
        Binding("j", "cursor(1)", "Down", show=False),
        Binding("k", "cursor(-1)", "Up", show=False),
        Binding("g", "cursor_to(0)", "First row", show=False),
        Binding("G", "cursor_to(-1)", "Last row", show=False),
        Binding("left", "step_column(-1)", "Left", show=False),
        Binding("right", "step_column(1)", "Right", show=False),
    ]

    class RowSelected(Message):
        """Enter (or a click on the row under the cursor) on a row."""

        def __init__(self, table: KeyedTable, key: str) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> KeyedTable:
            return self.table

    class HeaderSelected(Message):
        """A click on a column header."""

        def __init__(self, table: KeyedTable, column: str) -> None:
            super().__init__()
            self.table = table
            self.column = column

        @property
        def control(self) -> KeyedTable:
            return self.table

    def __init__(self, columns: Sequence[Column], **kwargs) -> None:
        super().__init__(**kwargs)
        self.spec = tuple(columns)
        self.cursor_row = 0
        self._cells: dict[str, tuple[Cell, ...]] = {}
        self._order: list[str] = []
        self._strips: dict[str, Strip] = {}  # a row's cells, rendered; dropped when they change
        self._widest = [c.width for c in self.spec]  # per column: the declared width or widest value
        self.widths = list(self._widest)  # what is drawn: _widest plus any room given by ``grow``
        self._width = sum(w + 2 for w in self.widths)
        self._header: Strip | None = None
        self._styles: dict[str, Style] = {}  # per line kind; cleared whenever CSS applies anew

    def on_mount(self) -> None:
        self.virtual_size = Size(self._width, 1)

    # -- data -----------------------------------------------------------------------------------

    @property
    def keys(self) -> list[str]:
        """Row keys, top to bottom."""
        return list(self._order)

    def current_key(self) -> str | None:
        """The key of the row under the cursor, if any."""
        return self._order[self.cursor_row] if 0 <= self.cursor_row < len(self._order) else None

    def sync(self, rows: Sequence[tuple[str, tuple[Cell, ...]]]) -> None:
        """Show ``rows`` in this order. Rows whose cells are unchanged keep their rendering; the
        cursor stays on the row it was on. If only some rows changed in place, only their lines
        are repainted."""
        current = self.current_key()
        order = [key for key, _ in rows]
        cells = dict(rows)
        changed = [i for i, (key, new) in enumerate(rows) if self._cells.get(key) != new]
        for i in changed:
            self._strips.pop(order[i], None)
        for key in self._cells.keys() - cells.keys():
            self._strips.pop(key, None)
        moved = order != self._order
        if not changed and not moved:
            return
        self._cells = cells
        widened = self._measure(rows[i][1] for i in changed)
        resized = len(order) != len(self._order)
        self._order = order
        if current is not None and current in cells:
            self.cursor_row = order.index(current)
        self.cursor_row = min(self.cursor_row, max(len(order) - 1, 0))
        if resized or widened:
            self.virtual_size = Size(self._width, len(order) + 1)
        if moved or widened:
            self.refresh()
            return
        top = self.scroll_offset.y
        for i in changed:  # line 0 is the header
            if top <= i < top + self.size.height - 1:
                self.refresh(Region(0, i - top + 1, self._view_width, 1))

    # -- widths -------------------------------------------------------------------------------

    def _measure(self, rows) -> bool:
        """Widen right-aligned columns to the widest of ``rows``' values; True if any widened."""
        widest = list(self._widest)
        for cells in rows:
            for i, (column, value) in enumerate(zip(self.spec, cells, strict=False)):
                if column.justify == "right":
                    n = value.cell_len if isinstance(value, Text) else len(value)
                    if n > widest[i]:
                        widest[i] = n
        if widest == self._widest:
            return False
        self._widest = widest
        return self._layout_columns()

    def _layout_columns(self) -> bool:
        """Give the room the table has beyond its columns to the growing ones, in order."""
        view = self._view_width
        spare = view - sum(w + 2 for w in self._widest)
        if spare < 0:  # not all fit: the room after the whole columns that do (one cell for ›)
            used = 0
            for w in self._widest:
                if used + w + 2 > view - 1:
                    break
                used += w + 2
            spare = max(view - 1 - used, 0)
        widths = []
        for column, w in zip(self.spec, self._widest, strict=False):
            extra = min(column.grow, spare)
            spare -= extra
            widths.append(w + extra)
        if widths == self.widths and self._header is not None:
            return False
        self.widths = widths
        self._width = sum(w + 2 for w in widths)
        self._strips.clear()
        self._header = None
        self.virtual_size = Size(self._width, len(self._order) + 1)
        self.refresh()
        return True

    @property
    def _view_width(self) -> int:
        """The width rows are drawn in: without the vertical scrollbar."""
        return self.scrollable_content_region.width

    def on_resize(self) -> None:
        self._layout_columns()

    def _edges(self) -> list[int]:
        """Where each column starts, and the end of the last."""
        edges = [0]
        for w in self.widths:
            edges.append(edges[-1] + w + 2)
        return edges

    def _visible(self, scroll_x: int, width: int) -> tuple[int, int]:
        """The part of a line to draw: whole columns only."""
        edges = self._edges()
        start = next((e for e in edges if e >= scroll_x), edges[-1])
        end = max((e for e in edges if e <= scroll_x + width), default=start)
        return start, max(end, start)

    def action_step_column(self, direction: int) -> None:
        """Scroll left or right by one whole column."""
        edges = self._edges()
        x = self.scroll_offset.x
        if direction > 0:
            target = next((e for e in edges if e > x), x)
            if target > self._width - self._view_width:
                target = max(self._width - self._view_width, 0)
                target = next((e for e in edges if e >= target), target)
        else:
            target = max((e for e in edges if e < x), default=0)
        self.scroll_to(x=target, animate=False)

    # -- rendering ------------------------------------------------------------------------------

    def _render_row(self, cells: tuple[Cell, ...]) -> Strip:
        line = Text(no_wrap=True)
        for column, width, value in zip(self.spec, self.widths, cells, strict=False):
            text = value.copy() if isinstance(value, Text) else Text(value)
            text.truncate(width, overflow="ellipsis")
            pad = " " * (width - text.cell_len)
            line.append(" ")
            if column.justify == "right":
                line.append(pad)
                line.append_text(text)
            else:
                line.append_text(text)
                line.append(pad)
            line.append(" ")
        return Strip(list(line.render(self.app.console)), self._width)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()  # focus, theme or CSS changed

    def _style(self, kind: str) -> Style:
        """The style of a kind of line ("" for a plain row), looked up once per style change:
        resolving a widget's style is the dearest part of drawing a cached row."""
        style = self._styles.get(kind)
        if style is None:
            style = self.rich_style
            if kind:
                style += self.get_component_rich_style(f"keyed-table--{kind}")
            self._styles[kind] = style
        return style

    def _crop(self, strip: Strip, style: Style, more: bool = False) -> Strip:
        """The whole columns in view, blank around them; ``more`` marks hidden columns on the right."""
        scroll_x, width = self.scroll_offset.x, self._view_width
        # With columns hidden on the right, the last cell is kept for the marker.
        start, end = self._visible(scroll_x, width - 1 if self._width > scroll_x + width else width)
        out = Strip.join([Strip.blank(start - scroll_x, style), strip.crop(start, end).apply_style(style)])
        if more and end < self._width:
            out = Strip.join([out, Strip.blank(width - (end - scroll_x) - 1, style), Strip([Segment("›", style)], 1)])
        return out.crop_extend(0, width, style)

    def render_line(self, y: int) -> Strip:
        scroll_y = self.scroll_offset.y
        width = self._view_width
        if y == 0:
            if self._header is None:
                self._header = self._render_row(tuple(c.label for c in self.spec))
            return self._crop(self._header, self._style("header"), more=True)
        index = scroll_y + y - 1
        if index >= len(self._order):
            return Strip.blank(width, self._style(""))
        key = self._order[index]
        strip = self._strips.get(key)
        if strip is None:
            strip = self._strips[key] = self._render_row(self._cells[key])
        # The cursor is dimmer while the table is not focused (see DEFAULT_CSS).
        style = self._style("cursor" if index == self.cursor_row else "even-row" if index % 2 else "")
        return self._crop(strip, style)

    # -- cursor and selection -------------------------------------------------------------------

    def _move(self, row: int) -> None:
        if not self._order:
            return
        self.cursor_row = max(0, min(row, len(self._order) - 1))
        visible = max(self.size.height - 1, 1)  # the header takes a line
        top = self.scroll_offset.y
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False)
        elif self.cursor_row >= top + visible:
            self.scroll_to(y=self.cursor_row - visible + 1, animate=False)
        self.refresh()

    def action_cursor(self, step: int) -> None:
        self._move(self.cursor_row + step)

    def action_page(self, direction: int) -> None:
        self._move(self.cursor_row + direction * max(self.size.height - 2, 1))

    def action_cursor_to(self, row: int) -> None:
        self._move(row if row >= 0 else len(self._order) - 1)

    def action_select(self) -> None:
        key = self.current_key()
        if key is not None:
            self.post_message(self.RowSelected(self, key))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y == 0:
            x = offset.x + self.scroll_offset.x
            for column, width in zip(self.spec, self.widths, strict=False):
                x -= width + 2
                if x < 0:
                    self.post_message(self.HeaderSelected(self, column.key))
                    return
            return
        row = self.scroll_offset.y + offset.y - 1
        if row < len(self._order):
            if row == self.cursor_row:
                self.action_select()
            self._move(row)


class SessionLinkTable(KeyedTable):
    """A table whose rows lead to a session: Enter opens it, and the footer says so."""

    BINDINGS = [Binding("enter", "select", "Open", key_display="⏎")]
