"""The Flow view and the waiting screen: the real app and receivers with captured exports sent
over sockets (accepted and rejected ones), screenshots on fixed data, and the receiver
statistics and hints they are built from."""

from __future__ import annotations

import asyncio

import pytest
from app_support import (  # noqa: F401
    FIXED_NS,
    SHOWCASE,
    StoreSource,
    fixed_store,
    pane_lines,
    screen_text,
    send,
    started,
    utc,
    wait_for,
)
from otlp_client import capture, http_export
from test_app_screens import screenshot  # noqa: F401 (fixture)

from ccmon.cli import build_parser
from ccmon.commands.env import Target, render
from ccmon.compose import make_app
from ccmon.ingest.stats import GRPC, HTTP_PROTOBUF, MAX_SENDERS, ReceiverStats, Via
from ccmon.model.flow import Flow, FlowLane, FlowSender, hints
from ccmon.model.types import Batch
from ccmon.views.app import CcmonApp
from ccmon.views.screens.flow import FlowScreen

S = 1_000_000_000
pytestmark = pytest.mark.usefixtures("utc")


@pytest.fixture
def args(tmp_path):
    return build_parser().parse_args(
        ["--db", str(tmp_path / "ccmon.db"), "--grpc-port", "0", "--http-port", "0", "--retention-days", "0"]
    )


def flow_text(app) -> str:
    return " ".join(screen_text(app).split())


async def test_waiting_then_data_then_flow_with_rejections(args):
    app = make_app(args, clock=lambda: FIXED_NS)
    async with app.run_test(size=(160, 60)) as pilot:
        await started(pilot, app)
        rx = app.source.receiver
        await wait_for(pilot, lambda: f"http://127.0.0.1:{rx.grpc_port}" in flow_text(app), "the waiting screen")
        text = flow_text(app)
        assert (
            f"Waiting for Claude Code's telemetry on grpc 127.0.0.1:{rx.grpc_port}, http 127.0.0.1:{rx.http_port}"
            in text
        )
        assert f"export OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:{rx.grpc_port}" in text
        assert "export CLAUDE_CODE_ENABLE_TELEMETRY=1" in text and "ccmon setup (shows the diff" in text
        assert app.main.query_one("#dashboard").display is False

        exports = capture("2.1.197", "grpc/all")
        await send(rx.grpc_port, exports)
        bad = await asyncio.to_thread(http_export, rx.http_port, "logs", b"\xff\xff")
        lost = await asyncio.to_thread(http_export, rx.http_port, "metrics/v1/metrics", exports[0].body)
        assert (bad[0], lost[0]) == (400, 404)
        await wait_for(pilot, lambda: app.main.query_one("#dashboard").display, "the dashboard")
        assert app.main.query_one("#waiting").display is False

        await pilot.press("f")
        await wait_for(pilot, lambda: isinstance(app.screen, FlowScreen) and "Senders" in flow_text(app), "Flow")
        text = flow_text(app)
        metrics = sum(e.signal == "metrics" for e in exports)
        logs = sum(e.signal == "logs" for e in exports)
        mbytes = sum(len(e.body) for e in exports if e.signal == "metrics")
        assert (metrics, logs) == (1, 1)
        lanes = {(la.signal, la.protocol): la for la in app.source.flow(FIXED_NS).lanes}
        m = lanes[("metrics", "grpc")]
        assert (m.accepted, m.rejected, m.bytes, m.statuses) == (metrics, 0, mbytes, (("OK", metrics),))
        assert lanes[("logs", "http/protobuf")].statuses == (("400", 1),)
        assert lanes[("metrics", "http/protobuf")].statuses == (("404", 1),)  # the path told which signal
        assert "metrics grpc " in text and f" {metrics} 0 0 " in text
        assert "logs http/protobuf: 1 rejected, last answered 400: not a protobuf logs export" in text
        assert "metrics http/protobuf: 1 rejected, last answered 404: no such path '/v1/metrics/v1/metrics'" in text
        assert "claude-code 2.1.197" in text and "Claude Code" in text
        senders = app.source.flow(FIXED_NS).senders
        assert [(x.service_name, x.service_version, x.payloads, x.other) for x in senders] == [
            ("claude-code", "2.1.197", metrics + logs, False)
        ]
        assert senders[0].user_agent.startswith("grpc-python/")  # the test's client; the CLI's says grpc-node-js
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.main, "back on the main screen")


async def test_flow_from_the_palette_and_in_prometheus_mode(tmp_path):
    class NoFlow(StoreSource):
        flow = None

    app = CcmonApp(NoFlow(fixed_store(tmp_path / "db")))
    async with app.run_test(size=(120, 30)) as pilot:
        titles = {c.title: c for c in app.get_system_commands(app.main)}
        assert "Flow" in titles
        titles["Flow"].callback()
        await wait_for(pilot, lambda: isinstance(app.screen, FlowScreen), "Flow")
        await pilot.pause()
        assert "The Flow view shows what ccmon's OTLP receiver gets" in flow_text(app)


def _waiting_app(tmp_path):
    hint = render(Target("127.0.0.1", 4317, 4318), "grpc", "sh")
    return CcmonApp(StoreSource(fixed_store(tmp_path / "ccmon.db")), clock=lambda: FIXED_NS, setup_hint=lambda: hint)


def test_waiting_100x40(screenshot, tmp_path):
    assert screenshot(_waiting_app(tmp_path), terminal_size=(100, 40))


def _flow_app(tmp_path):
    store = fixed_store(tmp_path / "ccmon.db", *SHOWCASE)
    stats = store.test_stats
    stats.rejected(
        "logs", Via(HTTP_PROTOBUF, 2, "curl/8.5.0"), "400", "not a protobuf logs export: Error parsing message"
    )
    stats.rejected(
        "metrics",
        Via(HTTP_PROTOBUF, 310, "OTel-OTLP-Exporter-JavaScript/0.208.0"),
        "404",
        "no such path '/v1/metrics/v1/metrics'",
    )
    stats.accepted("metrics", Via(GRPC, 120, "ccmon-doctor/0.1.0"), Batch("metrics"))
    return CcmonApp(StoreSource(store), clock=lambda: FIXED_NS)


async def _open_flow(pilot) -> None:
    await pilot.press("f")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, FlowScreen), "Flow")
    await pilot.pause()


def test_flow_160x48(screenshot, tmp_path):
    assert screenshot(_flow_app(tmp_path), terminal_size=(160, 48), run_before=_open_flow)


# -- statistics and hints ------------------------------------------------------------------------


def test_stats_rates_partial_and_senders():
    now = [100 * S]
    stats = ReceiverStats(lambda: now[0])
    claude = Batch("metrics", skipped=2)
    for i in range(5):
        now[0] = (100 + 20 * i) * S  # every 20 s, 100..180 s
        stats.accepted("metrics", Via(GRPC, 1000, "grpc-node-js/1.14.4"), claude)
    flow = stats.flow(185 * S)
    (lane,) = flow.lanes
    assert (lane.accepted, lane.partial, lane.skipped_points, lane.bytes) == (5, 5, 10, 5000)
    assert (lane.payloads_per_min, lane.bytes_per_min) == (3, 3000)  # 140, 160, 180 s are within the last 60 s
    assert lane.typical_gap_ns == 20 * S and lane.first_ns == 100 * S and lane.last_ns == 180 * S
    assert stats.status().received == {"metrics": 5} and stats.status().last_payload_ns == {"metrics": 180 * S}
    for i in range(MAX_SENDERS + 3):
        stats.accepted("logs", Via(GRPC, 1, f"agent-{i}"), Batch("logs"))
    senders = stats.flow().senders
    assert len(senders) == MAX_SENDERS and senders[0].user_agent == f"agent-{MAX_SENDERS + 2}"


def _lane(signal, first, last, accepted=5, gap=0, **kw):
    return FlowLane(signal, "grpc", accepted=accepted, first_ns=first, last_ns=last, typical_gap_ns=gap, **kw)


def test_hint_metrics_without_logs():
    flow = Flow("x", (_lane("metrics", 0, 10 * S),), (FlowSender("claude-code", "2.1.330", "", 5, 10 * S),))
    assert hints(flow, 29 * S) == []
    assert hints(flow, 30 * S) == [
        "Metrics arrive but no logs (events): set OTEL_LOGS_EXPORTER=otlp where Claude "
        "Code reads its settings (run `ccmon doctor`)."
    ]


def test_hint_logs_without_metrics():
    flow = Flow("x", (_lane("logs", 0, 10 * S),))
    assert hints(flow, 40 * S)[0].startswith("Logs arrive but no metrics: set OTEL_METRICS_EXPORTER=otlp")


def test_hint_exports_stopped_while_a_session_was_active():
    lanes = (_lane("metrics", 0, 100 * S, gap=5 * S), _lane("logs", 0, 100 * S, gap=2 * S))
    flow = Flow("x", lanes, (FlowSender("claude-code", "2.1.330", "", 10, 100 * S),))
    assert hints(flow, 219 * S) == []
    assert hints(flow, 220 * S)[0] == (
        "metrics over grpc stopped 120 s ago after arriving every ~5 s: the session may have ended, or Claude Code "
        "lost the endpoint (`claude --debug` shows [3P telemetry] lines; run `ccmon doctor`)."
    )


def test_hint_only_other_telemetry():
    flow = Flow(
        "x",
        (_lane("metrics", 0, 0, accepted=1), _lane("logs", 0, 0, accepted=1)),
        (FlowSender("ccmon-doctor", "0.1.0", "ccmon-doctor/0.1.0", 1, 0),),
    )
    assert hints(flow, 1 * S) == [
        "Only other telemetry so far (not service.name claude-code): Claude Code itself has not sent anything here yet."
    ]


def test_hint_signal_path_twice():
    lane = FlowLane(
        "metrics", "http/protobuf", rejected=2, last_status="404", last_reason="no such path '/v1/metrics/v1/metrics'"
    )
    assert hints(Flow("x", (lane,)), 0) == [
        "metrics over http/protobuf went to a path with /v1/metrics twice: OTEL_EXPORTER_OTLP_ENDPOINT must not end "
        "in /v1/...; the exporters add it."
    ]
