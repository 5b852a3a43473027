"""The dashboard's time range (t / T) and per-day view (d) over a store with data on several days.

Five captured runs go over gRPC into a real receiver, each moved to a chosen moment before
``NOW`` (yesterday noon UTC, so every time stamp is in the past); the dashboard then runs the
real embedded source (``OtlpSource``: the store loaded from disk, the receiver on free ports)
with its clock frozen at ``NOW``. Each range shows exactly the runs inside it, in every pane
that counts, and says which range it is; the figures with their own window stay live. The
per-day rows are ``ccmon report --by day`` over the same window, run as a process.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from app_support import pane_lines, screen_text, utc, wait_for  # noqa: F401
from otlp_client import capture, grpc_export
from prom_server import prometheus  # noqa: F401  (fixture)
from restamp import moved

from ccmon.ingest.receiver import OtlpSource, Receiver
from ccmon.model.store import Store
from ccmon.views import fmt
from ccmon.views.app import CcmonApp
from ccmon.views.screens.days import DaysScreen

pytestmark = pytest.mark.usefixtures("utc")

_DAY = 86_400_000_000_000
_H = 3_600_000_000_000
_MIN = 60_000_000_000
NOW = (__import__("time").time_ns() // _DAY - 1) * _DAY + _DAY // 2  # yesterday 12:00 UTC

# (capture, its newest moment, its session, its cost, its commits); C is yesterday 22:00 (in 24 h,
# not today), D today 07:00.
RUNS = {
    "A": (("2.1.197", "grpc/all"), NOW - 20 * _DAY, "723db479-cad8-4057-a422-b4b46c49d6d1", 0.2367105, 1),
    "B": (("2.1.330", "grpc/all"), NOW - 3 * _DAY, "99fc81a6-b7d4-432b-865e-b6c1b520f191", 0.1786872, 1),
    "C": (
        ("2.1.197", "grpc/interactive"),
        NOW - 14 * _H,
        "637ef220-034f-4ad6-921d-2018748ad9bb",
        0.19725875,
        0,
    ),  # yesterday 22:00
    "D": (
        ("2.1.330", "grpc/interactive"),
        NOW - 5 * _H,
        "588f4ee0-c273-4622-882e-20f13015c492",
        0.0893436,
        0,
    ),  # today 07:00
    "E": (("2.1.330", "grpc/error400"), NOW - 10 * _MIN, "1092f9a8-a370-4562-8269-1e0309b572f9", 0.0297812, 0),
}
IN_RANGE = {
    "all": "ABCDE",
    "today": "DE",
    "1 h": "E",
    "24 h": "CDE",
    "7 d": "BCDE",
    "30 d": "ABCDE",
}


def cost(runs: str) -> float:
    """The runs' cost to 9 decimals (the sums' float noise is below that; the captures' costs
    have at most 8)."""
    return round(sum(RUNS[r][3] for r in runs), 9)


async def export(port: int, run: str, to_ns: int | None = None) -> None:
    what, at, *_ = RUNS[run]
    for signal, body in moved(capture(*what), to_ns or at):
        await asyncio.to_thread(grpc_export, port, signal, body)


@pytest.fixture
async def db(tmp_path) -> Path:
    """A database holding the five runs, written through the receiver (and closed again)."""
    store = Store(tmp_path / "ccmon.db", retention_days=0)
    receiver = Receiver(store, bind="127.0.0.1", grpc_port=0, http_port=None)
    await receiver.start()
    try:
        for run in RUNS:
            await export(receiver.grpc_port, run)
    finally:
        await receiver.stop()
        store.close()
    return tmp_path / "ccmon.db"


def dashboard(db: Path, source_class=OtlpSource, now: int = NOW, clock=None) -> CcmonApp:
    clock = clock or (lambda: now)
    store = Store(db, retention_days=0, clock=clock, load=False)
    receiver = Receiver(store, bind="127.0.0.1", grpc_port=0, http_port=None)
    return CcmonApp(source_class(store, receiver), clock=clock)


def shown(app) -> bool:
    return app.shown_range == app.range_name


async def test_each_range_shows_its_figures_in_every_pane(db):
    app = dashboard(db)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None and app.snapshot.sessions, "the loaded store")
        today_cost = cost("DE")  # the live "today" whatever the range
        for i, name in enumerate(("all", "today", "1 h", "24 h", "7 d", "30 d", "all")):
            if i:
                await pilot.press("t")
            await wait_for(pilot, lambda: shown(app), name)
            await pilot.pause()
            runs = IN_RANGE[name]
            snap = app.snapshot
            assert snap.range_name == name
            assert round(snap.cost_total, 9) == cost(runs), name
            assert round(snap.cost_today, 9) == today_cost, name
            assert sorted(s.key[:8] for s in snap.sessions) == sorted(RUNS[r][2][:8] for r in runs), name
            assert snap.commits == sum(RUNS[r][4] for r in runs), name
            assert {e.session[:8] for e in snap.recent_events} == {RUNS[r][2][:8] for r in runs}, name

            headline = " ".join(pane_lines(app, "#headline"))
            label = "" if name == "all" else f"range {name} "
            assert headline.startswith(f"{label}Total {fmt.usd(cost(runs))} today {fmt.usd(today_cost)} "), headline
            assert f" {len(runs)} {'session' if len(runs) == 1 else 'sessions'} · " in headline
            costs = pane_lines(app, "#cost")
            assert costs[0].startswith("╭─ Cost ─" if name == "all" else f"╭─ Cost · {name} ─"), costs[0]
            assert costs[1].startswith(f"Total {fmt.usd(cost(runs))} today {fmt.usd(today_cost)}")
            for pane, title in (("#tokens", "Tokens"), ("#productivity", "Productivity"), ("#edits", "Edit decisions")):
                top = pane_lines(app, pane)[0]
                assert top.startswith(f"╭─ {title} ─" if name == "all" else f"╭─ {title} · {name} ─"), top
            assert pane_lines(app, "#events")[0].startswith("╭─ Events" + ("" if name == "all" else f" · {name}"))
            assert pane_lines(app, "#groups")[0].startswith(
                "╭─ Group by user.id" + ("" if name == "all" else f" · {name}")
            )
            sessions = pane_lines(app, "#sessions")
            title = f"╭─ Sessions {len(runs)} " + ("· by last seen" if name == "all" else f"active in {name} · by")
            assert sessions[0].startswith(title), sessions[0]
            table = app.screen.query_one("#sessions-table")
            assert sorted(k[:8] for k in table.keys) == sorted(RUNS[r][2][:8] for r in runs)
            for r in runs:  # each row with its figure in the range (a run is inside one range or not)
                assert any(
                    line.startswith(RUNS[r][2][:8]) and f" {fmt.usd(RUNS[r][3])} " in line for line in sessions
                ), r


async def test_the_range_follows_new_exports_and_is_remembered(db, tmp_path):
    app = dashboard(db)
    app.state_path = tmp_path / "state.json"
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.source_started, "the receiver")
        await pilot.press("t", "t")  # 1 h
        await wait_for(pilot, lambda: shown(app) and app.range_name == "1 h", "1 h")
        assert round(app.snapshot.cost_total, 9) == cost("E")
        # Another run five minutes ago: the 1 h figures take it in (a recomputation on change).
        await export(app.source.receiver.grpc_port, "D", NOW - 5 * _MIN)
        want = cost("DE")
        await wait_for(pilot, lambda: round(app.snapshot.cost_total, 9) == want, "the new run in 1 h")
        assert app.snapshot.range_name == "1 h" and len(app.snapshot.sessions) == 2
        await pilot.press("q")
    assert json.loads((tmp_path / "state.json").read_text())["range"] == "1 h"
    again = dashboard(db)
    again.state_path = tmp_path / "state.json"
    again._remembered = {"range": "1 h"}
    async with again.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: again.shown_range == "1 h" and again.source_started, "the remembered range")
        assert again.snapshot.range_name == "1 h"


async def test_the_window_slides_when_the_minute_turns(db):
    """Nothing arrives, the clock moves: the 1 h range drops the run that left it."""
    now = [NOW]
    app = dashboard(db, clock=lambda: now[0])
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None and app.snapshot.sessions, "the loaded store")
        await pilot.press("t", "t")
        await wait_for(pilot, lambda: shown(app) and app.range_name == "1 h", "1 h")
        assert round(app.snapshot.cost_total, 9) == cost("E") and len(app.snapshot.sessions) == 1
        now[0] = NOW + 55 * _MIN  # E's run ended 10 min before NOW: now more than an hour ago
        await wait_for(pilot, lambda: app.snapshot.sessions == (), "the window to slide")
        assert app.snapshot.range_name == "1 h" and app.snapshot.cost_total == 0.0


async def test_a_quiet_range_is_not_the_first_run_screen(db):
    app = dashboard(db, now=NOW + 2 * _H)  # nothing in the last hour
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None and app.snapshot.sessions, "the loaded store")
        await pilot.press("t", "t")
        await wait_for(pilot, lambda: shown(app) and app.range_name == "1 h", "1 h")
        await pilot.pause()
        assert app.snapshot.sessions == () and app.snapshot.cost_total == 0.0
        assert not app.screen.query_one("#waiting").display and app.screen.query_one("#dashboard").display
        text = screen_text(app)
        assert "Waiting for Claude Code" not in text
        assert "No session was active in the time range 1 h" in " ".join(pane_lines(app, "#sessions"))
        # The session screen shows the whole session, whatever the range.
        assert round(app._session_row(RUNS["A"][2]).cost, 9) == RUNS["A"][3]


class GatedSource(OtlpSource):
    """The real source whose range totals wait for the test to let them through."""

    gate: asyncio.Event

    async def ranged_snapshot(self, since_ns: int, now_ns: int):
        await self.gate.wait()
        return await super().ranged_snapshot(since_ns, now_ns)


async def test_a_new_range_never_shows_other_figures_under_its_name(db):
    app = dashboard(db, GatedSource)
    gate = app.source.gate = asyncio.Event()  # type: ignore[attr-defined]
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None and app.snapshot.sessions, "the loaded store")
        await pilot.press("t")  # today, still loading
        await pilot.pause(0.3)
        assert app.range_name == "today" and app.snapshot.range_name == "all"
        assert round(app.snapshot.cost_total, 9) == cost("ABCDE")
        assert " ".join(pane_lines(app, "#headline")).startswith("→ today loading… Total ")
        assert pane_lines(app, "#cost")[0].startswith("╭─ Cost ─")
        gate.set()
        await wait_for(pilot, lambda: shown(app), "today")
        await pilot.pause()
        assert app.snapshot.range_name == "today" and round(app.snapshot.cost_total, 9) == cost("DE")
        assert " ".join(pane_lines(app, "#headline")).startswith(f"range today Total {fmt.usd(cost('DE'))} ")
        gate.clear()
        await pilot.press("t")  # 1 h loading: today's figures stay, named today
        await pilot.pause(0.3)
        assert app.snapshot.range_name == "today" and round(app.snapshot.cost_total, 9) == cost("DE")
        assert "→ 1 h loading…" in " ".join(pane_lines(app, "#headline"))
        await pilot.press("T", "T")  # back to "all": at once, with no computation
        await pilot.pause()
        assert app.snapshot.range_name == "all" and round(app.snapshot.cost_total, 9) == cost("ABCDE")
        gate.set()


def report_by_day(db: Path, since_ns: int, until_ns: int) -> dict:
    def iso(t: int) -> str:
        return dt.datetime.fromtimestamp(t / 1e9, dt.UTC).isoformat()

    env = {**os.environ, "TZ": "UTC", "XDG_CONFIG_HOME": str(db.parent / "no-config")}
    out = subprocess.run(
        [sys.executable, "-m", "ccmon", "report", "--db", str(db), "--by", "day", "--format", "json"]
        + ["--since", iso(since_ns), "--until", iso(until_ns)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.mark.parametrize("presses,days", [(("t", "t", "t", "t"), 7), (("T",), 30), (("t",), 7)])
async def test_per_day_rows_are_the_report_by_day(db, presses, days):
    """7 d and 30 d show themselves; a shorter range (today) shows the last 7 days."""
    app = dashboard(db)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None and app.snapshot.sessions, "the loaded store")
        await pilot.press(*presses)
        await pilot.press("d")
        screen = app.screen
        assert isinstance(screen, DaysScreen)
        await wait_for(pilot, lambda: screen.data is not None, "the per-day rows")
        await pilot.pause()
        report = report_by_day(db, NOW - days * _DAY, NOW)
        assert screen.data["rows"] == report["rows"]
        day = lambda t: dt.datetime.fromtimestamp(t / 1e9, dt.UTC).date().isoformat()  # noqa: E731
        runs = "BCDE" if days == 7 else "ABCDE"
        by_day: dict[str, list[str]] = {}
        for r in runs:
            by_day.setdefault(day(RUNS[r][1]), []).append(r)
        assert [(r["key"], round(r["cost_usd"], 9), r["sessions"], r["commits"]) for r in report["rows"]] == [
            (d, cost("".join(rs)), len(rs), sum(RUNS[x][4] for x in rs)) for d, rs in sorted(by_day.items())
        ]
        text = pane_lines(app, "#days")
        assert text[0].startswith(f"╭─ Per day · last {days} d ·")
        lines = [line for line in text if line[:4].isdigit()]
        assert [line.split()[:2] for line in lines] == [
            [r["key"], fmt.usd(r["cost_usd"])] for r in reversed(report["rows"])
        ]
        assert any(line.startswith(f"total {fmt.usd(report['summary']['cost_usd'])} ") for line in text)
        assert "Per day" in screen_text(app)


@pytest.mark.prometheus
async def test_prometheus_range_is_one_fetch_over_its_window(prometheus):
    """Prometheus mode (a real Prometheus, remote-written history): 1 h is alice's and bob's last
    hour (0.06 + 0.10 $/min: $9.60), carol (last seen 4 h ago) out; all is the live day ($17.70);
    per day puts each session on the day it was last seen."""
    from prom_data import PLATFORM, aligned_now, team_history

    from ccmon.ingest.prometheus.config import Config
    from ccmon.ingest.prometheus.source import PrometheusSource

    end_s = aligned_now()
    prometheus.push(team_history(end_s))
    source = PrometheusSource(Config(base_url=prometheus.url, match=PLATFORM), clock=lambda: float(end_s))
    app = CcmonApp(source, clock=lambda: end_s * 1_000_000_000)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None and app.snapshot.sessions, "the first poll")
        assert round(app.snapshot.cost_total, 9) == 17.7
        await pilot.press("t", "t")  # 1 h
        await wait_for(pilot, lambda: shown(app) and app.range_name == "1 h", "1 h")
        await pilot.pause()
        snap = app.snapshot
        assert snap.range_name == "1 h" and round(snap.cost_total, 9) == 9.6
        assert sorted(s.key for s in snap.sessions) == ["sess-alice", "sess-bob"]
        assert {s.key: round(s.cost, 9) for s in snap.sessions} == {"sess-alice": 3.6, "sess-bob": 6.0}
        assert round(snap.burn_1h, 9) == 9.6  # the live one, as in every range
        assert " ".join(pane_lines(app, "#headline")).startswith("range 1 h Total $9.6000 ")
        assert pane_lines(app, "#cost")[0].startswith("╭─ Cost · 1 h ─")
        assert pane_lines(app, "#sessions")[0].startswith("╭─ Sessions 2 active in 1 h ·")
        await pilot.press("t")  # 24 h: carol too
        await wait_for(pilot, lambda: shown(app) and app.range_name == "24 h", "24 h")
        assert round(app.snapshot.cost_total, 9) == 17.7 and len(app.snapshot.sessions) == 3
        await pilot.press("d")  # a week, from one fetch: every session on the day it was last seen
        screen = app.screen
        await wait_for(pilot, lambda: isinstance(screen, DaysScreen) and screen.data is not None, "per day")
        rows = screen.data["rows"]
        assert round(sum(r["cost_usd"] for r in rows), 9) == 17.7 and sum(r["sessions"] for r in rows) == 3
        await pilot.pause()
        assert any("each session on the day it was last seen" in line for line in pane_lines(app, "#days"))


async def test_an_attached_viewer_totals_a_range_like_the_receiver(db):
    """``ViewerSource`` (a dashboard watching another ccmon's database) reads the range from the
    same rollups, on its own read-only connection: the same figures as the embedded source."""
    from ccmon.ingest.owner import OwnerInfo
    from ccmon.ingest.viewer import ViewerSource

    viewer = ViewerSource(db, OwnerInfo(pid=1, kind="serve", db=str(db)))
    store = Store(db, retention_days=0, clock=lambda: NOW, load=False)
    embedded = OtlpSource(store, Receiver(store, grpc_port=None, http_port=None))
    try:
        for name, since in (("24 h", NOW - 24 * _H), ("7 d", NOW - 7 * _DAY)):
            seen = await viewer.ranged_snapshot(since, NOW)
            same = await embedded.ranged_snapshot(since, NOW)
            assert round(seen.cost_total, 9) == round(same.cost_total, 9) == cost(IN_RANGE[name])
            assert [s.key for s in seen.sessions] == [s.key for s in same.sessions]
            assert seen.status.kind == "viewer"
        assert await viewer.per_day(NOW - 7 * _DAY, NOW) == await embedded.per_day(NOW - 7 * _DAY, NOW)
    finally:
        store.close()
        embedded.receiver.limits.close()
