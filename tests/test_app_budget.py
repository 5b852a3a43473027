"""The dashboard's budget strip and alerts: exports over gRPC into the app as `ccmon` builds it,
then the strip with pace, the banner, the event log, the bell and the desktop notification."""

from __future__ import annotations

import os

import pytest
from app_support import FIXED_NS, pane_lines, screen_text, send, started, utc, wait_for  # noqa: F401
from otlp_client import capture
from test_alerts import fake_notify_send

from ccmon.cli import build_parser
from ccmon.compose import make_app

pytestmark = pytest.mark.usefixtures("utc")


@pytest.fixture
def env(tmp_path, monkeypatch):
    log = fake_notify_send(tmp_path)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    (tmp_path / "cfg" / "ccmon").mkdir(parents=True)
    (tmp_path / "cfg" / "ccmon" / "config.toml").write_text("[alerts]\nerror_storm = 1\n")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    return log


def app_for(tmp_path, *extra, clock=lambda: FIXED_NS):
    args = build_parser().parse_args(
        ["--db", str(tmp_path / "ccmon.db"), "--grpc-port", "0", "--http-port", "0", "--retention-days", "0", *extra]
    )
    return make_app(args, **({"clock": clock} if clock else {}))


async def send_now(port: int, version: str, folder: str) -> None:
    """A capture as of a second ago (the rules look at the last minutes; counting places time
    stamps beyond its 30-day horizon at arrival, so the captures' own day would age out)."""
    import asyncio
    import time

    from otlp_client import grpc_export
    from restamp import moved

    for signal, body in moved(capture(version, folder), time.time_ns() - 1_000_000_000):
        await asyncio.to_thread(grpc_export, port, signal, body)


async def test_strip_with_pace_banner_event_log_bell_and_notification(tmp_path, env):
    import re

    app = app_for(tmp_path, "--daily", "0.3", "--weekly", "10", clock=None)
    bells = []
    app.bell = lambda: bells.append(1)
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot, app)
        port = app.source.receiver.grpc_port
        await send_now(port, "2.1.330", "grpc/all")
        await send_now(port, "2.1.330", "grpc/error400_persistent")
        await wait_for(pilot, lambda: len(app.watcher.alerts) >= 2, "two alerts")
        await wait_for(pilot, lambda: "error storm" in screen_text(app), "the banner")
        await pilot.pause(1.2)
        strip = pane_lines(app, "#budget")
        # $0.1787 of $0.30 today; the pace ("on pace" or "at this rate ...") depends on the hour
        assert strip[0].startswith("Budget day $0.18/$0.30 60% ") and "│ week $0.18/$10.00 2% " in strip[0]
        assert re.fullmatch(r"⚠ \d\d:\d\d:\d\d error storm: 1 API errors in 5 min", strip[1]), strip[1]
        events = "\n".join(pane_lines(app, "#events"))
        assert "ccmon.alert budget daily: $0.18 of $0.30 (60%), " in events
        assert "ccmon.alert error storm: 1 API errors in 5 min" in events
        assert len(bells) >= 1
    calls = [c for c in env.read_text().splitlines() if c]
    assert any(c.startswith("--app-name=ccmon|ccmon: warning|budget daily: $0.18 of $0.30 (60%), ") for c in calls)
    assert "--app-name=ccmon|ccmon: warning|error storm: 1 API errors in 5 min|" in calls


async def test_no_budget_no_alert_no_strip_and_no_notify(tmp_path, env):
    app = app_for(tmp_path, "--no-notify")
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot, app)
        await send(app.source.receiver.grpc_port, capture("2.1.330", "grpc/all"))
        await wait_for(pilot, lambda: app.snapshot is not None and app.snapshot.cost_total > 0, "data")
        await pilot.pause(1.2)
        assert app.screen.query_one("#budget").display is False
    assert not env.exists()


async def test_a_viewer_of_serve_shows_the_strip_and_the_banner(tmp_path, env):
    """The always-on setup: `ccmon serve` receives (and notifies), the dashboard attaches as a
    viewer and shows the budget strip and the alert banner from the database."""
    import time

    from otlp_client import ServeProcess, grpc_export
    from restamp import moved

    from ccmon.ingest.viewer import ViewerSource

    db = tmp_path / "ccmon.db"
    srv = ServeProcess(db, "--retention-days", "0", "--no-notify")
    try:
        args = build_parser().parse_args(["--db", str(db), "--grpc-port", "0", "--http-port", "0", "--daily", "0.3"])
        app = make_app(args)
        assert isinstance(app.source, ViewerSource)
        async with app.run_test(size=(160, 48)) as pilot:
            await started(pilot, app)
            for signal, body in moved(capture("2.1.197", "grpc/all"), time.time_ns() - 1_000_000_000):
                grpc_export(srv.grpc_port, signal, body)
            await wait_for(
                pilot, lambda: "Budget day $0.24/$0.30 79%" in " ".join(pane_lines(app, "#budget")), "the strip"
            )
            await wait_for(
                pilot,
                lambda: "budget daily: $0.24 of $0.30 (79%)" in " ".join(pane_lines(app, "#budget")),
                "the banner",
            )
    finally:
        srv.stop()
