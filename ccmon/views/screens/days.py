"""Per day: cost, tokens, sessions, commits and PRs per local day (key d), newest first.

The rows are ``ccmon report --by day`` over the window (``views.time_range.days_window``: the
7 d or 30 d range, a week for shorter ones, every day for "all"), which the source computes off
the event loop: from the database's per-minute rollups and events (``over_time.build``), or in
Prometheus mode from one fetch over the window, each session on the day it was last seen
(``over_time.from_snapshot``). A session active on two days counts once on each. The screen
follows the source on its own timer, computing again when the app's snapshot changed, at most
every ``GAP_FACTOR`` times the last computation's cost.
"""

from __future__ import annotations

import time
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Static

from .. import fmt
from ..time_range import days_window
from ..widgets.table import Column, KeyedTable

COLUMNS = (
    Column("day", "Day", 10),
    Column("cost", "Cost", 8, "right"),
    Column("tokens", "Tokens", 7, "right"),
    Column("sessions", "Sessions", 8, "right"),
    Column("commits", "Commits", 7, "right"),
    Column("prs", "PRs", 4, "right"),
)
MIN_GAP_S = 1.0
GAP_FACTOR = 10.0


def day_cells(r: dict[str, Any]) -> tuple[str, ...]:
    return (
        r["key"],
        fmt.usd(r["cost_usd"]),
        fmt.compact(sum(r["tokens"].values())),
        f"{r['sessions']:,}",
        fmt.count(r["commits"]),
        fmt.count(r["pull_requests"]),
    )


class DaysScreen(Screen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("d", "app.pop_screen", "Back", show=False),
        Binding("question_mark", "app.help", "Help", key_display="?"),
    ]

    def __init__(self, range_name: str) -> None:
        super().__init__()
        self.range_name = range_name
        self.data: dict[str, Any] | None = None  # the report on screen
        self._for: object = None  # the app's snapshot it was computed for
        self._busy = False
        self._done_at = 0.0
        self._cost = 0.0

    def compose(self) -> ComposeResult:
        with Vertical(id="days", classes="box"):
            yield Static("loading…", id="days-note")
            yield KeyedTable(COLUMNS, id="days-table")
        yield Footer()

    def on_mount(self) -> None:
        box = self.query_one("#days")
        _, label = days_window(self.range_name, self.app.clock())  # type: ignore[attr-defined]
        box.border_title = f"Per day · {label} · cost, tokens, sessions, commits, PRs"
        box.border_subtitle = "Esc back"
        self.query_one(KeyedTable).focus()
        self._follow()
        self.set_interval(1.0, self._follow)

    def _follow(self) -> None:
        snap = getattr(self.app, "snapshot", None)
        if (
            self._busy
            or snap is self._for
            or time.monotonic() < self._done_at + max(MIN_GAP_S, GAP_FACTOR * self._cost)
        ):
            return
        if not hasattr(self.app.source, "per_day"):  # type: ignore[attr-defined]
            self.query_one("#days-note", Static).update("This source has no per-day figures.")
            return
        self._busy, self._for = True, snap
        self.run_worker(self._load(), exclusive=True, group="days")

    async def _load(self) -> None:
        app: Any = self.app
        now = app.clock()
        since, _ = days_window(self.range_name, now)
        started = time.monotonic()
        try:
            data = await app.source.per_day(since, now)
        except Exception as exc:  # the database or Prometheus failing: say so, keep the rows
            self.query_one("#days-note", Static).update(Text(f"cannot compute: {exc}", "red"))
            return
        finally:
            self._busy = False
            self._done_at = time.monotonic()
            self._cost = self._done_at - started
        self.show(data)

    def show(self, data: dict[str, Any]) -> None:
        self.data = data
        rows = [(r["key"], day_cells(r)) for r in reversed(data["rows"])]
        s = data["summary"]
        total = {**s, "key": "total"}
        rows.append(("total", day_cells(total)))
        note = "" if data["rows"] else "Nothing in this window."
        if data.get("needs_events"):
            note = "Prometheus: each session on the day it was last seen. " + note
        snap = getattr(self.app, "snapshot", None)
        if snap is not None and snap.provisional_included and snap.provisional_calls:
            # Per day is what the metrics counted (as `ccmon report --by day`); the dashboard's ~
            # figures also hold calls no metric point has counted yet. Say so, not a mismatch.
            note = (
                f"Metrics only: not yet ~{fmt.usd(snap.provisional_cost)} from "
                f"{fmt.plural(snap.provisional_calls, 'call')} no metric has counted (the dashboard's ~). " + note
            )
        self.query_one("#days-note", Static).update(note)
        self.query_one("#days-note", Static).display = bool(note)
        self.query_one(KeyedTable).sync(rows)
