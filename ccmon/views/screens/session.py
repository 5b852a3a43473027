"""One session: its cost over time, its API requests in order, its tools and its errors.

The detail is read from the source (off the event loop, by the source), once on open and again
whenever the session's row in a new snapshot differs. Loads never overlap: a change during a
load just schedules one more.
"""

from __future__ import annotations

from rich.console import Group
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from ...model.session_state import duration_s, state
from ...model.snapshot import SessionRow
from ...model.source import ApiCall, ApiErrorRow, SessionDetail, Source, ToolRun
from .. import fmt, safe
from ..widgets.chart import CostChart
from ..widgets.session_insight import SessionInsight
from ..widgets.table import Cell, Column, KeyedTable

ROWS = 500  # newest rows kept per table; the title says when there were more

CALL_COLUMNS = (  # cost and time first: a split pane shows them, → scrolls to the tokens
    Column("n", "#", 3, "right"),
    Column("time", "Time", 8),
    Column("model", "Model", 15),
    Column("cost", "Cost", 7, "right"),
    Column("duration", "Took", 6, "right"),
    Column("input", "Input", 6, "right"),
    Column("output", "Output", 6, "right"),
    Column("cache_read", "Cache rd", 8, "right"),
    Column("cache_write", "Cache wr", 8, "right"),
    Column("attempt", "Try", 3, "right"),
)
TOOL_COLUMNS = (
    Column("time", "Time", 8),
    Column("tool", "Tool", 12),
    Column("result", "Result", 8),
    Column("duration", "Took", 7, "right"),
    Column("decided", "Decided by", 14),
)
ERROR_COLUMNS = (
    Column("time", "Time", 8),
    Column("model", "Model", 18),
    Column("status", "Status", 6, "right"),
    Column("attempt", "Try", 3, "right"),
    Column("message", "Message", 80),
)


def _call(i: int, c: ApiCall) -> tuple[Cell, ...]:
    return (
        str(i),
        fmt.clock_time(c.t_ns),
        safe.clean(c.model),
        fmt.usd(c.cost_usd),
        fmt.millis(c.duration_ms),
        f"{c.input_tokens:,}",
        f"{c.output_tokens:,}",
        f"{c.cache_read_tokens:,}",
        f"{c.cache_creation_tokens:,}",
        str(c.attempt) if c.attempt is not None else "",
    )


def _tool(t: ToolRun) -> tuple[Cell, ...]:
    if t.success is None:
        result = Text("rejected" if t.decision == "reject" else fmt.DASH, "yellow")
    else:
        result = Text("✓ ok", "green") if t.success else Text("✗ failed", "red")
    # The result already says accepted (ok/failed) or rejected; what is left to say is who
    # decided: config / hook (nobody asked) or user_* (a person).
    return (
        fmt.clock_time(t.t_ns),
        safe.clean(t.tool),
        result,
        fmt.millis(t.duration_ms),
        safe.clean(t.source or t.decision or fmt.DASH),
    )


def _error(e: ApiErrorRow) -> tuple[Cell, ...]:
    return (
        fmt.clock_time(e.t_ns),
        safe.clean(e.model),
        safe.text(e.status_code, "red"),
        str(e.attempt) if e.attempt is not None else "",
        safe.clean(e.message),
    )


class Box(Vertical):
    """A titled table; z zooms it, title and all."""

    ALLOW_MAXIMIZE = True


class SessionScreen(Screen):
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("backspace", "app.pop_screen", "Back", show=False),
        Binding("tab", "app.focus_next", "Next table"),
        Binding("shift+tab", "app.focus_previous", "Previous table", show=False),
        Binding("c", "copy_id", "Copy id"),
        Binding("z", "zoom", "Zoom"),
        Binding("p", "app.pause", "Pause"),
        Binding("p", "app.resume", "Resume"),
        Binding("question_mark", "app.help", "Help", key_display="?"),
        Binding("P", "insight('prompts')", "Prompts"),
        Binding("a", "insight('attribution')", "Attribution"),
    ]

    def action_insight(self, what: str) -> None:
        from .insight_nav import open_insight

        open_insight(self.app, what, self.key)

    def __init__(self, source: Source, key: str, row: SessionRow | None) -> None:
        super().__init__()
        self.source = source
        self.key = key
        self.row = row
        self.detail: SessionDetail | None = None
        self._loading = False
        self._stale = False

    def compose(self) -> ComposeResult:
        yield Static(id="session-head")
        yield SessionInsight(id="session-insight")  # cache clock and money (issue 17)
        yield Static(id="session-note", classes="note")
        with VerticalScroll(id="session-body"):
            yield CostChart(id="session-chart")
            with Horizontal(id="session-tables"):
                with Box(id="session-calls", classes="box"):
                    yield KeyedTable(CALL_COLUMNS)
                with Box(id="session-tools", classes="box"):
                    yield KeyedTable(TOOL_COLUMNS)
            with Box(id="session-errors", classes="box"):
                yield KeyedTable(ERROR_COLUMNS)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#session-chart").border_title = "Cost over time"
        self._head()
        self.reload()

    def action_back(self) -> None:
        """Esc: out of a zoomed table first, then back to the dashboard."""
        if self.maximized is not None:
            self.minimize()
        else:
            self.app.pop_screen()

    def action_zoom(self) -> None:
        if self.maximized is not None:
            self.minimize()
        elif self.focused is not None:
            self.maximize(self.focused)

    def action_copy_id(self) -> None:
        """The full session id to the clipboard (OSC 52: works over ssh and in tmux with
        set-clipboard on), for ``claude --resume <id>``."""
        self.app.copy_to_clipboard(self.key)
        # markup=False: the id came from telemetry and is shown, never interpreted
        self.app.notify(
            f"Copied {safe.clean(self.key)} (claude --resume <id>)", title="Session id", timeout=4, markup=False
        )

    def source_changed(self, row: SessionRow | None) -> None:
        """The source has new data. Reload only if it was this session's (its row changed):
        the detail is a database read, not worth repeating for every other session's export."""
        if row is None or row == self.row:
            return
        self.row = row
        self._head()
        self.reload()

    def reload(self) -> None:
        if self._loading:
            self._stale = True
            return
        self._loading = True
        self._load()
        self.query_one(SessionInsight).reload(self.source, self.key)

    @work(group="session-detail")
    async def _load(self) -> None:
        try:
            detail = await self.source.session_detail(self.key)
        except Exception as exc:  # a failed read is reported on screen; the dashboard carries on
            self._loading = False
            self._note(f"Could not load this session: {safe.clean(exc)}")
            return
        self._loading = False
        self.show(detail)
        if self._stale:
            self._stale = False
            self.reload()

    def _head(self) -> None:
        """Two lines: the full session id (c copies it) and what it cost; who ran it with which
        models, and its state."""
        first = Text.assemble(("Session ", "dim"), safe.text(self.key, "bold"), no_wrap=True, overflow="ellipsis")
        second = Text(no_wrap=True, overflow="ellipsis")
        r = self.row
        if r is not None:
            first.append(f"  {fmt.usd(r.cost)}", "bold")
            active = fmt.seconds(r.active_user_s + r.active_cli_s)
            first.append(
                f"  {fmt.compact(r.tokens.total)} tokens · active {active}"
                f" · lines +{fmt.count(r.lines_added)} −{fmt.count(r.lines_removed)}",
                "dim",
            )
            now = self.app.clock()  # type: ignore[attr-defined]
            second.append(state(r, now), "bold")
            second.append(f" · started {fmt.when(r.first_ns, now)} · span {fmt.seconds(duration_s(r))}  ", "dim")
            second.append("models ", "dim")
            second.append_text(safe.text(", ".join(r.models) or fmt.DASH, "cyan"))
            second.append("  user ", "dim")
            second.append_text(safe.text(r.user or fmt.DASH))
        self.query_one("#session-head", Static).update(Group(first, second))

    def show(self, detail: SessionDetail | None) -> None:
        self.detail = detail
        chart = self.query_one(CostChart)
        if detail is None:
            chart.plot(())
            self._note("This session is no longer in the store.")
            return
        chart.plot(detail.cost_over_time)
        for box in ("#session-calls", "#session-tools", "#session-errors"):
            self.query_one(box).display = detail.events_available
        if not detail.events_available:
            self._note(
                "API requests, tools and errors are not available in Prometheus mode: they come from OTLP events."
            )
            return
        notes = [
            "Only part of this session's events was loaded: it has more than the drill-down reads."
            if detail.truncated
            else "",
            detail.interactions_line(),
        ]
        self._note(" ".join(n for n in notes if n))
        self._fill("#session-calls", "API requests", [_call(i, c) for i, c in enumerate(detail.api_calls, 1)])
        self._fill("#session-tools", "Tools", [_tool(t) for t in detail.tools])
        self._fill("#session-errors", "Errors", [_error(e) for e in detail.errors])

    def _note(self, message: str) -> None:
        note = self.query_one("#session-note", Static)
        note.update(Text(message, "italic"))
        note.display = bool(message)

    def _fill(self, box_id: str, title: str, rows: list[tuple[Cell, ...]]) -> None:
        box = self.query_one(box_id)
        shown = rows[-ROWS:]
        box.border_title = f"{title} ({len(rows):,})" + (f" · newest {len(shown):,}" if len(shown) < len(rows) else "")
        # Rows are keyed by position in time order: new calls append, so only they are added.
        offset = len(rows) - len(shown)
        box.query_one(KeyedTable).sync([(str(offset + i), cells) for i, cells in enumerate(shown)])
