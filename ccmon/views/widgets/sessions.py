"""Sessions: one row per session, sortable and filterable, bounded to the top ``LIMIT``.

Sorting and filtering happen on the snapshot's rows (cheap, plain Python); the table then
shows the first ``LIMIT`` of them, updated by session key. Enter on a row opens the session
screen (the table's ``RowSelected`` message is handled by the screen).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from ...model.attribution import repository_of_labels  # OTEL_METRICS_INCLUDE_REPOSITORY
from ...model.limits import SessionStatus
from ...model.snapshot import SessionRow, Snapshot
from ...model.statusline import duration, pct
from .. import fmt, safe
from .table import Column, KeyedTable, SessionLinkTable

LIMIT = 200
_GRPC_ADDRESS = re.compile(r"grpc (\S+?)(?:,|$)")  # in Receiver.endpoints(): "grpc 127.0.0.1:4317, http ..."

COLUMNS = (
    Column("session", "Session", 10),
    Column("user", "User", 10),
    Column("models", "Models", 15),
    Column("cost", "Cost", 9, "right"),
    Column("tokens", "Tokens", 7, "right"),
    Column("rate", "$/h", 8, "right"),
    Column("active", "Active", 7, "right"),
    Column("lines", "Lines ±", 9, "right"),
    Column("last", "Last seen", 11, "right"),
    # From the status line (ccmon statusline); last, so that 160 columns still show the rest.
    Column("ctx", "Ctx", 5, "right"),
    Column("cache", "Cache", 9),
    Column("repo", "Repo", 16),  # the name; the owner is in the report
)


@dataclass(frozen=True, slots=True)
class Sort:
    column: str
    name: str
    value: Callable[[SessionRow], Any]
    descending: bool = True


SORTS = (
    Sort("last", "last seen", lambda s: s.last_ns),
    Sort("cost", "cost", lambda s: s.cost),
    Sort("rate", "$/h", lambda s: s.cost_per_hour or 0.0),
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


def cells(s: SessionRow, now_ns: int, st: SessionStatus | None = None, cache: str = fmt.DASH) -> tuple[str, ...]:
    return (
        safe.clean(s.key), safe.clean(s.user or fmt.DASH), safe.clean(", ".join(s.models) or fmt.DASH),
        fmt.usd(s.cost), fmt.compact(s.tokens.total), fmt.per_hour(s.cost_per_hour),
        fmt.seconds(s.active_user_s + s.active_cli_s),
        f"+{fmt.count(s.lines_added)} −{fmt.count(s.lines_removed)}", fmt.when(s.last_ns, now_ns),
        pct(st.context_pct) if st is not None and st.context_pct is not None else fmt.DASH, cache,
        safe.clean(((st.repo if st is not None else "") or repository_of_labels(s.labels) or fmt.DASH).rpartition("/")[2]),
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
        self._formatted: dict[str, tuple[tuple, tuple[str, ...]]] = {}
        self._title_text: Text | None = None

    def on_mount(self) -> None:
        self.border_subtitle = "⏎ open · s sort · / filter"

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
        self.sort_by(SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)].column)

    def sort_by(self, column: str) -> None:
        self.sort = next((s for s in SORTS if s.column == column), self.sort)
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
        rows = [s for s in snap.sessions if matches(s, needle)] if needle else list(snap.sessions)
        rows.sort(key=lambda s: (self.sort.value(s), s.key), reverse=self.sort.descending)
        shown = rows[:LIMIT]
        day = time.localtime(snap.now_ns / 1e9)[:3]
        status = dict(snap.limits.sessions) if snap.limits is not None else {}
        formatted: dict[str, tuple[tuple, tuple[str, ...]]] = {}
        for s in shown:
            st = status.get(s.key)
            cache = cache_cell(st, snap.now_ns)
            key = (s, day, st, cache)
            old = self._formatted.get(s.key)
            formatted[s.key] = old if old and old[0] == key else (key, cells(s, snap.now_ns, st, cache))
        self._formatted = formatted
        self.table.sync([(s.key, formatted[s.key][1]) for s in shown])
        self._title(len(snap.sessions), len(rows), len(shown))
        empty = self.query_one("#sessions-empty", Static)
        empty.display = not snap.sessions
        if not snap.sessions:
            empty.update(self._waiting(snap))

    def _title(self, total: int, matching: int, shown: int) -> None:
        arrow = "▼" if self.sort.descending else "▲"
        title = Text.assemble("Sessions ", (f"{total:,}", "bold"), f" · by {self.sort.name} {arrow}")
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
