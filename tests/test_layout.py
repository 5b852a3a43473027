"""The layout at split-pane sizes: which named layout each size gets, the sessions table and the
headline figures always on screen, and no figure cut anywhere (tests/test_app_screens.py keeps
the matching snapshots)."""

from __future__ import annotations

import re

import pytest
from app_support import FIXED_NS, SHOWCASE, StoreSource, fixed_store, pane_lines, screen_text, utc  # noqa: F401

from ccmon.views.app import CcmonApp
from ccmon.views.screens.main import layout_for
from ccmon.views.widgets.headline import layout as headline_layout
from ccmon.views.widgets.pane import Pane
from ccmon.views.widgets.table import KeyedTable

pytestmark = pytest.mark.usefixtures("utc")

SIZES = ((80, 24), (100, 30), (120, 24), (120, 40), (160, 48), (220, 60))
LAYOUT = {
    (80, 24): "compact",
    (100, 30): "compact",
    (120, 24): "compact",
    (120, 40): "medium",
    (160, 48): "wide",
    (220, 60): "huge",
}
# The SHOWCASE day at FIXED_NS, as the headline strip shows it.
HEADLINE = (
    "Total $1.4941",
    "today $1.4941",
    "burn 5m $2.14/h",
    "39.1k tok/min",
    "cache hit 71.3%",
    "15 sessions · 1 active",
)
SESSION_ID = re.compile(r"\b[0-9a-f]{8}-")

# Every way a figure is written (views/fmt.py); a cut figure ("$14.", "1…") matches none.
FIGURE = re.compile(
    r"""^(
    —
  | ~?[+−]?\$?\d{1,3}(,\d{3})*(\.\d+)?(k|M|G|%|s|/h|:1|\ ms)?  # $0.2367 12.3k 71.3% +6 $1.07/h 3.8:1 ~$0.01
  | <\$0\.01/h
  | \d+m\ \d\ds | \d+h\ \d\dm                                 # 12m 05s, 3h 02m
  | \d\d:\d\d:\d\d | \d\d-\d\d\ \d\d:\d\d                      # last seen
  | \+\d[\d,]*\ −\d[\d,]*                                     # lines ±
  | \d[\d,]*\ of\ \d[\d,]*\ ·\ \d+%                           # 3 of 6 · 50%
)$""",
    re.X,
)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return fixed_store(tmp_path_factory.mktemp("layout") / "ccmon.db", *SHOWCASE)


def test_layout_names():
    assert [layout_for(w, h) for w, h in SIZES] == [LAYOUT[s] for s in SIZES]
    assert layout_for(250, 70) == "huge" and layout_for(250, 30) == "compact" and layout_for(99, 60) == "compact"


def test_headline_groups_are_never_split():
    from rich.text import Text

    parts = [Text("Total $1.4941"), Text("today $1.4941"), Text("burn 5m $1.07/h")]
    assert headline_layout(parts, 80).plain == "Total $1.4941  today $1.4941  burn 5m $1.07/h"
    assert headline_layout(parts, 30).plain == "Total $1.4941  today $1.4941\nburn 5m $1.07/h"
    assert headline_layout(parts, 14).plain == "Total $1.4941\ntoday $1.4941\nburn 5m $1.07/h"


def visible_cells(table: KeyedTable) -> list[list[str]]:
    """The cells of the right-aligned (figure) columns as drawn on screen, per visible row; a
    column not drawn (out of view) yields nothing, a drawn one its text."""
    out = []
    edges = table._edges()
    for y in range(1, table.size.height):
        line = table.render_line(y).text
        if not line.strip():
            continue
        x0 = table.scroll_offset.x
        cells = []
        for column, start, end in zip(table.spec, edges, edges[1:], strict=False):
            a, b = start - x0, end - x0
            if b <= 0 or a >= len(line):
                continue
            if a < 0 or b > len(line):  # partly in view: must not be drawn at all
                assert line[max(a, 0) : min(b, len(line))].strip() in ("", "›"), line
                continue
            if column.justify == "right":
                cells.append(line[a:b].strip())
        out.append(cells)
    return out


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_sessions_and_headline_always_visible_no_figure_cut(store, size):
    app = CcmonApp(StoreSource(store), clock=lambda: FIXED_NS)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        await pilot.pause(0.2)
        screen = app.screen
        assert screen.layout_name == LAYOUT[size]
        text = screen_text(app)
        strip = " ".join(" ".join(line.split()) for line in pane_lines(app, "#headline"))
        for figure in HEADLINE:
            assert figure in strip
        # At least 3 session rows inside the sessions pane, on screen without scrolling.
        sessions = pane_lines(app, "#sessions")
        region = screen.query_one("#sessions").region
        assert region.bottom <= size[1] - 1, "the sessions pane ends above the footer"
        rows = [line for line in sessions if SESSION_ID.match(line)]
        assert len(rows) >= 3, text
        # Figures: every number cell of every table on screen parses; every summary pane's
        # figures too (their lines wrap, they are never cut).
        tables = [t for t in screen.query(KeyedTable) if t.region.height and t.display]
        assert tables
        checked = 0
        for table in tables:
            for cells in visible_cells(table):
                for cell in cells:
                    if cell:
                        assert FIGURE.match(cell), f"{table.id or table.parent.id}: {cell!r} at {size}"
                        checked += 1
        assert checked >= 3 * 3
        for pane in [*screen.query(Pane), screen.query_one("#headline")]:
            if not pane.region.height:
                continue
            for line in pane_lines(app, f"#{pane.id}"):
                for token in line.replace("·", " ").split():
                    if token[0] in "$+−" or token[0].isdigit():
                        assert not token.endswith("…"), f"{pane.id}: {token!r} at {size}"


async def test_session_ids_grow_with_the_room(store):
    app = CcmonApp(StoreSource(store), clock=lambda: FIXED_NS)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert pane_lines(app, "#sessions")[2].startswith("27f67ccd-5… active")  # the room left over
        await pilot.resize_terminal(220, 24)
        await pilot.pause(0.2)
        assert app.screen.layout_name == "compact"
        assert "27f67ccd-51c9-4389-9180-cdd066" in pane_lines(app, "#sessions")[2]


def test_derived_figures_say_what_they_are():
    from ccmon.views.widgets.productivity import ProductivityPane, _per
    from ccmon.views.widgets.sparkline import scaled

    assert scaled("$/min", [0.0, 0.5, 1.0], 20, "$1.0000") == ("$/min max $1.0000 ", "▄█")
    assert scaled("$/min", [0.0, 0.0], 10, "$0.0000") == ("$/min ", "    ")  # no maximum to speak of
    assert _per(1.5, 5).plain == "$0.3000 (all spend ÷ 5)" and _per(1.5, 0).plain == "—"
    pane = ProductivityPane()
    # (cost, added, removed, commits, PRs, user s, cli s, started)
    short = pane.draw((10.0, 1, 0, 0, 0, 100.0, 199.0, 1), 60).plain
    assert "$/active h — (from 5 min active)" in short  # 299 s: not yet
    long = pane.draw((10.0, 1, 0, 0, 0, 100.0, 200.0, 1), 60).plain
    assert "$/active h $120.00" in long  # 300 s active: $10 over 1/12 h


def test_time_ranges_and_days_window(utc):
    from ccmon.views.time_range import days_window, next_range, since_ns

    now = 1_795_463_910_000_000_000  # 2026-11-23 19:58:30 UTC
    day = 86_400_000_000_000
    assert since_ns("all", now) is None
    assert since_ns("today", now) == 1_795_392_000_000_000_000  # 00:00 UTC that day
    assert since_ns("1 h", now) == now - 3_600_000_000_000
    assert since_ns("30 d", now) == now - 30 * day
    assert next_range("30 d") == "all" and next_range("all", -1) == "30 d" and next_range("?") == "all"
    assert days_window("30 d", now) == (now - 30 * day, "last 30 d")
    assert days_window("7 d", now) == days_window("1 h", now) == (now - 7 * day, "last 7 d")
    assert days_window("all", now) == (0, "all days")
