"""The dashboard in Prometheus mode (``ccmon --prometheus URL``, under Pilot) shows the same
figures as ``ccmon report --prometheus URL --json`` run as a process against the same server."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
from app_support import caught_up, pane_lines, wait_for
from prom_data import BURN_PER_HOUR, PLATFORM, team_history
from prom_server import tsdb  # noqa: F401  (fixture)

from ccmon.cli import build_parser
from ccmon.compose import make_app
from ccmon.views import fmt

pytestmark = pytest.mark.prometheus


async def test_dashboard_shows_what_the_report_says(tsdb):
    prometheus = tsdb  # Prometheus, then VictoriaMetrics
    prometheus.push(team_history(int(time.time())))
    run = subprocess.run(
        [sys.executable, "-m", "ccmon", "report", "--prometheus", prometheus.url, "--match", PLATFORM, "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)

    app = make_app(build_parser().parse_args(["--prometheus", prometheus.url, "--match", PLATFORM]))
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: app.source.version >= 1, "the first poll")
        await caught_up(pilot, app)

        cost = pane_lines(app, "#cost")
        assert f"Total {fmt.usd(report['cost_usd'])}" in cost[1]
        assert cost[2] == f"Burn 5m {fmt.per_hour(BURN_PER_HOUR)} 1h {fmt.per_hour(BURN_PER_HOUR)}"
        for model, usd in report["cost_by_model"].items():
            assert any(line.startswith(model[:15]) and f" {fmt.usd(usd)} " in line for line in cost), model

        tokens = pane_lines(app, "#tokens")
        for kind, n in report["tokens"].items():
            assert any(line.startswith(kind + " ") and line.endswith(" " + fmt.count(n)) for line in tokens), kind
        assert (
            f"cache hit {fmt.percent(report['cache_ratio'])} reads/write {fmt.ratio(report['cache_reads_per_write'])}"
        ) in " ".join(tokens)

        productivity = " ".join(pane_lines(app, "#productivity"))  # joined: a narrow pane wraps
        assert f"Lines +{report['lines']['added']} −{report['lines']['removed']}" in productivity
        assert (
            f"Commits {fmt.plural(report['commits'], 'commit')} · {fmt.plural(report['pull_requests'], 'PR')}"
        ) in productivity
        active = report["active_time_s"]
        assert f"Active user {fmt.seconds(active['user'])} · cli {fmt.seconds(active['cli'])}" in productivity
        assert f"Sessions {report['sessions_started']} started" in productivity

        await pilot.press("z")  # zoomed: every column of the sessions table
        await pilot.pause()
        sessions = pane_lines(app, "#sessions")
        await pilot.press("z")
        assert sessions[0].startswith(f"╭─ Sessions {len(report['sessions'])} ")
        for s in report["sessions"]:
            assert any(
                line.startswith(f"{s['session_id']} ")
                and f" {s['user_id']} " in line
                and f" {fmt.usd(s['cost_usd'])} " in line
                for line in sessions
            ), s["session_id"]

        decisions = report["edit_decisions"]
        auto = [e["count"] for e in decisions if e["source"] == "config"]
        human = [e["count"] for e in decisions if e["source"].startswith("user")]
        human_yes = [e["count"] for e in decisions if e["source"].startswith("user") and e["decision"] == "accept"]
        assert any(
            line.startswith(f"All edits {sum(auto)} of {sum(auto)} · 100% {sum(human_yes)} of {sum(human)} ")
            for line in pane_lines(app, "#edits")
        )

        # No events in this mode: the panes say so instead of showing zeros.
        assert report["events"] is None and report["api_errors"] is None
        assert "Not available in Prometheus mode:" in " ".join(pane_lines(app, "#api"))
        assert "Not available in Prometheus mode:" in " ".join(pane_lines(app, "#events"))
        status = " ".join(pane_lines(app, "#status"))
        assert f"Prometheus {prometheus.url} (OTel Collector naming" in status and "STALE" not in status
        assert f"{app.source._polls_ok} polls ok · 0 failed" in status and app.source._polls_ok >= 1

        await pilot.press("enter")  # the focused sessions table: open the first session
        await wait_for(
            pilot, lambda: "Cost over time" in " ".join(pane_lines(app, "#session-chart")), "the session's cost curve"
        )
