"""Help: the keys, and what the less obvious figures mean."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS = (
    ("q", "quit"),
    ("p", "pause / resume: freeze every pane; resuming catches up"),
    ("s", "sort sessions by the next column (or click a column header)"),
    ("/", "filter sessions and events by text; Esc clears"),
    ("g", "group by the next dimension (user, terminal, resource attributes)"),
    ("Tab / Shift+Tab", "focus the next / previous pane"),
    ("Enter", "open the session under the cursor (sessions or events table)"),
    ("z", "zoom the focused pane to the whole screen, again to restore"),
    ("f", "flow: what arrives per signal and protocol, from whom, what was rejected and why"),
    ("P / a", "prompts, most expensive first (Enter: why it cost that) / attribution (from a session)"),
    ("Esc", "back from a session; clear the filter"),
    ("Ctrl+P", "command palette: every action by name"),
    ("? / F1", "this help"),
)

FIGURES = (
    ("Burn 5m / 1h", "spend in the last 5 minutes or hour, as dollars per hour"),
    ("cache hit", "cacheRead / (input + cacheRead + cacheCreation): prompt tokens served from cache"),
    ("reads/write", "cacheRead : cacheCreation, how often each cache write was read back"),
    ("Auto (config/hook)", "edits approved by an allow-list, acceptEdits or a hook: nobody looked"),
    ("You (user_*)", "edits a person accepted or rejected in the permission prompt"),
    ("$/active h", "cost per hour of active time (user typing plus CLI working)"),
    ("PROMPTS LOGGED", "events carry prompt text (OTEL_LOG_USER_PROMPTS=1): the database holds it"),
    ("TOOL DETAILS LOGGED", "events carry tool inputs such as commands and paths (OTEL_LOG_TOOL_DETAILS=1)"),
    ("Plan limits", "claude.ai 5 h / 7 d use from Claude Code's status line (ccmon setup --statusline); "
                    "pace = use at the reset if the rate since the window began holds"),
    ("$", "Claude Code's own estimates (API-equivalent for subscribers): the cost.usage metric, or the sum "
          "of api_request.cost_usd where a screen says so; a session's drift badge: the two disagree"),
    ("1st token", "time to first token (ttft_ms) of the newest requests, beside the full latency"),
    ("Ctx / Cache / Repo", "from the status line: context window in use, prompt cache warm (time left) or cold"),
)


def _table(title: str, rows: tuple[tuple[str, str], ...]) -> Table:
    t = Table(title=title, title_justify="left", title_style="bold", show_header=False, box=None,
              padding=(0, 2, 0, 0))
    t.add_column(style="bold cyan", no_wrap=True)
    t.add_column()
    for k, v in rows:
        t.add_row(k, v)
    return t


class HelpScreen(ModalScreen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Close"),
        Binding("q", "app.pop_screen", "Close", show=False),
        Binding("question_mark", "app.pop_screen", "Close", show=False),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Static(Group(_table("Keys", KEYS), Text(""), _table("Figures", FIGURES)))

    def on_mount(self) -> None:
        self.query_one("#help").border_title = "ccmon help"
        self.query_one("#help").border_subtitle = "Esc closes"
