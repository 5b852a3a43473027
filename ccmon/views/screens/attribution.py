"""Attribution: cost and tokens by query source, effort, speed, subagent, skill, plugin, MCP
server or repository, for the last 24 h or one session.

Two tables, each labelled with where its figures come from: the ``cost.usage`` /
``token.usage`` metrics (what the totals show) and the ``api_request`` events (which also count
requests). Each ends with an explicit "unattributed" row, so its rows add up to its total.
``g`` moves to the next dimension.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Static

from ...model import insight_db
from ...model.attribution import (
    COST_METRIC,
    DIMENSIONS,
    TOKEN_METRIC,
    UNATTRIBUTED,
    Attribution,
    from_events,
    from_metrics,
)
from .. import fmt, insight_load, safe
from ..widgets.table import Cell, Column, KeyedTable

DAY_NS = 86_400_000_000_000
DIMS = tuple(DIMENSIONS)

COLUMNS = (
    Column("value", "Value", 32),
    Column("cost", "Cost", 10, "right"),
    Column("share", "Share", 6, "right"),
    Column("input", "Input", 7, "right"),
    Column("output", "Output", 7, "right"),
    Column("cache_read", "Cache rd", 8, "right"),
    Column("cache_write", "Cache wr", 8, "right"),
    Column("sessions", "Sessions", 8, "right"),
    Column("requests", "Requests", 8, "right"),
)


def attribution_rows(a: Attribution) -> list[tuple[str, tuple[Cell, ...]]]:
    total = a.cost
    out: list[tuple[str, tuple[str | Text, ...]]] = []
    for r in a.rows:
        t = r.tokens
        value = Text(r.value, "dim italic") if r.value == UNATTRIBUTED else safe.text(r.value)
        out.append(
            (
                r.value,
                (
                    value,
                    Text(fmt.usd(r.cost), "bold"),
                    fmt.percent(r.cost / total if total else None, 0),
                    fmt.compact(t.input),
                    fmt.compact(t.output),
                    fmt.compact(t.cacheRead),
                    fmt.compact(t.cacheCreation),
                    str(r.sessions),
                    f"{r.requests:,}" if r.requests is not None else fmt.DASH,
                ),
            )
        )
    out.append(
        (
            "\x00total",
            (
                Text("total", "bold"),
                Text(fmt.usd(total), "bold"),
                "",
                fmt.compact(a.tokens.input),
                fmt.compact(a.tokens.output),
                fmt.compact(a.tokens.cacheRead),
                fmt.compact(a.tokens.cacheCreation),
                "",
                "",
            ),
        )
    )
    return out


class AttributionScreen(Screen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("backspace", "app.pop_screen", "Back", show=False),
        Binding("b", "next_dim(1)", "Next dimension"),  # b / B as the dashboard's group-by
        Binding("B", "next_dim(-1)", "Previous dimension", show=False),
        Binding("tab", "app.focus_next", "Next table"),
    ]

    def __init__(
        self, source, session: str | None = None, clock: Callable[[], int] | None = None, dim: str = "query_source"
    ) -> None:
        super().__init__()
        self.source = source
        self.session = session
        self.clock = clock
        self.dim = dim
        self.result: tuple[Attribution, Attribution] | None = None
        self.loaded = False

    def compose(self) -> ComposeResult:
        yield Static(id="attribution-head")
        with Vertical(id="attribution-box", classes="box"):
            yield KeyedTable(COLUMNS, id="attribution-metrics")
        with Vertical(id="attribution-events-box", classes="box"):
            yield KeyedTable(COLUMNS, id="attribution-events")
        yield Footer()

    def on_mount(self) -> None:
        self._load()

    def _now(self) -> int:
        import time

        return (self.clock or time.time_ns)()

    def action_next_dim(self, step: int = 1) -> None:
        self.dim = DIMS[(DIMS.index(self.dim) + step) % len(DIMS)]
        self._load()

    @work(group="attribution", exclusive=True)
    async def _load(self) -> None:
        dim, session = self.dim, self.session
        since = 0 if session else self._now() - DAY_NS

        def query(conn):
            metrics = from_metrics(insight_db.metric_sums(conn, (COST_METRIC, TOKEN_METRIC), since, session), dim)
            events = from_events(insight_db.api_requests(conn, session=session, since_ns=since), dim)
            return metrics, events

        try:
            result = await insight_load.load(self.source, query)
        except Exception as exc:  # reported on screen; the dashboard carries on
            self.query_one("#attribution-head", Static).update(Text(f"Could not read: {safe.clean(exc)}", "red"))
            return
        self.show(result)

    def show(self, result: tuple[Attribution, Attribution] | None) -> None:
        self.result = result
        self.loaded = True
        scope = (
            Text.assemble(("Session ", "dim"), safe.text(self.session, "bold"))
            if self.session
            else Text("Last 24 h, all sessions", "bold")
        )
        dims = Text("  by ", "dim")
        for d in DIMS:
            dims.append(f" {d} ", "reverse bold" if d == self.dim else "dim")
        head = Text.assemble(
            scope,
            dims,
            "\n",
            (
                "All $ are Claude Code's own estimates (API-equivalent for "
                "subscribers). b / B: next / previous dimension.",
                "dim italic",
            ),
        )
        self.query_one("#attribution-head", Static).update(head)
        if result is None:
            self.query_one(
                "#attribution-box"
            ).border_title = "Not available: attribution reads the OTLP store, which this source does not have"
            return
        for box, table, a in (
            ("#attribution-box", "#attribution-metrics", result[0]),
            ("#attribution-events-box", "#attribution-events", result[1]),
        ):
            self.query_one(box).border_title = f"By {a.dim}, from the {a.source}"
            self.query_one(table, KeyedTable).sync(attribution_rows(a))
