"""Group by: cost and tokens per user, terminal type, or any resource attribute (team, repo...).

The dimensions come from the labels sessions carry (``OTEL_RESOURCE_ATTRIBUTES`` pairs are
copied onto every data point); ``cycle`` moves to the next one.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical

from ...model.grouping import dimensions, group_sessions
from ...model.snapshot import Snapshot
from .. import fmt, safe
from .pane import range_title
from .table import Column, KeyedTable

COLUMNS = (
    Column("value", "Value", 19),
    Column("sessions", "Sess", 4, "right"),
    Column("cost", "Cost", 9, "right"),
    Column("tokens", "Tokens", 7, "right"),
)


class GroupsPane(Vertical):
    ALLOW_MAXIMIZE = True  # z zooms the pane, title and all, not just its table

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.dim = "user.id"
        self._dims: tuple[str, ...] = ("user.id",)
        self._snap: Snapshot | None = None
        self.preferred: str | None = None  # a remembered dimension, taken once the data has it
        self._titled: tuple[str, str] | None = None
        self._range = "all"

    def compose(self) -> ComposeResult:
        yield KeyedTable(COLUMNS)

    def on_mount(self) -> None:
        self._title()

    def _title(self) -> None:
        if self._titled == (self.dim, self._range):  # a border title repaints the whole pane
            return
        self._titled = (self.dim, self._range)
        self.border_title = range_title(Text.assemble("Group by ", safe.text(self.dim, "bold")), self._range)
        self.border_subtitle = "b/B: next/previous"

    def cycle(self, step: int = 1) -> None:
        """Group by the next (``step`` 1) or previous (-1) dimension the data has."""
        self.preferred = None
        i = self._dims.index(self.dim) if self.dim in self._dims else -1
        self.dim = self._dims[(i + step) % len(self._dims)]
        self._title()
        if self._snap is not None:
            self.show(self._snap)

    def show(self, snap: Snapshot) -> None:
        self._snap = snap
        self._range = snap.range_name
        self._dims = dimensions(snap.group_dims)
        if self.preferred in self._dims:
            self.dim, self.preferred = self.preferred, None
        if self.dim not in self._dims:  # also a remembered one this data does not have (yet)
            self.dim = self._dims[0]
        self._title()
        rows = [
            (str(i), (safe.text(g.value), f"{g.sessions:,}", fmt.usd(g.cost), fmt.compact(g.tokens.total)))
            for i, g in enumerate(group_sessions(snap.sessions, self.dim))
        ]
        self.query_one(KeyedTable).sync(rows)
