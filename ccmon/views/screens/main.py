"""The main screen: every pane, laid out by width (see ``ccmon.tcss``).

From 120 columns all panes are visible at once; below that they stack in a scrolling column
with the four summary panes (cost, tokens, productivity, API health) filling the first screen,
and Tab moves to, and scrolls to, the next pane.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from ...model.snapshot import Snapshot
from .. import safe
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


def waiting_text(where: str, rejected: int, setup_hint) -> Text:
    """The first screen: what ccmon waits for, the settings that send it, and who writes them."""
    t = Text.assemble(("Waiting for Claude Code's telemetry", "bold"), " on ")
    t.append_text(safe.text(where or "the OTLP receiver (starting…)"))
    t.append(": nothing has arrived yet.\n")
    if rejected:
        t.append(f"{rejected:,} export(s) were rejected: press f (Flow) to see why.\n", "bold red")
    if setup_hint is not None:
        t.append("\nStart Claude Code with these settings (this is `ccmon env`):\n\n", "dim")
        t.append(setup_hint())
    t.append("\nOr let ccmon write them into ~/.claude/settings.json:  ")
    t.append("ccmon setup", "bold")
    t.append("  (shows the diff, keeps a backup; `ccmon setup --undo` restores it)\n")
    t.append("Then `ccmon doctor` checks every setting and sends a test export. Press f for the Flow view.", "dim")
    return t


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
        Binding("f", "app.flow", "Flow"),
        Binding("escape", "clear_filter", "Clear filter", show=False),
    ]

    _waiting_shown: Text | None = None

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        with VerticalScroll(id="waiting"):
            yield Static(id="waiting-text")
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
        """Every pane from one snapshot; each redraws only what changed. Until anything has
        arrived (and the database has nothing either) the waiting screen stands in for them."""
        self._show_waiting(snap)
        # One call each (not a loop over the classes): they share no base class with show(), so a
        # type checker could not see that each has it.
        self.query_one(CostPane).show(snap)
        self.query_one(TokensPane).show(snap)
        self.query_one(ProductivityPane).show(snap)
        self.query_one(ApiHealthPane).show(snap)
        self.query_one(SessionsPane).show(snap)
        self.query_one(LimitsPane).show(snap)
        self.query_one(EditsPane).show(snap)
        self.query_one(EventsPane).show(snap)
        self.query_one(GroupsPane).show(snap)

    def _show_waiting(self, snap: Snapshot) -> None:
        status = snap.status
        waiting = (status.kind == "otlp" and not status.received and not snap.sessions and not snap.cost_total
                   and not (snap.limits and snap.limits.received))  # a status line is data too
        box = self.query_one("#waiting")
        if box.display != waiting:
            box.display = waiting
            self.query_one("#dashboard").display = not waiting
        if waiting:
            text = waiting_text(status.where, sum(status.rejected.values()),
                                getattr(self.app, "setup_hint", None))
            if text != self._waiting_shown:
                self._waiting_shown = text
                self.query_one("#waiting-text", Static).update(text)

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
