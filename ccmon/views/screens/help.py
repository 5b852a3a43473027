"""Help: the keys, and what the less obvious figures mean."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

# Every key of every screen, by where it works (tests/test_keys.py checks that each binding of
# each screen and table is listed here).
KEYS = (
    (
        "Everywhere",
        (
            ("q / Ctrl+C", "quit"),
            ("p", "pause / resume: freeze every pane; resuming catches up (the footer says which)"),
            ("? / F1", "this help"),
            ("f", "flow: what arrives per signal and protocol, from whom, what was rejected and why"),
            ("P", "prompts, most expensive first (Enter: why one cost what it did)"),
            ("Ctrl+P", "command palette: every action by name, the theme, a screenshot"),
        ),
    ),
    (
        "Dashboard",
        (
            ("Tab / Shift+Tab", "focus the next / previous pane (it scrolls into view)"),
            ("s / r", "sort sessions by the next column / reverse the order (or click a header; again reverses)"),
            ("/", "filter sessions and events by text; Esc clears"),
            ("b / B", "group by the next / previous dimension (user, terminal, resource attributes)"),
            ("n / N", "events: only the next / previous event name (past the last: all again)"),
            (
                "t / T",
                "time range: all, today, 1 h, 24 h, 7 d, 30 d (next / previous); the totals, panes and "
                "sessions table follow it and their titles name it; today, burn 5m / 1h, the per-minute "
                "lines and plan limits keep their own windows",
            ),
            ("d", "per day: cost, tokens, sessions, commits, PRs; the last 7 d (30 d in that range; all days in all)"),
            ("Enter", "sessions: open the session; events: every attribute of the event"),
            ("z", "zoom the focused pane to the whole screen, again (or Esc) to restore"),
            ("Esc", "clear the filter; leave the zoom"),
        ),
    ),
    (
        "Tables",
        (
            ("↑ ↓ / j k", "previous / next row"),
            ("PgUp / PgDn", "a page up / down"),
            ("Home End / g G", "first / last row"),
            ("← →", "one column left / right (› in the header: more columns to the right)"),
            ("Enter", "open the row: a session, or an event's attributes"),
        ),
    ),
    (
        "Session",
        (
            ("Esc / Backspace", "back to the dashboard (Esc leaves a zoom first)"),
            ("c", "copy the full session id (for claude --resume)"),
            ("P / a", "this session's prompts / its cost by query source, agent, skill, repository..."),
            ("z", "zoom the focused table"),
            ("Tab / Shift+Tab", "next / previous table"),
        ),
    ),
    (
        "Event",
        (
            ("Esc / Backspace", "back"),
            ("o", "open the event's session"),
            ("↑ ↓ PgUp PgDn", "scroll"),
        ),
    ),
    ("Flow", (("Esc / f", "back"),)),
    (
        "Prompts",
        (
            ("Enter", "open the prompt: its API calls, tools and errors in order, each with its cost"),
            ("r", "read the prompts again"),
            ("Esc / Backspace", "back"),
        ),
    ),
    (
        "Attribution",
        (
            (
                "b / B",
                "next / previous dimension: query source, effort, speed, agent, skill, plugin, MCP server, repository",
            ),
            ("Tab", "next table"),
            ("Esc / Backspace", "back"),
        ),
    ),
    ("Per day", (("Esc / d", "back"),)),
)

FIGURES = (
    (
        "~$0.2367",
        "provisional: includes API calls (their api_request events) that no cost metric point has "
        "counted yet; Claude Code exports metrics every 60 s by default, the next one replaces them. "
        "Never counted twice; `ccmon report` lists them apart",
    ),
    ("Burn 5m / 1h", "spend in the last 5 minutes or hour, as dollars per hour"),
    ("cache hit", "cacheRead / (input + cacheRead + cacheCreation): prompt tokens served from cache"),
    ("reads/write", "cacheRead : cacheCreation, how often each cache write was read back"),
    ("Auto: accepted", "edits approved by an allow-list, acceptEdits or a hook (config/hook): nobody looked"),
    ("You: accepted", "edits a person accepted of those they were asked about in the permission prompt (user_*)"),
    ("$/active h", "cost per hour of active time (user typing plus CLI working); shown from 5 minutes of it"),
    ("$/commit, $/PR", "all spend divided by the commits (PRs): sessions without commits count too"),
    ("$/h (sessions)", "a session's cost over its span (first to last export); shown from a 5-minute span"),
    (
        "State",
        "active: exported in the last 2 minutes (60 s metric interval + margin); idle: within "
        "30 minutes; ended: nothing for longer (delta exports send nothing while idle, so a long "
        "pause reads as ended)",
    ),
    ("Span / Started", "first to last export seen for the session"),
    ("sparklines", 'one bar per minute, the last hour; "max" is the tallest bar'),
    ("PROMPTS LOGGED", "events carry prompt text (OTEL_LOG_USER_PROMPTS=1): the database holds it"),
    ("TOOL DETAILS LOGGED", "events carry tool inputs such as commands and paths (OTEL_LOG_TOOL_DETAILS=1)"),
    (
        "Plan limits",
        "claude.ai 5 h / 7 d use from Claude Code's status line (ccmon setup --statusline); "
        "pace = use at the reset if the rate since the window began holds",
    ),
    (
        "$",
        "Claude Code's own estimates (API-equivalent for subscribers): the cost.usage metric, or the sum "
        "of api_request.cost_usd where a screen says so; a session's drift badge: the two disagree",
    ),
    ("1st token", "time to first token (ttft_ms) of the newest requests, beside the full latency"),
    ("Ctx / Cache / Repo", "from the status line: context window in use, prompt cache warm (time left) or cold"),
)


def _table(title: str, rows: tuple[tuple[str, str], ...]) -> Table:
    t = Table(title=title, title_justify="left", title_style="bold", show_header=False, box=None, padding=(0, 2, 0, 0))
    t.add_column(style="bold cyan", no_wrap=True)
    t.add_column()
    for k, v in rows:
        t.add_row(k, v)
    return t


class HelpScreen(ModalScreen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Close"),
        Binding("q", "app.pop_screen", "Close", show=False),
        Binding("f1", "app.pop_screen", "Close", show=False),
        Binding("question_mark", "app.pop_screen", "Close", show=False),
    ]

    def compose(self) -> ComposeResult:
        parts: list[RenderableType] = []
        for where, keys in KEYS:
            parts += [_table(f"Keys: {where}", keys), Text("")]
        with VerticalScroll(id="help"):
            yield Static(Group(*parts, _table("Figures", FIGURES)))

    def on_mount(self) -> None:
        self.query_one("#help").border_title = "ccmon help"
        self.query_one("#help").border_subtitle = "Esc closes"
