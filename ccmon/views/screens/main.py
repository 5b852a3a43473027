"""The main screen: a headline strip and every pane, in one of a few named layouts chosen by size.

The headline strip (total, today, burn rate, tokens/min, cache hit, sessions) and the sessions
table are on screen at every size. ``layout_for`` picks the layout (see ``ccmon.tcss``):

- ``compact`` (under 100 columns or under 34 rows, the usual split pane): the sessions table
  fills the first screen under the strip (or as much of it as its rows need); the summaries
  and the other panes follow below it, and Tab (or the mouse wheel) scrolls to them.
- ``medium`` (100-155 columns, 34+ rows): the four summaries two by two, then sessions beside
  the side column (plan limits, edit decisions), then events beside group-by.
- ``wide`` (156+ columns, 34+ rows): the same with the four summaries in a row.
- ``huge`` (200+ columns, 50+ rows): ``wide`` with wider side panes and taller summaries.

Tab moves to, and scrolls to, the next pane.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.css.scalar import Unit
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from ...model.snapshot import Snapshot
from .. import safe
from ..time_range import next_range
from ..widgets.api_health import ApiHealthPane
from ..widgets.budget import BudgetStrip
from ..widgets.cost import CostPane
from ..widgets.edits import EditsPane
from ..widgets.events import EventsPane
from ..widgets.groups import GroupsPane
from ..widgets.headline import HeadlineBar
from ..widgets.limits import LimitsPane
from ..widgets.productivity import ProductivityPane
from ..widgets.sessions import SessionsPane
from ..widgets.status import StatusBar
from ..widgets.table import KeyedTable
from ..widgets.tokens import TokensPane
from .days import DaysScreen
from .event import EventScreen

LAYOUTS = ("compact", "medium", "wide", "huge")


def layout_for(width: int, height: int) -> str:
    """The named layout for a terminal of ``width`` × ``height`` cells."""
    if width < 100 or height < 34:
        return "compact"
    if width >= 200 and height >= 50:
        return "huge"
    return "wide" if width >= 156 else "medium"


def waiting_text(where: str, rejected: int, setup_hint) -> Text:
    """The first screen: what ccmon waits for, the settings that send it, and who writes them."""
    t = Text.assemble(("Waiting for Claude Code's telemetry", "bold"), " on ")
    t.append_text(safe.text(where or "the OTLP receiver (starting…)"))
    t.append(": nothing has arrived yet.\n")
    if rejected:
        t.append(f"{rejected:,} export(s) were rejected: press f (Flow) to see why.\n", "bold red")
    hint = setup_hint() if setup_hint is not None else None  # None until the ports are bound
    if hint is not None:
        t.append("\nStart Claude Code with these settings (this is `ccmon env`):\n\n", "dim")
        t.append(hint)
    t.append("\nOr let ccmon write them into ~/.claude/settings.json:  ")
    t.append("ccmon setup", "bold")
    t.append("  (shows the diff, keeps a backup; `ccmon setup --undo` restores it)\n")
    t.append("Then `ccmon doctor` checks every setting and sends a test export. Press f for the Flow view.", "dim")
    return t


def not_connected_text(where: str, reason: str | None) -> Text:
    """Prometheus mode before the first good poll: that, and why, instead of zeros."""
    t = Text.assemble(("Prometheus ", "bold"))
    t.append_text(safe.text(where))
    if reason:
        t.append(": not connected yet: ", "bold")
        t.append_text(safe.text(reason, "red"))
        t.append("\nccmon keeps retrying; the dashboard appears with the first answer.", "dim")
    else:
        t.append(": connecting…", "bold")
    return t


class Dashboard(VerticalScroll, can_focus=False):
    """The panes' scrolling column; in the compact layout the sessions pane is as tall as it.
    Not a Tab stop of its own (it would be one that highlights nothing): Tab goes to the panes,
    and scrolls them into view."""

    def on_resize(self) -> None:
        self.screen.fit_sessions()  # type: ignore[attr-defined]


class MainScreen(Screen):
    AUTO_FOCUS = "#sessions-table"
    # The app's quit/pause/help again, first: the footer lists bindings from the focused widget
    # outwards, and at 80 columns it only has room for the first few.
    BINDINGS = [
        Binding("q", "app.quit", "Quit"),
        Binding("p", "app.pause", "Pause"),
        Binding("p", "app.resume", "Resume"),
        Binding("question_mark", "app.help", "Help", key_display="?"),
        Binding("s", "sort", "Sort"),
        Binding("r", "reverse_sort", "Reverse", show=False),
        Binding("slash", "filter", "Filter", key_display="/"),
        # b (by), not g: g/G go to the first/last row, as in less and vim.
        Binding("b", "group(1)", "Group by"),
        Binding("B", "group(-1)", "Group by (back)", show=False),
        Binding("t", "time_range(1)", "Range", show=False),
        Binding("T", "time_range(-1)", "Range (back)", show=False),
        Binding("d", "days", "Per day", show=False),
        Binding("n", "event_name(1)", "Event name", show=False),
        Binding("N", "event_name(-1)", "Event name (back)", show=False),
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
        yield HeadlineBar(id="headline")
        yield BudgetStrip(id="budget")
        with VerticalScroll(id="waiting"):
            yield Static(id="waiting-text")
        with Dashboard(id="dashboard"):
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

    def show(self, snap: Snapshot, range_pending: str | None = None) -> None:
        """Every pane from one snapshot; each redraws only what changed. Until anything has
        arrived (and the database has nothing either) the waiting screen stands in for them.
        ``range_pending``: a chosen time range not on screen yet ("7 d loading…")."""
        self._show_waiting(snap)
        # One call each (not a loop over the classes): they share no base class with show(), so a
        # type checker could not see that each has it.
        self.query_one(HeadlineBar).show(snap, range_pending)
        self.query_one(CostPane).show(snap)
        self.query_one(TokensPane).show(snap)
        self.query_one(ProductivityPane).show(snap)
        self.query_one(ApiHealthPane).show(snap)
        self.query_one(SessionsPane).show(snap)
        self.query_one(LimitsPane).show(snap)
        self.query_one(EditsPane).show(snap)
        self.query_one(EventsPane).show(snap)
        self.query_one(GroupsPane).show(snap)
        self.query_one(BudgetStrip).show(snap)
        self.fit_sessions()

    def _show_waiting(self, snap: Snapshot) -> None:
        status = snap.status
        nothing = not snap.sessions and not snap.cost_total and not (snap.limits and snap.limits.received)
        nothing = nothing and snap.range_name == "all"  # a quiet hour is not a first run
        # Prometheus never reached: no $0 panes that read as "nothing was spent".
        unreached = status.kind == "prometheus" and not status.received.get("polls") and nothing
        waiting = unreached or (status.kind == "otlp" and not status.received and nothing)  # a status line is data too
        box = self.query_one("#waiting")
        if box.display != waiting:
            box.display = waiting
            self.query_one("#dashboard").display = not waiting
            self.query_one("#headline").display = not waiting
            if not waiting and (self.focused is None or self.focused.id == "waiting"):
                # The table was hidden when the screen mounted, so AUTO_FOCUS found nothing.
                self.query_one(SessionsPane).table.focus()
        if waiting:
            text = (
                not_connected_text(status.where, status.last_error)
                if unreached
                else waiting_text(status.where, sum(status.rejected.values()), getattr(self.app, "setup_hint", None))
            )
            if text != self._waiting_shown:
                self._waiting_shown = text
                self.query_one("#waiting-text", Static).update(text)

    layout_name = ""

    def on_mount(self) -> None:
        self._apply_layout()

    def on_resize(self) -> None:
        self._apply_layout()

    def _apply_layout(self) -> None:
        """One class on the screen names the layout; compact also moves the summaries below
        the sessions (the order of panes is the order of the DOM)."""
        name = layout_for(*self.app.size)
        if name == self.layout_name:
            return
        self.layout_name = name
        for other in LAYOUTS:
            self.set_class(other == name, f"layout-{other}")
        dashboard = self.query_one("#dashboard")
        summary, middle = self.query_one("#summary"), self.query_one("#middle")
        if name == "compact":
            dashboard.move_child(summary, after=middle)
        else:
            dashboard.move_child(summary, before=middle)
        self.fit_sessions()

    def fit_sessions(self) -> None:
        sessions = self.query_one("#sessions")
        if self.layout_name == "compact":
            # As tall as the visible column, or as its rows need (border, header, a scrollbar
            # line): with few sessions the summaries below come into view.
            rows = len(self.query_one(SessionsPane).table.keys)
            height = max(min(self.query_one("#dashboard").size.height, rows + 4), 8)
            if sessions.styles.height is None or sessions.styles.height.value != height:
                sessions.styles.height = height
        elif sessions.styles.height is not None and sessions.styles.height.unit != Unit.FRACTION:
            sessions.styles.height = "1fr"

    def show_status(self, snap: Snapshot, now_ns: int, paused: bool) -> None:
        self.query_one(StatusBar).show(snap, now_ns, paused)

    # -- remembered choices (views.ui_state) ---------------------------------------------------

    def restore(self, state: dict) -> None:
        """The sort and group-by of the last run (before the first snapshot: no redraw)."""
        self._restored: dict | None = state

    def on_show(self) -> None:
        state = getattr(self, "_restored", None)
        if state:
            self._restored = None
            self.query_one(SessionsPane).restore(state.get("sort"), state.get("descending"))
            if state.get("group_by"):
                self.query_one(GroupsPane).preferred = state["group_by"]

    def remembered(self) -> dict:
        sessions = self.query_one(SessionsPane)
        groups = self.query_one(GroupsPane)
        return {
            "sort": sessions.sort.column,
            "descending": sessions.sort.descending,
            "group_by": groups.preferred or groups.dim,
        }

    # -- actions ------------------------------------------------------------------------------

    def action_sort(self) -> None:
        self.query_one(SessionsPane).next_sort()

    def action_time_range(self, step: int = 1) -> None:
        app = self.app
        app.set_range(next_range(app.range_name, step))  # type: ignore[attr-defined]

    def action_days(self) -> None:
        self.app.push_screen(DaysScreen(self.app.range_name))  # type: ignore[attr-defined]

    def action_event_name(self, step: int = 1) -> None:
        self.query_one(EventsPane).cycle_name(step)

    def action_reverse_sort(self) -> None:
        self.query_one(SessionsPane).reverse()

    def action_group(self, step: int = 1) -> None:
        self.query_one(GroupsPane).cycle(step)

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
        """Enter on an event shows all of its attributes (o there opens its session)."""
        row = self.query_one(EventsPane).event_of(event.key)
        if row is not None:
            self.app.push_screen(EventScreen(self.app.source, row))  # type: ignore[attr-defined]
