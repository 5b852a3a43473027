"""Sessions: one row per session, sortable and filterable, bounded to the top ``LIMIT``.

Sorting and filtering happen on the snapshot's rows (cheap, plain Python); the table then
shows the first ``LIMIT`` of them, updated by session key. Enter on a row opens the session
screen (the table's ``RowSelected`` message is handled by the screen).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from ...model.attribution import repository_of_labels  # OTEL_METRICS_INCLUDE_REPOSITORY
from ...model.limits import SessionStatus
from ...model.session_state import duration_s, rate_per_hour, state
from ...model.snapshot import SessionRow, Snapshot
from ...model.statusline import duration, pct
from .. import fmt, safe
from .table import Cell, Column, KeyedTable, SessionLinkTable

LIMIT = 200
_GRPC_ADDRESS = re.compile(r"grpc (\S+?)(?:,|$)")  # in Receiver.endpoints(): "grpc 127.0.0.1:4317, http ..."

# The figures first, so that a split pane shows them and scrolls (left/right) to the rest; the
# session id takes up to a whole UUID when there is room.
# The figures first, so that a split pane shows them and scrolls (left/right) to the rest; the
# session id takes up to a whole UUID when there is room.
COLUMNS = (
    Column("session", "Session", 10, grow=26),
    Column("state", "State", 6),
    Column("cost", "Cost", 7, "right"),
    Column("tokens", "Tokens", 6, "right"),
    Column("rate", "$/h", 7, "right"),  # over the span; — under 5 minutes (model.session_state)
    Column("last", "Last seen", 9, "right"),
    Column("duration", "Span", 6, "right"),
    Column("start", "Started", 8, "right"),
    Column("active", "Active", 6, "right"),
    Column("lines", "Lines ±", 7, "right"),
    Column("models", "Models", 15),
    Column("user", "User", 10),
    # From the status line (ccmon statusline).
    Column("ctx", "Ctx", 4, "right"),
    Column("cache", "Cache", 9),
    Column("repo", "Repo", 16),  # the name; the owner is in the report
)

_STATE_STYLE = {"active": "bold green", "idle": "yellow", "ended": "dim"}


@dataclass(frozen=True, slots=True)
class Sort:
    column: str
    name: str
    value: Callable[[SessionRow], Any]
    descending: bool = True


SORTS = (
    Sort("last", "last seen", lambda s: s.last_ns),
    Sort("cost", "cost", lambda s: s.cost),
    Sort("rate", "$/h", lambda s: rate_per_hour(s) or 0.0),
    Sort("start", "start", lambda s: s.first_ns),
    Sort("duration", "span", duration_s),
    Sort("tokens", "tokens", lambda s: s.tokens.total),
    Sort("active", "active time", lambda s: s.active_user_s + s.active_cli_s),
    Sort("lines", "lines", lambda s: s.lines_added + s.lines_removed),
    Sort("session", "session", lambda s: s.key, descending=False),
    Sort("user", "user", lambda s: s.user, descending=False),
    Sort("models", "models", lambda s: s.models, descending=False),
)


def matches(s: SessionRow, needle: str) -> bool:
    """Case-insensitive substring match on what identifies a session."""
    hay = [s.key, s.user, *s.models, *(v for _, v in s.labels)]
    return any(needle in h.casefold() for h in hay)


def cache_cell(st: SessionStatus | None, now_ns: int) -> str:
    """The prompt cache from the status line: "warm 4m", "cold", or a dash (unknown)."""
    left = st.cache_left_s(now_ns / 1e9) if st is not None else None
    if left is None:
        return fmt.DASH
    return f"warm {duration(left)}" if left > 0 else "cold"


def cells(s: SessionRow, now_ns: int, st: SessionStatus | None = None, cache: str = fmt.DASH) -> tuple[Cell, ...]:
    now_state = state(s, now_ns)
    return (
        safe.clean(s.key),
        Text(now_state, _STATE_STYLE[now_state]),
        fmt.marked(fmt.usd(s.cost), s.provisional_cost > 0),  # ~: includes calls not in a metric yet
        fmt.marked(fmt.compact(s.tokens.total), s.provisional_cost > 0),
        fmt.per_hour(rate_per_hour(s)),
        fmt.when(s.last_ns, now_ns),
        fmt.seconds(duration_s(s)),
        fmt.when(s.first_ns, now_ns),
        fmt.seconds(s.active_user_s + s.active_cli_s),
        f"+{fmt.count(s.lines_added)} −{fmt.count(s.lines_removed)}",
        safe.clean(", ".join(s.models) or fmt.DASH),
        safe.clean(s.user or fmt.DASH),
        pct(st.context_pct) if st is not None and st.context_pct is not None else fmt.DASH,
        cache,
        safe.clean(
            ((st.repo if st is not None else "") or repository_of_labels(s.labels) or fmt.DASH).rpartition("/")[2]
        ),
    )


class SessionsPane(Vertical):
    ALLOW_MAXIMIZE = True  # z zooms the pane, title and all, not just its table

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.sort = SORTS[0]
        self.filter = ""
        self._snap: Snapshot | None = None
        # The rows on screen and their formatted cells, by session key: an unchanged session
        # (an equal SessionRow, the same day: "last seen" omits today's date) is not formatted
        # again.
        self._formatted: dict[str, tuple[tuple, tuple[Cell, ...]]] = {}
        self._title_text: Text | None = None

    def on_mount(self) -> None:
        self.border_subtitle = "⏎ open · s sort · r reverse · / filter"

    def compose(self) -> ComposeResult:
        yield Static(id="sessions-empty")
        yield SessionLinkTable(COLUMNS, id="sessions-table")

    @property
    def table(self) -> KeyedTable:
        return self.query_one(KeyedTable)

    def selected(self) -> str | None:
        """The session under the cursor."""
        return self.table.current_key()

    def next_sort(self) -> None:
        """The next column, in its natural order (biggest or newest first; names A-Z)."""
        i = next(i for i, s in enumerate(SORTS) if s.column == self.sort.column)
        self.sort = SORTS[(i + 1) % len(SORTS)]
        self._redraw()

    def sort_by(self, column: str) -> None:
        """Sort by ``column``; by the same column again, the other way round (a second click)."""
        if column == self.sort.column:
            self.reverse()
            return
        self.sort = next((s for s in SORTS if s.column == column), self.sort)
        self._redraw()

    def restore(self, column: str | None, descending: bool | None) -> None:
        """A remembered sort (an unknown column keeps the default)."""
        self.sort = next((s for s in SORTS if s.column == column), self.sort)
        if descending is not None:
            self.sort = replace(self.sort, descending=descending)
        self._redraw()

    def reverse(self) -> None:
        self.sort = replace(self.sort, descending=not self.sort.descending)
        self._redraw()

    def set_filter(self, text: str) -> None:
        self.filter = text
        self._redraw()

    def _redraw(self) -> None:
        if self._snap is not None:
            self.show(self._snap)

    def on_keyed_table_header_selected(self, event: KeyedTable.HeaderSelected) -> None:
        event.stop()
        self.sort_by(event.column)

    def show(self, snap: Snapshot) -> None:
        self._snap = snap
        needle = self.filter.casefold()
        # In a time range (model.ranged) the rows are the sessions active in it, with their
        # figures in it.
        rows = [s for s in snap.sessions if matches(s, needle)] if needle else list(snap.sessions)
        rows.sort(key=lambda s: (self.sort.value(s), s.key), reverse=self.sort.descending)
        shown = rows[:LIMIT]
        day = time.localtime(snap.now_ns / 1e9)[:3]
        status = dict(snap.limits.sessions) if snap.limits is not None else {}
        formatted: dict[str, tuple[tuple, tuple[Cell, ...]]] = {}
        for s in shown:
            st = status.get(s.key)
            cache = cache_cell(st, snap.now_ns)
            key = (s, day, st, cache, state(s, snap.now_ns))
            old = self._formatted.get(s.key)
            formatted[s.key] = old if old and old[0] == key else (key, cells(s, snap.now_ns, st, cache))
        self._formatted = formatted
        self.table.sync([(s.key, formatted[s.key][1]) for s in shown])
        self._title(len(snap.sessions), len(rows), len(shown), snap.range_name)
        empty = self.query_one("#sessions-empty", Static)
        empty.display = not snap.sessions
        if not snap.sessions:
            empty.update(
                self._waiting(snap)
                if snap.range_name == "all"
                else Text(f"No session was active in the time range {snap.range_name} (t: the next one).", "dim")
            )

    def _title(self, total: int, matching: int, shown: int, range_name: str) -> None:
        arrow = "▼" if self.sort.descending else "▲"
        title = Text.assemble("Sessions ", (f"{total:,}", "bold"))
        if range_name != "all":
            title.append(" active in ")
            title.append(range_name, "bold")
        title.append(f" · by {self.sort.name} {arrow}")
        if self.filter:
            title.append(" · filter ")
            title.append_text(safe.text(self.filter, "yellow"))
            title.append(f" ({matching:,})")
        if shown < matching:
            title.append(f" · top {shown:,}")
        if title != self._title_text:  # setting a border title repaints the whole pane
            self._title_text = title
            self.border_title = title

    @staticmethod
    def _waiting(snap: Snapshot) -> Text:
        """First-run help: how to point Claude Code at this receiver."""
        where = safe.clean(snap.status.where)
        if snap.status.kind == "prometheus":
            return Text(f"No Claude Code series found at {where} yet.", "dim")
        grpc = _GRPC_ADDRESS.search(where)
        return Text.assemble(
            (f"Waiting for telemetry on {where or 'the OTLP receiver'}. Start Claude Code with\n", "dim"),
            "CLAUDE_CODE_ENABLE_TELEMETRY=1 OTEL_METRICS_EXPORTER=otlp OTEL_LOGS_EXPORTER=otlp\n"
            f"OTEL_EXPORTER_OTLP_PROTOCOL=grpc OTEL_EXPORTER_OTLP_ENDPOINT=http://"
            f"{grpc.group(1) if grpc else '<grpc address>'} claude",
        )
