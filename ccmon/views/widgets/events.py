"""Event log: the newest events first (time, session, event, key fields), bounded to ``LIMIT``.

Filters: the screen's text filter, and one event name at a time (n / N cycle through the names
received, most frequent first). The count line follows them: unfiltered it counts every event
received, per name; filtered, the recent events that match. Enter on a row opens the event's
detail (every attribute; ``screens.event``).

Events never change once received, so each gets a row key the first time it is seen (by
object identity: the snapshot hands out the same ``EventRow`` objects while they are in the
store's recent-events window) and its cells are formatted once.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Static

from ...model.snapshot import EventRow, Snapshot
from .. import fmt, safe
from .pane import range_title
from .table import Cell, Column, KeyedTable
from .text_view import TextView

LIMIT = 200
NO_EVENTS = "Not available in Prometheus mode: the event log needs OTLP events (OTEL_LOGS_EXPORTER=otlp)."

COLUMNS = (
    Column("time", "Time", 11),  # 14:03:27 today, 11-23 19:53 before
    Column("session", "Session", 10),
    Column("event", "Event", 18),
    Column("detail", "Details", 12, grow=2000),  # the rest of the pane
)

_STYLE = {
    "api_error": "bold red",
    "api_request": "cyan",
    "user_prompt": "green",
    "tool_decision": "yellow",
    "tool_result": "yellow",
}


class EventsTable(KeyedTable):
    """Enter shows the event's attributes, and the footer says so."""

    BINDINGS = [Binding("enter", "select", "Details", key_display="⏎")]


def matches(e: EventRow, needle: str) -> bool:
    return any(needle in h.casefold() for h in (e.session, e.name, e.summary))


class EventsPane(Vertical):
    ALLOW_MAXIMIZE = True  # z zooms the pane, title and all, not just its table

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.filter = ""
        self.event_name: str | None = None  # show only this event name
        self._snap: Snapshot | None = None
        self._seq = 0
        # id(EventRow) -> (row key, the row, its cells). Holding the row keeps its id unique.
        self._known: dict[int, tuple[str, EventRow, tuple[Cell, ...]]] = {}
        self._shown_counts: object = ()
        self._titled: tuple[str | None, str] | None = None

    def compose(self) -> ComposeResult:
        yield TextView(id="events-counts")
        yield EventsTable(COLUMNS, id="events-table")
        yield Static(NO_EVENTS, id="events-none", classes="note")

    def on_mount(self) -> None:
        self._title("all")

    def _title(self, range_name: str) -> None:
        """Events, the name shown alone (n), the time range; set only on change (a border
        title repaints the whole pane)."""
        if self._titled == (self.event_name, range_name):
            return
        self._titled = (self.event_name, range_name)
        title = (
            Text.assemble("Events", (" · only ", "dim"), safe.text(self.event_name, "bold"))
            if self.event_name
            else "Events"
        )
        self.border_title = range_title(title, range_name)

    @property
    def table(self) -> KeyedTable:
        return self.query_one(KeyedTable)

    def event_of(self, row_key: str) -> EventRow | None:
        """The event shown in row ``row_key``."""
        return next((e for k, e, _ in self._known.values() if k == row_key), None)

    def session_of(self, row_key: str) -> str | None:
        """The session of the event shown in row ``row_key``."""
        e = self.event_of(row_key)
        return e.session if e is not None else None

    def set_filter(self, text: str) -> None:
        self.filter = text
        if self._snap is not None:
            self.show(self._snap)

    def names(self) -> list[str]:
        """Event names received, most frequent first (the count line's order)."""
        by_name = self._snap.events_by_name if self._snap is not None else None
        return [n for n, _ in sorted(by_name or (), key=lambda kv: (-kv[1], kv[0]))]

    def cycle_name(self, step: int = 1) -> None:
        """Show only the next (previous) event name; past the last, all of them again."""
        choices: list[str | None] = [None, *self.names()]
        i = choices.index(self.event_name) if self.event_name in choices else 0
        self.event_name = choices[(i + step) % len(choices)]
        self._title(self._snap.range_name if self._snap is not None else "all")
        if self._snap is not None:
            self.show(self._snap)

    def show(self, snap: Snapshot) -> None:
        self._snap = snap
        self._title(snap.range_name)
        events = snap.recent_events
        self.table.display = events is not None
        self.query_one("#events-none").display = events is None
        self.query_one("#events-counts").display = events is not None
        if events is None:
            return
        needle = self.filter.casefold()
        filtered = bool(needle or self.event_name)
        if filtered:
            events = tuple(
                e
                for e in events
                if (not self.event_name or e.name == self.event_name) and (not needle or matches(e, needle))
            )
        shown = events[:LIMIT]
        known: dict[int, tuple[str, EventRow, tuple[Cell, ...]]] = {}
        rows = []
        for e in shown:
            entry = self._known.get(id(e))
            if entry is None:
                self._seq += 1
                entry = (str(self._seq), e, self._cells(e, snap.now_ns))
            known[id(e)] = entry
            rows.append((entry[0], entry[2]))
        self._known = known
        self.table.sync(rows)
        if filtered:
            counts: dict[str, int] = {}
            for e in events:
                counts[e.name] = counts.get(e.name, 0) + 1
            self._counts(tuple(counts.items()), matching=len(events))
        else:
            self._counts(snap.events_by_name)

    @staticmethod
    def _cells(e: EventRow, now_ns: int) -> tuple[Cell, ...]:
        return (
            fmt.when(e.t_ns, now_ns),
            safe.clean(e.session),
            safe.text(e.name, _STYLE.get(e.name, "")),
            safe.clean(e.summary),
        )

    def _counts(self, by_name: tuple[tuple[str, int], ...] | None, matching: int | None = None) -> None:
        """Events received, per name, most frequent first (one line; a border title would
        repaint the whole pane on every event). Filtered: the recent events that match."""
        if (by_name, matching) == self._shown_counts:
            return
        self._shown_counts = (by_name, matching)
        line = Text(no_wrap=True, overflow="ellipsis")
        if matching is not None:
            line.append(f"{matching:,} recent match", "bold")
            line.append(": " if by_name else "", "dim")
        for i, (name, n) in enumerate(sorted(by_name or (), key=lambda kv: (-kv[1], kv[0]))):
            if i:
                line.append(" · ", "dim")
            line.append_text(safe.text(name, "dim"))
            line.append(f" {n:,}")
        self.query_one("#events-counts", TextView).set_text(line)
