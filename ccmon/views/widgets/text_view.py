"""A widget that shows one ``Text`` and repaints only the lines that changed.

The summary panes, the status line and the event counts change on most refreshes, usually a
line or two at a time. A ``Static`` re-renders all of its content on every update (measured:
about 1.5 ms per pane); here each line is rendered once into a ``Strip`` when it changes, and a
repaint reuses the others.
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget


class TextView(Widget):
    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._text = Text()
        self._lines: list[Text] = []
        self._strips: dict[int, Strip] = {}
        self._base: Style | None = None

    def set_text(self, text: Text) -> None:
        self._text = text
        self._wrap()

    def on_resize(self) -> None:
        self._strips.clear()
        self._wrap()
        self.refresh()  # every line: the old ones were laid out for another width

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._base = None  # focus, theme or CSS changed

    def _wrap(self) -> None:
        width = self.size.width
        lines = list(self._text.wrap(self.app.console, width)) if width > 0 else []
        old, self._lines = self._lines, lines
        for y in range(max(len(lines), len(old))):
            if y >= len(lines) or y >= len(old) or lines[y] != old[y]:
                self._strips.pop(y, None)
                self.refresh(Region(0, y, width, 1))

    def render_line(self, y: int) -> Strip:
        if self._base is None:
            self._base = self.rich_style
        width = self.size.width
        if y >= len(self._lines):
            return Strip.blank(width, self._base)
        strip = self._strips.get(y)
        if strip is None:
            line = self._lines[y]
            strip = self._strips[y] = Strip(list(line.render(self.app.console)), line.cell_len)
        return strip.apply_style(self._base).crop_extend(0, width, self._base)
