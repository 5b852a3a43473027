"""Text from telemetry is shown literally: no markup, no terminal escapes, on every pane.

Hostile values are sent the way an attacker would, as OTLP over gRPC to the running app, and
the assertions read what the screen shows.
"""

from __future__ import annotations

import asyncio

import pytest
from app_support import FIXED_NS, caught_up, pane_lines, screen_text, started, utc  # noqa: F401 (utc is a fixture)
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from opentelemetry.proto.metrics.v1.metrics_pb2 import AGGREGATION_TEMPORALITY_DELTA, NumberDataPoint
from otlp_client import grpc_export

from ccmon.cli import build_parser
from ccmon.compose import make_app
from ccmon.views.safe import clean

pytestmark = pytest.mark.usefixtures("utc")

MARKUP = "[red]x[/red]"
TITLE = "\x1b]0;t\x07"  # OSC: would retitle the terminal window
CLEAR = "\x1b[2J"  # CSI: would clear the screen
SESSION = f"[b]s{TITLE}"
MODEL = f"{MARKUP}{CLEAR}"
PROMPT = f"{MARKUP} {TITLE} {CLEAR}\rend"
TOOL = f"[bold]T{CLEAR}"
TEAM = "[i]ops\x9b31m"  # 0x9b: the one-byte CSI of 8-bit terminals
T_NS = FIXED_NS - 30_000_000_000


def _attrs(**kv: object) -> list[KeyValue]:
    out = []
    for k, v in kv.items():
        value = AnyValue(double_value=v) if isinstance(v, float) else AnyValue(string_value=str(v))
        out.append(KeyValue(key=k.replace("_", "."), value=value))
    return out


def metrics_request() -> bytes:
    req = ExportMetricsServiceRequest()
    rm = req.resource_metrics.add()
    rm.resource.attributes.extend(_attrs(team=TEAM))
    sm = rm.scope_metrics.add()

    def sum_metric(name: str, value: float, **labels: object) -> None:
        m = sm.metrics.add()
        m.name = name
        m.sum.aggregation_temporality = AGGREGATION_TEMPORALITY_DELTA
        m.sum.is_monotonic = True
        dp = NumberDataPoint(start_time_unix_nano=T_NS - 1_000_000_000, time_unix_nano=T_NS, as_double=value)
        dp.attributes.extend(_attrs(session_id=SESSION, user_id="u1", team=TEAM))
        for k, v in labels.items():  # measurement keys keep their underscore (tool_name)
            dp.attributes.append(KeyValue(key=k, value=AnyValue(string_value=str(v))))
        m.sum.data_points.append(dp)

    sum_metric("claude_code.cost.usage", 0.5, model=MODEL)
    sum_metric(
        "claude_code.code_edit_tool.decision",
        1.0,
        tool_name=TOOL,
        language=CLEAR + "lang",
        decision="accept",
        source="user_temporary",
    )
    return req.SerializeToString()


def logs_request() -> bytes:
    req = ExportLogsServiceRequest()
    rl = req.resource_logs.add()
    sl = rl.scope_logs.add()
    for i, (name, extra) in enumerate(
        (
            ("user_prompt", {"prompt": PROMPT, "prompt_length": "3"}),
            ("tool_decision", {"tool_name": TOOL, "decision": "accept", "source": "config"}),
        )
    ):
        rec = LogRecord(time_unix_nano=T_NS + i, body=AnyValue(string_value=f"claude_code.{name}"))
        rec.attributes.extend(_attrs(session_id=SESSION, event_name=name))
        for k, v in extra.items():
            rec.attributes.append(KeyValue(key=k, value=AnyValue(string_value=v)))
        sl.log_records.append(rec)
    return req.SerializeToString()


def test_clean_makes_controls_visible():
    assert clean(MARKUP) == MARKUP
    assert clean(TITLE) == "␛]0;t␇"
    assert clean(CLEAR + "\r\n\t\x00\x7f") == "␛[2J␍  ␀␡"
    assert clean("a\x9bb\u202ec") == "a⟨U+009B⟩b⟨U+202E⟩c"
    assert clean("日本語 ✓") == "日本語 ✓"


async def test_hostile_values_show_literally(tmp_path):
    args = build_parser().parse_args(["--db", str(tmp_path / "ccmon.db"), "--grpc-port", "0", "--http-port", "0"])
    app = make_app(args, clock=lambda: FIXED_NS)
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot, app)
        port = app.source.receiver.grpc_port
        await asyncio.to_thread(grpc_export, port, "metrics", metrics_request())
        await asyncio.to_thread(grpc_export, port, "logs", logs_request())
        await caught_up(pilot, app)

        screen = screen_text(app)
        for raw in ("\x1b", "\x07", "\x9b", "\r"):
            assert raw not in screen
        assert "[red]x[/red]␛[2J $0.5000 100%" in pane_lines(app, "#cost")
        assert pane_lines(app, "#sessions")[2].startswith("[b]s␛]0;t␇ active $0.5000")
        await pilot.press("z")  # the sessions pane zoomed: every column
        await pilot.pause()
        assert " [red]x[/red]␛[… u1 " in pane_lines(app, "#sessions")[2]
        await pilot.press("z")
        events = pane_lines(app, "#events")
        assert "tool_decision tool_name=[bold]T␛[2J decision=accept source=config" in events[3]
        # (the event summary turns \r into a space)
        assert "user_prompt prompt_length=3 prompt=[red]x[/red] ␛]0;t␇ ␛[2J end" in events[4]
        edits = pane_lines(app, "#edits")
        assert "[bold]T␛[2J — 1 of 1 · 100%" in edits
        assert "␛[2Jlang — 1 of 1 · 100%" in edits
        assert "PROMPTS LOGGED" in " ".join(pane_lines(app, "#status"))

        while "Group by team" not in pane_lines(app, "#groups")[0]:
            await pilot.press("b")
        assert "[i]ops⟨U+009B⟩31m 1 $0.5000 0" in pane_lines(app, "#groups")

        await pilot.press("enter")  # the session screen: its header carries the id and model
        await pilot.pause()
        head = pane_lines(app, "#session-head")
        assert head[0].startswith("Session [b]s␛]0;t␇ $0.5000")
        assert head[1].startswith("active · started 19:57:59 · span 1.0s models [red]x[/red]␛[2J user u1")
