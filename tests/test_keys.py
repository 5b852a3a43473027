"""Every key, pressed under Pilot on the SHOWCASE day, and the help that lists them all."""

from __future__ import annotations

import pytest
from app_support import FIXED_NS, SHOWCASE, StoreSource, fixed_store, pane_lines, screen_text, utc, wait_for  # noqa: F401

from ccmon.views.app import CcmonApp
from ccmon.views.screens.days import DaysScreen
from ccmon.views.screens.event import EventScreen
from ccmon.views.screens.flow import FlowScreen
from ccmon.views.screens.help import KEYS, HelpScreen
from ccmon.views.screens.main import MainScreen
from ccmon.views.screens.session import SessionScreen
from ccmon.views.widgets.events import EventsTable
from ccmon.views.widgets.table import KeyedTable, SessionLinkTable

pytestmark = pytest.mark.usefixtures("utc")

# Newest activity first, as the sessions table starts (by last seen, descending).
BY_LAST_SEEN = [
    "27f67ccd",
    "588f4ee0",
    "afa46531",
    "73f240f5",
    "db18c619",
    "7d691200",
    "e1843475",
    "99fc81a6",
    "cf1fd545",
    "637ef220",
    "f3cca03c",
    "c4f76be4",
    "b384b25e",
    "3e012429",
    "723db479",
]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return fixed_store(tmp_path_factory.mktemp("keys") / "ccmon.db", *SHOWCASE)


@pytest.fixture
def app(store):
    return CcmonApp(StoreSource(store), clock=lambda: FIXED_NS)


def cursor(app) -> str:
    return app.screen.query_one("#sessions-table").current_key()[:8]


def footer(app) -> str:
    return screen_text(app).splitlines()[-1]


async def test_rows_j_k_g_G_home_end(app):
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert cursor(app) == BY_LAST_SEEN[0]
        await pilot.press("j", "j")
        assert cursor(app) == BY_LAST_SEEN[2]
        await pilot.press("k")
        assert cursor(app) == BY_LAST_SEEN[1]
        await pilot.press("G")
        assert cursor(app) == BY_LAST_SEEN[-1]
        await pilot.press("g")
        assert cursor(app) == BY_LAST_SEEN[0]
        await pilot.press("end")
        assert cursor(app) == BY_LAST_SEEN[-1]
        await pilot.press("home")
        assert cursor(app) == BY_LAST_SEEN[0]


async def test_sort_reverse_by_key_and_second_click(app):
    async with app.run_test(size=(120, 24)) as pilot:
        await pilot.pause()
        title = lambda: pane_lines(app, "#sessions")[0]  # noqa: E731
        await pilot.press("r")
        assert "by last seen ▲" in title()
        assert cursor(app) == BY_LAST_SEEN[0]  # the cursor stays on its row...
        assert app.screen.query_one("#sessions-table").keys[0].startswith(BY_LAST_SEEN[-1])  # ...now last
        await pilot.press("r")
        assert "by last seen ▼" in title()
        await pilot.press("s")
        assert "by cost ▼" in title()
        table = app.screen.query_one("#sessions-table")
        cost_x = table._edges()[[c.key for c in table.spec].index("cost")] + 2
        await pilot.click("#sessions-table", offset=(cost_x, 0))  # the same column again: reversed
        assert "by cost ▲" in title()
        assert pane_lines(app, "#sessions")[2].split()[2] == "$0.0000"
        await pilot.click("#sessions-table", offset=(cost_x, 0))
        assert "by cost ▼" in title()
        assert pane_lines(app, "#sessions")[2].split()[2] == "$0.2367"


async def test_group_by_forward_and_back(app):
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        groups = app.screen.query_one("#groups")
        dims = list(groups._dims)
        assert len(dims) >= 3 and groups.dim == dims[0]
        await pilot.press("b")
        assert groups.dim == dims[1] and f"Group by {dims[1]}" in pane_lines(app, "#groups")[0]
        await pilot.press("B", "B")
        assert groups.dim == dims[-1]
        await pilot.press("b")
        assert groups.dim == dims[0]


async def test_ctrl_c_quits(app):
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert not app.is_running


async def test_left_right_step_whole_columns(app):
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        table = app.screen.query_one("#sessions-table")
        edges = table._edges()
        assert pane_lines(app, "#sessions")[1].endswith("›")  # more columns to the right
        await pilot.press("right")
        await pilot.pause()
        assert table.scroll_offset.x == edges[1]  # one whole column (the session id), not one cell
        await pilot.press("right", "right")
        await pilot.pause()
        assert table.scroll_offset.x == edges[3]
        assert pane_lines(app, "#sessions")[1].startswith("Tokens")
        await pilot.press("left")
        await pilot.pause()
        assert table.scroll_offset.x == edges[2]
        await pilot.press(*["right"] * 20)
        await pilot.pause()
        assert pane_lines(app, "#sessions")[1].split()[-1] == "Repo"  # the end, not past it


async def test_every_tab_stop_is_visible(app):
    """Tab goes round panes only, and each one it reaches is drawn as focused (accent border)."""
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        chain = app.screen.focus_chain
        assert [w.id or w.parent.id for w in chain] == [
            "cost",
            "tokens",
            "productivity",
            "api",
            "sessions-table",
            "limits",
            "edits",
            "events-table",
            "groups",
        ]
        from textual.color import Color

        accent = Color.parse(app.current_theme.accent)
        for _ in chain:
            await pilot.press("tab")
            await pilot.pause()
            focused = app.screen.focused
            box = focused if focused.id in ("cost", "tokens", "productivity", "api", "limits") else focused.parent
            drawn = box.styles.border_top[1]
            assert max(abs(a - b) for a, b in zip(drawn.rgb, accent.rgb, strict=False)) <= 2, (box, drawn, accent)


async def test_footer_says_pause_or_resume(app):
    async with app.run_test(size=(120, 24)) as pilot:
        await pilot.pause()
        assert "p Pause" in footer(app) and "Resume" not in footer(app)
        await pilot.press("p")
        await pilot.pause()
        assert "p Resume" in footer(app) and "Pause" not in footer(app)
        assert "PAUSED" in screen_text(app).splitlines()[0]
        await pilot.press("p")
        await pilot.pause()
        assert "p Pause" in footer(app)
        assert "PAUSED" not in screen_text(app).splitlines()[0]


async def test_filter_zoom_and_escape(app):
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("slash", *"3e01")
        assert "filter 3e01 (1)" in pane_lines(app, "#sessions")[0]
        await pilot.press("escape")
        assert "filter" not in pane_lines(app, "#sessions")[0]
        await pilot.press("z")
        await pilot.pause()
        assert app.screen.maximized is app.screen.query_one("#sessions")
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen.maximized is None


async def test_session_screen_keys(app):
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("enter")
        await wait_for(pilot, lambda: getattr(app.screen, "detail", None) is not None, "the session detail")
        assert isinstance(app.screen, SessionScreen)
        key = app.screen.key
        assert key.startswith(BY_LAST_SEEN[0]) and len(key) == 36
        assert key in " ".join(pane_lines(app, "#session-head"))  # the full id
        await pilot.press("c")
        assert app.clipboard == key
        await pilot.press("tab")
        await pilot.press("z")
        await pilot.pause()
        assert app.screen.maximized is not None and "box" in app.screen.maximized.classes
        await pilot.press("z")
        await pilot.pause()
        assert app.screen.maximized is None
        await pilot.press("z", "escape")  # Esc leaves the zoom first...
        await pilot.pause()
        assert isinstance(app.screen, SessionScreen) and app.screen.maximized is None
        await pilot.press("escape")  # ...then the screen
        assert isinstance(app.screen, MainScreen)


async def test_event_detail_name_filter_and_counts(app):
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        counts = lambda: pane_lines(app, "#events")[1]  # noqa: E731
        assert counts().startswith("api_request 44 · plugin_loaded 29 · tool_decision 28")
        app.screen.query_one("#events-table").focus()
        await pilot.press("n")  # the most frequent name first
        assert "Events · only api_request" in pane_lines(app, "#events")[0]
        assert counts().startswith("44 recent match: api_request 44")
        assert all(" api_request " in f" {line} " for line in pane_lines(app, "#events")[3:10])
        await pilot.press("n")
        assert counts().startswith("29 recent match: plugin_loaded 29")
        await pilot.press("N", "N")
        assert counts().startswith("api_request 44 · plugin_loaded 29")  # all again
        await pilot.press("n", "enter")
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, EventScreen) and app.screen.attributes is not None,
            "the event's attributes",
        )
        attrs = app.screen.attributes
        assert attrs["event.name"] == "api_request" and attrs["cost_usd"] == 0.029781199999999997
        text = " ".join(pane_lines(app, "#event-detail"))
        assert "cost_usd 0.029781199999999997" in text and "query_source repl_main_thread" in text
        await pilot.press("o")  # its session
        await pilot.pause()
        assert isinstance(app.screen, SessionScreen) and app.screen.key.startswith(BY_LAST_SEEN[0])


async def test_flow_and_help_keys(app):
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("f")
        assert isinstance(app.screen, FlowScreen)
        await pilot.press("f")
        assert isinstance(app.screen, MainScreen)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape", "f1")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("f1")
        assert isinstance(app.screen, MainScreen)


NAMES = {
    "question_mark": "?",
    "slash": "/",
    "escape": "Esc",
    "enter": "Enter",
    "tab": "Tab",
    "shift+tab": "Shift+Tab",
    "ctrl+c": "Ctrl+C",
    "pageup": "PgUp",
    "pagedown": "PgDn",
    "home": "Home",
    "end": "End",
    "up": "↑",
    "down": "↓",
    "left": "←",
    "right": "→",
    "backspace": "Backspace",
    "f1": "F1",
}


@pytest.mark.parametrize(
    "where, classes",
    [
        ("Everywhere", (CcmonApp,)),
        ("Dashboard", (MainScreen,)),
        ("Tables", (KeyedTable, SessionLinkTable, EventsTable)),
        ("Session", (SessionScreen,)),
        ("Event", (EventScreen,)),
        ("Flow", (FlowScreen,)),
        ("Per day", (DaysScreen,)),
    ],
)
def test_help_lists_every_key_of_every_screen(where, classes):
    listed = {name: {k for keys, _ in rows for k in keys.replace(" / ", " ").split()} for name, rows in KEYS}
    everywhere = listed["Everywhere"]
    for cls in classes:
        for b in cls.BINDINGS:
            key = NAMES.get(b.key, b.key)
            if b.action in (
                "app.quit",
                "app.pause",
                "app.resume",
                "app.help",
                "app.flow",
                "help",
                "flow",
                "quit",
                "pause",
                "resume",
            ):
                assert key in everywhere or key in listed[where], (cls.__name__, b.key)
            else:
                assert key in listed[where], (cls.__name__, b.key, where)


async def test_time_range_and_per_day(app):
    """t cycles the sessions' range (the SHOWCASE day: 19:58:30; runs at 02:03-02:06 and 19:51-19:58)."""
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        title = lambda: pane_lines(app, "#sessions")[0]  # noqa: E731
        assert title().startswith("╭─ Sessions 15 · by last seen")
        shown = lambda: app.shown_range == app.range_name  # noqa: E731
        await pilot.press("t")
        await wait_for(pilot, shown, "today")
        await pilot.pause()
        assert title().startswith("╭─ Sessions 15 active in today ·")
        await pilot.press("t")  # 1 h: the 2.1.330 runs only
        await wait_for(pilot, shown, "1 h")
        await pilot.pause()
        assert title().startswith("╭─ Sessions 9 active in 1 h ·")
        assert [k[:8] for k in app.screen.query_one("#sessions-table").keys] == BY_LAST_SEEN[:9]
        await pilot.press("T", "T")
        assert title().startswith("╭─ Sessions 15 · by last seen")
        await pilot.press("d")  # per day over "all": one day (ccmon report --by day: sessions with metrics)
        await wait_for(pilot, lambda: app.screen.data is not None, "the per-day table")
        await pilot.pause()
        rows = [line for line in pane_lines(app, "#days") if line.startswith("2026-")]
        assert rows == ["2026-11-23 $1.4941 574k 14 5 4"]
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)
