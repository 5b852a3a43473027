"""One prompt, step by step: "why did that prompt cost $4?".

Every event the prompt set off, in ``event.sequence`` order: its API calls (model, tokens by
type, cost, and the prompt's running cost), the tool decisions and results between them,
errors, compactions and the reply. Read on a worker thread when the screen opens.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.console import Group
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Static

from ...model import insight_db
from ...model.prompts import COST_SOURCE, PromptRow, PromptStep, prompt_steps
from .. import fmt, insight_load, safe
from ..widgets.table import Cell, Column, KeyedTable

COLUMNS = (
    Column("seq", "Seq", 4, "right"),
    Column("time", "Time", 12),
    Column("kind", "Step", 10),
    Column("what", "What", 22),
    Column("input", "Input", 7, "right"),
    Column("output", "Output", 7, "right"),
    Column("cache_read", "Cache rd", 8, "right"),
    Column("cache_write", "Cache wr", 8, "right"),
    Column("cost", "Cost", 8, "right"),
    Column("running", "So far", 8, "right"),
    Column("took", "Took", 7, "right"),
    Column("detail", "Detail", 60),
)
_KIND_STYLE = {"api call": "bold cyan", "error": "bold red", "compaction": "bold yellow", "prompt": "bold"}


def prompt_label(r: PromptRow) -> str:
    """The prompt's text when logged, else its slash command or length (all untrusted)."""
    if r.text is not None:
        return safe.clean(r.text)
    if r.command:
        return "/" + safe.clean(r.command)
    return f"({r.length} chars)" if r.length is not None else "(no prompt event)"


def _millis_time(t_ns: int) -> str:
    return fmt.clock_time(t_ns) + f".{(t_ns // 1_000_000) % 1000:03d}"


def step_cells(s: PromptStep) -> tuple[Cell, ...]:
    t = s.tokens
    what_style = "red" if s.kind == "error" or s.what.endswith("failed") or s.what.endswith("reject") else ""
    return (
        str(s.seq) if s.seq is not None else "",
        _millis_time(s.t_ns),
        Text(safe.clean(s.kind), _KIND_STYLE.get(s.kind, "")),
        safe.text(s.what, what_style),
        f"{t.input:,.0f}" if t else "",
        f"{t.output:,.0f}" if t else "",
        f"{t.cacheRead:,.0f}" if t else "",
        f"{t.cacheCreation:,.0f}" if t else "",
        Text(fmt.usd(s.cost), "bold") if s.cost is not None else "",
        fmt.usd(s.cumulative_cost),
        fmt.millis(s.duration_ms) if s.duration_ms is not None else "",
        safe.clean(s.summary),
    )


class PromptScreen(Screen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("backspace", "app.pop_screen", "Back", show=False),
    ]

    def __init__(self, source, row: PromptRow, clock: Callable[[], int] | None = None) -> None:
        super().__init__()
        self.source = source
        self.row = row
        self.clock = clock
        self.steps: list[PromptStep] | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="prompt-head")
        with Vertical(id="prompt-box", classes="box"):
            yield KeyedTable(COLUMNS, id="prompt-table")
        yield Footer()

    def on_mount(self) -> None:
        self._head()
        self.query_one("#prompt-box").border_title = "Steps (loading…)"
        self._load()

    def _head(self) -> None:
        r = self.row
        t = r.tokens
        first = Text.assemble(
            ("Prompt ", "dim"),
            safe.text(r.prompt_id, "bold"),
            ("  session ", "dim"),
            safe.text(r.session),
            no_wrap=True,
            overflow="ellipsis",
        )
        second = Text.assemble(
            (fmt.usd(r.cost), "bold"),
            (f" ({COST_SOURCE})", "dim"),
            f"  {r.api_calls} API calls · {r.tools} tools · {r.retries} retries · "
            f"{r.errors} errors · took {fmt.seconds(r.duration_s)}",
            no_wrap=True,
            overflow="ellipsis",
        )
        third = Text.assemble(
            ("tokens ", "dim"),
            f"in {t.input:,.0f} · out {t.output:,.0f} · cache read "
            f"{t.cacheRead:,.0f} · cache write {t.cacheCreation:,.0f} · hit ",
            fmt.percent(r.cache_ratio),
            ("  models ", "dim"),
            safe.text(", ".join(r.models) or fmt.DASH, "cyan"),
            no_wrap=True,
            overflow="ellipsis",
        )
        fourth = Text.assemble(("asked ", "dim"), safe.text(prompt_label(r)), no_wrap=True, overflow="ellipsis")
        self.query_one("#prompt-head", Static).update(Group(first, second, third, fourth))

    @work(group="prompt", exclusive=True)
    async def _load(self) -> None:
        r = self.row
        try:
            steps = await insight_load.load(
                self.source, lambda conn: prompt_steps(insight_db.one_prompt(conn, r.session, r.prompt_id))
            )
        except Exception as exc:  # reported on screen; the dashboard carries on
            self.query_one("#prompt-box").border_title = f"Steps: could not be read ({safe.clean(exc)})"
            return
        self.show(steps)

    def show(self, steps: list[PromptStep] | None) -> None:
        self.steps = steps or []
        self.query_one("#prompt-box").border_title = f"Steps ({len(self.steps):,}) in event.sequence order"
        self.query_one(KeyedTable).sync([(str(i), step_cells(s)) for i, s in enumerate(self.steps)])
