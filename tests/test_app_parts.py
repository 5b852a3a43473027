"""The dashboard's parts: formatting, grouping, charts, the keyed table, Prometheus mode, and
the views' import boundary."""

from __future__ import annotations

import dataclasses

from app_support import FIXED_NS, StoreSource, caught_up, fixed_store, pane_lines, utc  # noqa: F401 (fixture)
from textual.app import App, ComposeResult

from ccmon.model.grouping import dimensions, edit_rates, group_sessions
from ccmon.model.snapshot import EditRow, SessionRow, SourceStatus, Tokens
from ccmon.model.source import SessionDetail
from ccmon.views import fmt
from ccmon.views.app import CcmonApp
from ccmon.views.widgets.chart import draw
from ccmon.views.widgets.sparkline import bars
from ccmon.views.widgets.table import Column, KeyedTable


def test_formats():
    assert fmt.usd(0.23671050000000002) == "$0.2367"
    assert fmt.usd(1234.5) == "$1,234.50"
    assert fmt.per_hour(2.8405) == "$2.84/h"
    assert fmt.per_hour(0.001) == "<$0.01/h"
    assert fmt.per_hour(0.0) == "$0.00/h"
    assert fmt.count(53406.0) == "53,406"
    assert [fmt.compact(x) for x in (950, 78_300, 12_345_678, 150_000)] == ["950", "78.3k", "12.3M", "150k"]
    assert fmt.ratio(53406 / 14070) == "3.8:1"
    assert fmt.ratio(20.2) == "20:1"
    assert fmt.ratio(None) == fmt.percent(None) == "—"
    assert [fmt.seconds(s) for s in (0.626, 42, 725, 10_920)] == ["0.6s", "42s", "12m 05s", "3h 02m"]
    assert fmt.age(125 * 10**9) == "2m"
    assert fmt.plural(1, "commit") == "1 commit" and fmt.plural(2.0, "PR") == "2 PRs"


def _session(key: str, cost: float, labels: tuple[tuple[str, str], ...] = (), user: str = "u") -> SessionRow:
    return SessionRow(
        key=key, user=user, models=("m",), cost=cost, tokens=Tokens(1, 2, 3, 4), first_ns=0, last_ns=0, labels=labels
    )


def test_grouping_by_any_label_stays_bounded():
    assert dimensions(("team", "terminal.type", "os.version", "user.id")) == (
        "user.id",
        "terminal.type",
        "os.version",
        "team",
    )
    assert dimensions(()) == ("user.id",)  # sessions always have a user
    sessions = [_session(f"s{i}", 1.0 + i, (("team", f"t{i % 4}"),)) for i in range(8)] + [_session("x", 0.5)]
    rows = group_sessions(sessions, "team")
    assert [(r.value, r.sessions, r.cost) for r in rows] == [
        ("t3", 2, 12.0),
        ("t2", 2, 10.0),
        ("t1", 2, 8.0),
        ("t0", 2, 6.0),
        ("(unset)", 1, 0.5),
    ]
    assert rows[0].tokens == Tokens(2, 4, 6, 8)
    capped = group_sessions(sessions, "team", limit=3)
    assert [(r.value, r.sessions, r.cost) for r in capped] == [("t3", 2, 12.0), ("t2", 2, 10.0), ("(3 more)", 5, 14.5)]
    assert sum(r.cost for r in capped) == sum(s.cost for s in sessions)


def test_edit_rates_keep_auto_and_human_apart():
    rows = (
        EditRow("Write", "Python", "config", "accept", 3),
        EditRow("Write", "Python", "user_temporary", "accept", 1),
        EditRow("Write", "Go", "user_reject", "reject", 1),
        EditRow("Edit", "Go", "hook", "accept", 2),
    )
    (total,) = edit_rates(rows, "all")
    assert (total.auto.accepted, total.auto.total, total.human.accepted, total.human.total) == (5, 5, 1, 2)
    by_tool = {r.label: r for r in edit_rates(rows, "tool")}
    assert by_tool["Write"].human.share == 0.5 and by_tool["Edit"].human.share is None


def test_sparkline_and_chart(utc):
    assert bars([0, 1, 2, 4], 6) == "   ▂▄█"  # scaled to the largest; width padded on the left
    assert bars([5, 0, 0.01], 3) == "█ ▁"  # above zero is never blank
    assert bars([9, 9, 0, 3], 2) == " █"  # narrower than the series: the newest
    text = draw([(FIXED_NS, 0.1), (FIXED_NS + 60 * 10**9, 0.4)], width=40, height=8).plain.splitlines()
    assert text[0].startswith("$0.4000 ┤") and text[0].endswith("█")  # the total, at the top right
    assert text[5].startswith("$0.0000 ┤")
    assert text[6].startswith("        └────")
    assert text[7].split() == ["19:58:30", "19:59:30"]


class _TableApp(App):
    def compose(self) -> ComposeResult:
        yield KeyedTable([Column("k", "Key", 6), Column("v", "Value", 6, "right")])


async def test_keyed_table_touches_only_what_changed(utc):
    app = _TableApp()
    async with app.run_test(size=(30, 10)) as pilot:
        table = app.query_one(KeyedTable)
        table.sync([("a", ("a", "1")), ("b", ("b", "2")), ("c", ("c", "3"))])
        await pilot.pause()
        table.action_cursor(1)  # on "b"
        strips = dict(table._strips)  # rendered rows, by key
        assert set(strips) == {"a", "b", "c"}

        table.sync([("c", ("c", "30")), ("b", ("b", "2")), ("d", ("d", "4"))])  # c changed, a gone, d new
        await pilot.pause()
        assert table.keys == ["c", "b", "d"]
        assert table.current_key() == "b"  # the cursor follows its row
        assert table._strips["b"] is strips["b"]  # unchanged: not rendered again
        assert table._strips["c"] is not strips["c"]
        assert pane_lines(app, "KeyedTable")[:4] == ["Key Value", "c 30", "b 2", "d 4"]

        strips = dict(table._strips)
        table.sync([("c", ("c", "30")), ("b", ("b", "2")), ("d", ("d", "40"))])  # in place: one line repainted
        await pilot.pause()
        assert table._strips["c"] is strips["c"] and table._strips["d"] is not strips["d"]
        assert pane_lines(app, "KeyedTable")[:4] == ["Key Value", "c 30", "b 2", "d 40"]


def _prometheus(snap):
    """What a Prometheus source gives: metrics only, every event-derived field None."""
    return dataclasses.replace(
        snap,
        events_by_name=None,
        api_requests=None,
        api_errors=None,
        latency_p50_ms=None,
        latency_p95_ms=None,
        retries=None,
        recent_events=None,
        status=SourceStatus(
            kind="prometheus", where="http://prom:9090", naming="otel", last_payload_ns={"metrics": FIXED_NS}
        ),
    )


class _PrometheusLike(StoreSource):
    def snapshot(self, now_ns=None):
        return _prometheus(super().snapshot(now_ns))

    async def session_detail(self, key):
        return SessionDetail(key, cost_over_time=self.store.session_cost_points(key), events_available=False)


async def test_prometheus_mode_says_what_is_missing(tmp_path, utc):
    app = CcmonApp(_PrometheusLike(fixed_store(tmp_path / "db", ("2.1.197", "grpc/all"))), clock=lambda: FIXED_NS)
    async with app.run_test(size=(160, 48)) as pilot:
        await caught_up(pilot, app)
        assert "Total $0.2367 today $0.2367" in pane_lines(app, "#cost")
        assert pane_lines(app, "#api")[1].startswith("Not available in Prometheus mode")
        assert pane_lines(app, "#events")[1].startswith("Not available in Prometheus mode")
        status = " ".join(pane_lines(app, "#status"))
        assert "metrics 0s ago │" in status and "Prometheus http://prom:9090 (otel)" in status
        await pilot.press("enter")
        await pilot.pause()
        await caught_up(pilot, app)
        assert pane_lines(app, "#session-note")[0].startswith("API requests, tools and errors are not available")
        assert "$0.2367 ┤" in " ".join(pane_lines(app, "#session-chart"))


async def test_palette_lists_the_footer_actions(tmp_path):
    app = CcmonApp(StoreSource(fixed_store(tmp_path / "db")))
    async with app.run_test():
        titles = {c.title for c in app.get_system_commands(app.main)}
    assert {
        "Pause / resume",
        "Sort sessions",
        "Filter",
        "Group by",
        "Open session",
        "Zoom pane",
        "Next pane",
        "Help",
        "Quit",
    } <= titles
