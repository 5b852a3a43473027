"""The main screen: every pane, laid out by width (see ``ccmon.tcss``).

From 120 columns all panes are visible at once; below that they stack in a scrolling column
with the four summary panes (cost, tokens, productivity, API health) filling the first screen,
and Tab moves to, and scrolls to, the next pane.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Input

from ...model.snapshot import Snapshot
from ..widgets.api_health import ApiHealthPane
from ..widgets.cost import CostPane
from ..widgets.edits import EditsPane
from ..widgets.events import EventsPane
from ..widgets.groups import GroupsPane
from ..widgets.limits import LimitsPane
from ..widgets.productivity import ProductivityPane
from ..widgets.sessions import SessionsPane
from ..widgets.status import StatusBar
from ..widgets.table import KeyedTable
from ..widgets.tokens import TokensPane


class MainScreen(Screen):
    AUTO_FOCUS = "#sessions-table"
    # The app's quit/pause/help again, first: the footer lists bindings from the focused widget
    # outwards, and at 80 columns it only has room for the first few.
    BINDINGS = [
        Binding("q", "app.quit", "Quit"),
        Binding("p", "app.pause", "Pause"),
        Binding("question_mark", "app.help", "Help", key_display="?"),
        Binding("s", "sort", "Sort"),
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("g", "group", "Group"),
        Binding("tab", "app.focus_next", "Next pane"),
        Binding("shift+tab", "app.focus_previous", "Previous pane", show=False),
        Binding("enter", "open_session", "Open", key_display="⏎"),
        Binding("z", "zoom", "Zoom"),
        Binding("escape", "clear_filter", "Clear filter", show=False),
    ]

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        with VerticalScroll(id="dashboard"):
            with Grid(id="summary"):
                yield CostPane(id="cost")
                yield TokensPane(id="tokens")
                yield ProductivityPane(id="productivity")
                yield ApiHealthPane(id="api")
            with Horizontal(id="middle"):
                yield SessionsPane(id="sessions")
                with Vertical(id="side"):
                    yield LimitsPane(id="limits")
                    yield EditsPane(id="edits")
            with Horizontal(id="bottom"):
                yield EventsPane(id="events")
                yield GroupsPane(id="groups")
        yield Input(placeholder="filter sessions and events (Esc clears)", id="filter")
        yield Footer()

    def show(self, snap: Snapshot) -> None:
        """Every pane from one snapshot; each redraws only what changed."""
        for pane in (CostPane, TokensPane, ProductivityPane, ApiHealthPane, SessionsPane, LimitsPane,
                     EditsPane, EventsPane, GroupsPane):
            self.query_one(pane).show(snap)

    def show_status(self, snap: Snapshot, now_ns: int, paused: bool) -> None:
        self.query_one(StatusBar).show(snap, now_ns, paused)

    # -- actions ------------------------------------------------------------------------------

    def action_sort(self) -> None:
        self.query_one(SessionsPane).next_sort()

    def action_group(self) -> None:
        self.query_one(GroupsPane).cycle()

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        box.focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        if box.display:
            box.value = ""
            box.display = False
            self.query_one(SessionsPane).table.focus()
        elif self.maximized is not None:
            self.minimize()

    def action_zoom(self) -> None:
        if self.maximized is not None:
            self.minimize()
        else:
            self.action_maximize()

    def action_open_session(self) -> None:
        key = self.query_one(SessionsPane).selected()
        if key is not None:
            self.app.open_session(key)  # type: ignore[attr-defined]

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.query_one(SessionsPane).set_filter(event.value)
        self.query_one(EventsPane).set_filter(event.value)

    @on(Input.Submitted, "#filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        if not event.value:
            event.input.display = False
        self.query_one(SessionsPane).table.focus()

    @on(KeyedTable.RowSelected, "#sessions-table")
    def _session_selected(self, event: KeyedTable.RowSelected) -> None:
        self.app.open_session(event.key)  # type: ignore[attr-defined]

    @on(KeyedTable.RowSelected, "#events-table")
    def _event_selected(self, event: KeyedTable.RowSelected) -> None:
        """Enter on an event opens the session it belongs to."""
        session = self.query_one(EventsPane).session_of(event.key)
        if session is not None:
            self.app.open_session(session)  # type: ignore[attr-defined]
