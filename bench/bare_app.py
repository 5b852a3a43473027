"""The reference for the first-frame figure: a bare Textual app with ccmon's widgets.

Same widget tree as ccmon's main screen (status bar, four summary panes in a grid, the
sessions / edits / events / groups tables with their columns, the filter input, the footer),
built from Textual's own widgets, styled by ccmon's own ``ccmon.tcss`` (the classes below
carry ccmon's widget names so the same rules match), but with none of ccmon: no source, no
store, no receivers, no snapshot. ccmon's first frame divided by this one is what ccmon's own
work costs at start-up. Keep it in step with ``ccmon/views/screens/main.py``.
"""

from __future__ import annotations

from pathlib import Path

from textual.app import App, ComposeResult
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Footer, Input, Static

TCSS = Path(__file__).resolve().parent.parent / "ccmon" / "views" / "ccmon.tcss"

SESSION_COLUMNS = (
    ("Session", 12),
    ("User", 10),
    ("Models", 16),
    ("Cost", 9),
    ("Tokens", 7),
    ("$/h", 9),
    ("Active", 7),
    ("Lines ±", 9),
    ("Last seen", 11),
)
EDIT_COLUMNS = (("Tool", 12), ("Decision", 8), ("Source", 8), ("Language", 10), ("N", 5))
EVENT_COLUMNS = (("Time", 11), ("Session", 10), ("Event", 18), ("Details", 120))
GROUP_COLUMNS = (("Value", 19), ("Sess", 4), ("Cost", 9), ("Tokens", 7))


# Named like ccmon's widgets so that ccmon.tcss styles them the same way.
class Pane(Static):
    can_focus = True


class SessionsPane(Vertical):
    pass


class EditsPane(Vertical):
    pass


class EventsPane(Vertical):
    pass


class GroupsPane(Vertical):
    pass


class StatusBar(Horizontal):
    pass


class Table(DataTable):
    DEFAULT_CSS = "Table { height: 1fr; }"

    def __init__(self, columns: tuple[tuple[str, int], ...], **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.spec = columns

    def on_mount(self) -> None:
        for label, width in self.spec:
            self.add_column(label, width=width)


class BareApp(App[None]):
    CSS_PATH = TCSS
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]

    def compose(self) -> ComposeResult:
        with StatusBar(id="status"):
            yield Static("ccmon · waiting", id="status-info")
            yield Static("", id="status-flags")
        with VerticalScroll(id="dashboard"):
            with Grid(id="summary"):
                for pid, title in (
                    ("cost", "Cost"),
                    ("tokens", "Tokens"),
                    ("productivity", "Productivity"),
                    ("api", "API health"),
                ):
                    pane = Pane("", id=pid)
                    pane.border_title = title
                    yield pane
            with Horizontal(id="middle"):
                with SessionsPane(id="sessions"):
                    yield Table(SESSION_COLUMNS, id="sessions-table")
                    yield Static(id="sessions-empty")
                with EditsPane(id="edits"):
                    yield Table(EDIT_COLUMNS)
            with Horizontal(id="bottom"):
                with EventsPane(id="events"):
                    yield Table(EVENT_COLUMNS, id="events-table")
                    yield Static("", id="events-none", classes="note")
                with GroupsPane(id="groups"):
                    yield Table(GROUP_COLUMNS)
        yield Input(placeholder="filter sessions and events (Esc clears)", id="filter")
        yield Footer()
