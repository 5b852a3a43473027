"""Prompts: every prompt of a session (or of the last day), most expensive first.

Each row is one ``prompt.id``: what the user asked (its length, or its text when Claude Code
logs prompts), how many API calls, tools, retries and errors it set off, its tokens, cache hit
rate, duration and cost. Enter opens the prompt step by step (``PromptScreen``). Read from the
source's database on a worker thread when the screen opens and on ``r``.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Static

from ...model import insight_db
from ...model.prompts import COST_SOURCE, PromptRow, group_prompts
from .. import fmt, insight_load, safe
from ..widgets.table import Cell, Column, KeyedTable
from .prompt import PromptScreen, prompt_label

DAY_NS = 86_400_000_000_000
ROWS = 1000  # the most expensive ones; the title says when there were more

COLUMNS = (
    Column("cost", "Cost", 9, "right"),
    Column("time", "Time", 11),
    Column("session", "Session", 8),
    Column("prompt", "Prompt", 24),
    Column("calls", "Calls", 5, "right"),
    Column("tools", "Tools", 5, "right"),
    Column("retries", "Retry", 5, "right"),
    Column("errors", "Err", 3, "right"),
    Column("input", "Input", 7, "right"),
    Column("output", "Output", 7, "right"),
    Column("cache_read", "Cache rd", 8, "right"),
    Column("cache_write", "Cache wr", 8, "right"),
    Column("hit", "Hit", 6, "right"),
    Column("took", "Took", 7, "right"),
)


def prompt_cells(r: PromptRow, now_ns: int) -> tuple[Cell, ...]:
    t = r.tokens
    return (
        Text(fmt.usd(r.cost), "bold"),
        fmt.when(r.t_ns, now_ns),
        safe.clean(r.session[:8]),
        prompt_label(r),
        str(r.api_calls),
        str(r.tools),
        str(r.retries) if r.retries else "",
        Text(str(r.errors), "red") if r.errors else "",
        fmt.compact(t.input),
        fmt.compact(t.output),
        fmt.compact(t.cacheRead),
        fmt.compact(t.cacheCreation),
        fmt.percent(r.cache_ratio),
        fmt.seconds(r.duration_s),
    )


class PromptsScreen(Screen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("backspace", "app.pop_screen", "Back", show=False),
        Binding("enter", "open_prompt", "Open", key_display="⏎"),
        Binding("r", "reload", "Reload"),
    ]

    def __init__(self, source, session: str | None = None, clock: Callable[[], int] | None = None) -> None:
        super().__init__()
        self.source = source
        self.session = session
        self.clock = clock
        self.rows: list[PromptRow] | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="prompts-head")
        with Vertical(id="prompts-box", classes="box"):
            yield KeyedTable(COLUMNS, id="prompts-table")
        yield Footer()

    def on_mount(self) -> None:
        self._head("Loading…")
        self.query_one("#prompts-box").border_title = "Prompts"
        self.action_reload()

    def _now(self) -> int:
        import time

        return (self.clock or time.time_ns)()

    def _head(self, status: str) -> None:
        scope = (
            Text.assemble(("Prompts of session ", "dim"), safe.text(self.session, "bold"))
            if self.session
            else Text.assemble(("Prompts of the last 24 h", "bold"), (" · all sessions", "dim"))
        )
        scope.append(f"  {status}" if status else "", "dim")
        source = Text(
            f"Most expensive first. Cost = {COST_SOURCE}: Claude Code's own estimate per request "
            "(API-equivalent for subscribers).",
            "dim italic",
        )
        head = Text("\n").join([scope, source])
        self.query_one("#prompts-head", Static).update(head)

    def action_reload(self) -> None:
        self._load()

    @work(group="prompts", exclusive=True)
    async def _load(self) -> None:
        now = self._now()
        session, since = self.session, (0 if self.session else now - DAY_NS)
        try:
            rows = await insight_load.load(
                self.source, lambda conn: group_prompts(insight_db.prompt_events(conn, session=session, since_ns=since))
            )
        except Exception as exc:  # a failed read is reported on screen; the dashboard carries on
            self._head(f"could not read the prompts: {safe.clean(exc)}")
            return
        self.show(rows, now)

    def show(self, rows: list[PromptRow] | None, now_ns: int) -> None:
        self.rows = rows
        box = self.query_one("#prompts-box")
        if rows is None:
            self._head("Not available: prompts come from OTLP events, which this source does not have.")
            box.border_title = "Prompts"
            return
        total = sum(r.cost for r in rows)
        self._head(f"{len(rows):,} prompts · {fmt.usd(total)}")
        shown = rows[:ROWS]
        box.border_title = f"Prompts ({len(rows):,})" + (f" · top {len(shown):,}" if len(shown) < len(rows) else "")
        self.query_one(KeyedTable).sync([(f"{r.session}\x1f{r.prompt_id}", prompt_cells(r, now_ns)) for r in shown])

    def _open(self, key: str | None) -> None:
        if key is None or self.rows is None:
            return
        row = next((r for r in self.rows if f"{r.session}\x1f{r.prompt_id}" == key), None)
        if row is not None:
            self.app.push_screen(PromptScreen(self.source, row, self.clock))

    def action_open_prompt(self) -> None:
        self._open(self.query_one(KeyedTable).current_key())

    @on(KeyedTable.RowSelected, "#prompts-table")
    def _selected(self, event: KeyedTable.RowSelected) -> None:
        event.stop()
        self._open(event.key)
