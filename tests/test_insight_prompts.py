"""Prompts: grouping by prompt.id, a prompt's steps in event.sequence order, the report and
the screens, with exact figures from the 2.1.330 captures (the mock API answers every call with
1,234 input / 567 output / 8,901 cache read / 2,345 cache write tokens, $0.0297812 on opus-5-5)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from app_support import FIXED_NS, StoreSource, fixed_store, pane_lines, screen_text, utc, wait_for  # noqa: F401

from ccmon.model import insight_db
from ccmon.model.prompts import group_prompts, prompt_steps, prompts_dict
from ccmon.views.app import CcmonApp

pytestmark = pytest.mark.usefixtures("utc")

ALL_SESSION = "99fc81a6-b7d4-432b-865e-b6c1b520f191"
ALL_PROMPT = "7cf30ad2-3ca6-4dcf-acac-2b38dde1bc11"
FOLDERS = (("2.1.330", "grpc/all"), ("2.1.330", "grpc/error400_persistent"), ("2.1.330", "grpc/interactive"))


@pytest.fixture
def store(tmp_path):
    s = fixed_store(tmp_path / "ccmon.db", *FOLDERS)
    yield s
    s.close()


def test_prompts_are_grouped_by_prompt_id_most_expensive_first(store):
    rows = group_prompts(insight_db.prompt_events(store._read))
    assert [(r.session[:8], r.prompt_id[:8], r.api_calls, r.tools, r.errors, round(r.cost, 7)) for r in rows] == [
        ("99fc81a6", "7cf30ad2", 6, 5, 0, 0.1786872),  # grpc/all: 6 calls, Write Read Edit Bash Bash
        ("588f4ee0", "1e38eede", 2, 1, 0, 0.0595624),  # the interactive run's second prompt
        ("588f4ee0", "359a059b", 1, 1, 0, 0.0297812),
        ("32334420", "9f0a7dd9", 0, 0, 1, 0.0),  # every call a 400: six silent attempts, one api_error
        ("588f4ee0", "401a46e0", 0, 0, 0, 0.0),  # /exit
    ]
    top = rows[0]
    assert top.tokens.as_dict() == {"input": 7404, "output": 3402, "cacheRead": 53406, "cacheCreation": 14070}
    assert top.length == 5 and top.text is None and top.retries == 0 and top.models == ("claude-opus-5-5",)
    assert round(top.cache_ratio, 6) == round(53406 / (7404 + 53406 + 14070), 6)
    assert top.duration_s == pytest.approx(0.436)  # user_prompt 19:51:19.576 .. reply 19:51:20.012
    assert rows[-1].command == "exit"
    # One session only: the same rows, that session's.
    only = group_prompts(insight_db.prompt_events(store._read, session="588f4ee0-c273-4622-882e-20f13015c492"))
    assert [r.prompt_id[:8] for r in only] == ["1e38eede", "359a059b", "401a46e0"]


def test_a_prompts_steps_in_sequence_order_with_cost(store):
    steps = prompt_steps(insight_db.one_prompt(store._read, ALL_SESSION, ALL_PROMPT))
    assert [(s.seq, s.kind, s.what) for s in steps] == [
        (4, "prompt", "5 chars"),
        (5, "api call", "claude-opus-5-5"),
        (6, "decision", "Write accept"),
        (7, "tool", "Write ok"),
        (8, "decision", "Read accept"),
        (9, "api call", "claude-opus-5-5"),
        (10, "tool", "Read ok"),
        (11, "api call", "claude-opus-5-5"),
        (12, "decision", "Edit accept"),
        (13, "tool", "Edit ok"),
        (14, "decision", "Bash accept"),
        (15, "api call", "claude-opus-5-5"),
        (16, "tool", "Bash ok"),
        (17, "decision", "Bash accept"),
        (18, "api call", "claude-opus-5-5"),
        (19, "tool", "Bash ok"),
        (20, "api call", "claude-opus-5-5"),
        (21, "reply", "claude-opus-5-5"),
    ]
    calls = [s for s in steps if s.cost is not None]
    assert [round(s.cumulative_cost, 7) for s in calls] == [
        0.0297812,
        0.0595624,
        0.0893436,
        0.1191248,
        0.148906,
        0.1786872,
    ]
    assert {s.tokens.as_dict()["cacheCreation"] for s in calls} == {2345}
    assert [s.duration_ms for s in calls] == [28, 19, 53, 68, 14, 49]


def test_steps_follow_the_sequence_not_the_arrival():
    def ev(seq, name, t, **a):
        return (t, "s", name, {"prompt.id": "p", "event.sequence": seq, **a})

    # Same millisecond, sent out of order (2.1.330 -p logs a tool_decision before its api_request).
    events = [
        ev(3, "tool_result", 10, tool_name="Bash", success=True),
        ev(1, "api_request", 10, cost_usd=0.5),
        ev(2, "tool_decision", 10, tool_name="Bash", decision="accept"),
        ev(0, "user_prompt", 9),
    ]
    assert [s.seq for s in prompt_steps(events)] == [0, 1, 2, 3]
    rows = group_prompts(
        events
        + [
            (11, "s", "api_request", {"prompt.id": "p", "attempt": 2, "cost_usd": 0.25}),
            (12, "s", "compaction", {"prompt.id": "p"}),
            (13, "s", "api_request", {}),
        ]
    )
    assert (rows[0].api_calls, rows[0].retries, rows[0].cost, rows[0].tools, rows[0].events) == (2, 1, 0.75, 1, 6)


def test_report_by_prompt(store, tmp_path):
    db = str(store.path)
    out = subprocess.run(
        [sys.executable, "-m", "ccmon", "report", "--db", db, "--by", "prompt", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert d["prompts_total"] == 5 and d["cost_usd_total"] == 0.2680308 and d["since"] is None
    assert d["cost_source"] == "sum of api_request.cost_usd"
    top = d["prompts"][0]
    assert (top["prompt_id"], top["api_calls"], top["tools"], top["cost_usd"], top["time"]) == (
        ALL_PROMPT,
        6,
        5,
        0.1786872,
        "2026-11-23T19:51:19.576Z",
    )
    text = subprocess.run(
        [sys.executable, "-m", "ccmon", "report", "--db", db, "--by", "prompt"],
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    assert "   $0.1787  2026-11-23T19:51:19.576Z     6     5   0    78,282  71.3%  99fc81a6 7cf30ad2 (5 chars)" in text
    # The captures are days old: the last hour has none of them.
    recent = subprocess.run(
        [sys.executable, "-m", "ccmon", "report", "--db", db, "--by", "prompt", "--since", "1h", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert json.loads(recent.stdout)["prompts_total"] == 0
    bad = subprocess.run(
        [sys.executable, "-m", "ccmon", "report", "--db", db, "--by", "prompt", "--since", "x"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and bad.stderr.startswith("ccmon: not a duration")


def test_prompts_dict_limits_and_totals(store):
    rows = group_prompts(insight_db.prompt_events(store._read))
    d = prompts_dict(rows, limit=2)
    assert len(d["prompts"]) == 2 and d["prompts_total"] == 5


async def test_dashboard_to_prompts_to_the_prompt(store):
    app = CcmonApp(StoreSource(store), clock=lambda: FIXED_NS)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None, "the first snapshot")
        await pilot.press("P")
        await wait_for(pilot, lambda: getattr(app.screen, "rows", None) is not None, "the prompts")
        lines = pane_lines(app, "#prompts-box")
        assert lines[2].startswith("$0.1787 19:51:19 99fc81a6 (5 chars) 6 5 7.4k 3.4k 53.4k 14.1k 71.3% 0.4s")
        assert "5 prompts · $0.2680" in screen_text(app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: getattr(app.screen, "steps", None) is not None, "the prompt's steps")
        text = screen_text(app)
        assert "$0.1787 (sum of api_request.cost_usd)  6 API calls · 5 tools · 0 retries · 0 errors" in text
        lines = pane_lines(app, "#prompt-box")
        assert lines[0].startswith("╭─ Steps (18) in event.sequence order")
        assert lines[3].startswith(
            "5 19:51:19.666 api call claude-opus-5-5 1,234 567 8,901 2,345 $0.0298 $0.0298 28 ms"
        )
        assert lines[18].startswith("20 19:51:20.012 api call claude-opus-5-5 1,234 567 8,901 2,345 $0.0298 $0.1787")
        await pilot.press("escape", "escape")
        assert app.screen is app.main


async def test_session_screen_opens_its_prompts(store):
    app = CcmonApp(StoreSource(store), clock=lambda: FIXED_NS)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None, "the first snapshot")
        app.open_session("588f4ee0-c273-4622-882e-20f13015c492")
        await pilot.pause()
        await pilot.press("P")
        await wait_for(pilot, lambda: getattr(app.screen, "rows", None) is not None, "the prompts")
        assert [r.prompt_id[:8] for r in app.screen.rows] == ["1e38eede", "359a059b", "401a46e0"]
        assert "Prompts of session 588f4ee0-c273-4622-882e-20f13015c492" in screen_text(app)


async def test_palette_opens_prompts_and_attribution(store):
    app = CcmonApp(StoreSource(store), clock=lambda: FIXED_NS)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None, "the first snapshot")
        commands = {c.title: c for c in app.get_system_commands(app.main)}
        assert {"Prompts", "Attribution"} <= commands.keys()
        commands["Attribution"].callback()
        await wait_for(pilot, lambda: getattr(app.screen, "loaded", False), "the attribution")
        assert [(r.value, round(r.cost, 7)) for r in app.screen.result[1].rows] == [
            ("sdk", 0.1786872),
            ("repl_main_thread", 0.0893436),
        ]


async def test_a_viewer_of_ccmon_serve_reads_prompts_from_its_database(tmp_path):
    """End to end: `ccmon serve` receives the capture over gRPC; a dashboard attached to it (a
    viewer: it does not own the database) opens Prompts and the prompt from the same file."""
    from app_support import send
    from otlp_client import ServeProcess, capture

    from ccmon.cli import build_parser
    from ccmon.compose import make_app
    from ccmon.ingest.viewer import ViewerSource

    db = tmp_path / "ccmon.db"
    srv = ServeProcess(db, "--retention-days", "0")
    try:
        await send(srv.grpc_port, capture("2.1.330", "grpc/all"))
        app = make_app(
            build_parser().parse_args(["--db", str(db), "--grpc-port", "0", "--http-port", "0"]), clock=lambda: FIXED_NS
        )
        assert isinstance(app.source, ViewerSource)
        async with app.run_test(size=(160, 48)) as pilot:
            await wait_for(pilot, lambda: app.snapshot is not None and app.snapshot.api_requests == 6, "the capture")
            await pilot.press("P")
            await wait_for(pilot, lambda: getattr(app.screen, "rows", None) is not None, "the prompts")
            rows = [(r.prompt_id, r.api_calls, round(r.cost, 7)) for r in app.screen.rows]
            assert rows == [(ALL_PROMPT, 6, 0.1786872)]
            await pilot.press("enter")
            await wait_for(pilot, lambda: getattr(app.screen, "steps", None) is not None, "the steps")
            assert len(app.screen.steps) == 18
    finally:
        srv.stop()


async def test_prompt_text_is_shown_literally(otlp):
    """A logged prompt is untrusted: markup and terminal escapes show as text."""
    import asyncio

    from insight_data import T0, Session, logs, metrics
    from otlp_client import grpc_export

    s = Session("s-evil")
    evil = "[red]hi[/red]\x1b[2J\x1b]0;t\x07"
    s.event(T0, "user_prompt", **{"prompt.id": "p", "prompt_length": "30", "prompt": evil})
    s.request(T0 + 1_000_000_000, "p", 0.5)
    await asyncio.to_thread(grpc_export, otlp.grpc_port, "logs", logs(s.events))
    await asyncio.to_thread(grpc_export, otlp.grpc_port, "metrics", metrics(s.points))
    app = CcmonApp(StoreSource(otlp.store), clock=lambda: T0 + 60_000_000_000)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None, "the first snapshot")
        await pilot.press("P")
        await wait_for(pilot, lambda: getattr(app.screen, "rows", None) is not None, "the prompts")
        text = screen_text(app)
        assert "[red]hi[/red]␛[2J␛]0;t␇" in text and "\x1b" not in text
        await pilot.press("enter")
        await wait_for(pilot, lambda: getattr(app.screen, "steps", None) is not None, "the steps")
        assert "asked [red]hi[/red]␛[2J␛]0;t␇" in screen_text(app)
    out = subprocess.run(
        [sys.executable, "-m", "ccmon", "report", "--db", str(otlp.store.path), "--by", "prompt"],
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    assert "[red]hi[/red]␛[2J␛]0;t␇" in out and "\x1b" not in out
