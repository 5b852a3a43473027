"""Edit decisions: Write/Edit accept rates by tool and by language, auto-approved kept apart.

``config`` and ``hook`` decisions (allow-lists, acceptEdits, bypass mode) happen without
anyone looking; only ``user_*`` decisions are a person accepting an edit. Mixing them would
report a 100% "acceptance" for anyone running in acceptEdits mode.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical

from ...model.grouping import EditRates, Rate, edit_rates
from ...model.snapshot import Snapshot
from .. import fmt, safe
from .pane import range_title
from .table import Cell, Column, KeyedTable

PER_SECTION = 8  # tools or languages listed; the rest are one "(N more)" row

COLUMNS = (
    Column("what", "Edits", 13),
    Column("auto", "Auto: accepted", 14, "right"),  # config or hook: nobody was asked
    Column("human", "You: accepted", 14, "right"),  # user_*: a person answered the prompt
)


def rate(r: Rate) -> str:
    if not r.total:
        return fmt.DASH
    return f"{fmt.count(r.accepted)} of {fmt.count(r.total)} · {fmt.percent(r.share, 0)}"


def _bounded(rows: tuple[EditRates, ...]) -> list[EditRates]:
    if len(rows) <= PER_SECTION:
        return list(rows)
    rest = rows[PER_SECTION - 1 :]
    auto, human = Rate(), Rate()
    for r in rest:
        auto = Rate(auto.accepted + r.auto.accepted, auto.total + r.auto.total)
        human = Rate(human.accepted + r.human.accepted, human.total + r.human.total)
    return [*rows[: PER_SECTION - 1], EditRates(f"({len(rest)} more)", auto, human)]


class EditsPane(Vertical):
    ALLOW_MAXIMIZE = True  # z zooms the pane, title and all, not just its table

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._shown: object = None
        self._range = "all"

    def compose(self) -> ComposeResult:
        yield KeyedTable(COLUMNS)

    def on_mount(self) -> None:
        self.border_title = "Edit decisions"

    def show(self, snap: Snapshot) -> None:
        if snap.range_name != self._range:
            self._range = snap.range_name
            self.border_title = range_title("Edit decisions", self._range)
        if snap.edit_decisions == self._shown:
            return
        self._shown = snap.edit_decisions
        rows: list[tuple[str, tuple[Cell, ...]]] = []
        for total in edit_rates(snap.edit_decisions, "all"):
            rows.append(("all", ("All edits", rate(total.auto), rate(total.human))))
        for by, heading in (("tool", "by tool"), ("language", "by language")):
            section = _bounded(edit_rates(snap.edit_decisions, by))
            if not section:
                continue
            rows.append((f"h:{by}", (Text(heading, "dim italic"), "", "")))
            for i, r in enumerate(section):  # keyed by position: labels are untrusted, may collide
                label = safe.text("  " + (r.label or "(unknown)"))
                rows.append((f"{by}:{i}", (label, rate(r.auto), rate(r.human))))
        self.query_one(KeyedTable).sync(rows)
