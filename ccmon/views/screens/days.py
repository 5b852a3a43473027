"""Per day: sessions, cost, tokens, commits and PRs by the day a session started (key d).

Over the sessions table's time range (``views.time_range``). It follows the app's snapshot on
its own timer (a cheap identity check), leaving the app's refresh code alone.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer

from ...model.snapshot import Snapshot
from .. import fmt
from ..time_range import in_range, per_day
from ..widgets.table import Column, KeyedTable

COLUMNS = (
    Column("day", "Day", 10),
    Column("sessions", "Sessions", 8, "right"),
    Column("cost", "Cost", 8, "right"),
    Column("tokens", "Tokens", 7, "right"),
    Column("commits", "Commits", 7, "right"),
    Column("prs", "PRs", 4, "right"),
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

    def compose(self) -> ComposeResult:
        with Vertical(id="days", classes="box"):
            yield KeyedTable(COLUMNS, id="days-table")
        yield Footer()

    def on_mount(self) -> None:
        box = self.query_one("#days")
        box.border_title = f"Per day · sessions active in: {self.range_name} · by the day they started"
        box.border_subtitle = "Esc back"
        self.query_one(KeyedTable).focus()
        self._shown: Snapshot | None = None
        self._follow()
        self.set_interval(1.0, self._follow)

    def _follow(self) -> None:
        snap = getattr(self.app, "snapshot", None)
        if snap is not None and snap is not self._shown:
            self._shown = snap
            self.show(snap)

    def show(self, snap: Snapshot) -> None:
        rows = per_day(in_range(snap.sessions, self.range_name, snap.now_ns))
        self.query_one(KeyedTable).sync(
            [
                (
                    d.day,
                    (
                        d.day,
                        f"{d.sessions:,}",
                        fmt.usd(d.cost),
                        fmt.compact(d.tokens),
                        fmt.count(d.commits),
                        fmt.count(d.pull_requests),
                    ),
                )
                for d in rows
            ]
        )
