"""The dashboard against the real receivers: captured exports sent over gRPC and HTTP while
the app runs, and what the panes then show."""

from __future__ import annotations

import socket

import pytest
from app_support import FIXED_NS, caught_up, pane_lines, send, started, utc, wait_for  # noqa: F401 (utc is a fixture)
from otlp_client import capture

from ccmon.cli import build_parser
from ccmon.compose import make_app


@pytest.fixture
def args(tmp_path):
    """The command line a user types, on free ports and a temporary database."""
    return build_parser().parse_args(
        ["--db", str(tmp_path / "ccmon.db"), "--grpc-port", "0", "--http-port", "0", "--retention-days", "0"]
    )


pytestmark = pytest.mark.usefixtures("utc")


def dashboard(args):
    """The app as ``ccmon`` builds it, with a clock fixed on the captures' day."""
    return make_app(args, clock=lambda: FIXED_NS)


async def ports(pilot, app) -> tuple[int, int]:
    await started(pilot, app)
    receiver = app.source.receiver
    return receiver.grpc_port, receiver.http_port


async def test_grpc_all_shows_every_figure(args):
    app = dashboard(args)
    async with app.run_test(size=(160, 48)) as pilot:
        grpc_port, _ = await ports(pilot, app)
        await send(grpc_port, capture("2.1.197", "grpc/all"))
        await caught_up(pilot, app)

        assert "Total $0.2367 today $0.2367" in pane_lines(app, "#cost")
        assert "claude-opus-4-8 $0.2367 100%" in pane_lines(app, "#cost")
        tokens = pane_lines(app, "#tokens")
        assert "input 0 7,404" in tokens  # per-minute rates are 0: the capture is older than a minute
        assert "output 0 3,402" in tokens
        assert "cacheRead 0 53,406" in tokens
        assert "cacheCreation 0 14,070" in tokens
        assert "cache hit 71.3% reads/write 3.8:1" in tokens
        productivity = pane_lines(app, "#productivity")
        assert "Lines +6 −1" in productivity
        assert "Commits 1 commit · 1 PR" in productivity
        assert "$/commit $0.2367 (all spend ÷ 1)" in productivity
        assert "$/PR $0.2367 (all spend ÷ 1)" in productivity
        assert "$/active h — (from 5 min active)" in productivity  # 0.6 s of activity: no rate
        assert "Active user 0.0s · cli 0.6s" in productivity
        api = pane_lines(app, "#api")
        assert "Requests 6" in api
        assert "Errors none" in api
        assert "Latency p50 33 ms · p95 119 ms" in api
        assert "Retries 0" in api
        edits = pane_lines(app, "#edits")
        assert "All edits 2 of 2 · 100% —" in edits  # config-approved: auto, not a person
        assert "Write 1 of 1 · 100% —" in edits
        assert "Edit 1 of 1 · 100% —" in edits
        assert "Plain text 2 of 2 · 100% —" in edits
        events = pane_lines(app, "#events")
        assert events[1] == "api_request 6 · tool_decision 5 · tool_result 5 · assistant_response 1 · user_prompt 1"
        sessions = pane_lines(app, "#sessions")
        assert sessions[0].startswith("╭─ Sessions 1 · by last seen ▼")
        assert sessions[2].startswith("723db479-cad8-4057-a42… ended $0.2367 78.3k — 02:03:28 0.6s 02:03:27")
        assert "received · 0 rejected" in " ".join(pane_lines(app, "#status"))

        # Enter on the (focused) sessions table opens the session screen.
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: "API requests (6)" in " ".join(pane_lines(app, "#session-calls")),
            "the session's API requests",
        )
        calls = pane_lines(app, "#session-calls")
        rows = [line for line in calls if "claude-opus-4-8" in line]
        assert len(rows) == 6
        assert all(" $0.0395 " in r and r.endswith(" 1,234 567 8,901 2,345") for r in rows), rows
        assert "Tools (5)" in pane_lines(app, "#session-tools")[0]
        assert "Errors (0)" in pane_lines(app, "#session-errors")[0]
        assert "Cost over time" in pane_lines(app, "#session-chart")[0]
        assert "$0.2367 ┤" in " ".join(pane_lines(app, "#session-chart"))
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.main, "back on the main screen")


async def test_http_interactive_and_pause(args):
    """Human decisions show apart from config ones; pause freezes every pane, resume catches up."""
    app = dashboard(args)
    async with app.run_test(size=(160, 48)) as pilot:
        grpc_port, http_port = await ports(pilot, app)
        await send(grpc_port, capture("2.1.197", "grpc/all"))
        await caught_up(pilot, app)
        assert "Total $0.2367 today $0.2367" in pane_lines(app, "#cost")

        await pilot.press("p")
        assert "PAUSED" in " ".join(pane_lines(app, "#status"))
        before = app.source.version
        await send(None, capture("2.1.197", "grpc/interactive"), how="http", http_port=http_port)
        await wait_for(pilot, lambda: app.source.version != before, "the store to take the export")
        app.tick()  # what the timer would do: nothing, while paused
        assert "Total $0.2367 today $0.2367" in pane_lines(app, "#cost")
        assert "All edits 2 of 2 · 100% —" in pane_lines(app, "#edits")

        await pilot.press("p")  # resume: one refresh with everything that arrived meanwhile
        await pilot.pause()
        assert "PAUSED" not in " ".join(pane_lines(app, "#status"))
        assert "Total $0.4340 today $0.4340" in pane_lines(app, "#cost")
        edits = pane_lines(app, "#edits")
        assert "All edits 2 of 2 · 100% 1 of 2 · 50%" in edits  # user_temporary accept, user_reject
        assert "Active user 1.7s · cli 0.8s" in pane_lines(app, "#productivity")
        assert pane_lines(app, "#sessions")[0].startswith("╭─ Sessions 2 ·")


async def test_sort_filter_and_group_keys(args):
    app = dashboard(args)
    async with app.run_test(size=(160, 48)) as pilot:
        grpc_port, _ = await ports(pilot, app)
        for folder in ("grpc/all", "grpc/all_prompts_resattrs", "grpc/text"):
            await send(grpc_port, capture("2.1.197", folder))
        await caught_up(pilot, app)
        assert pane_lines(app, "#sessions")[0].startswith("╭─ Sessions 3 ")
        assert "PROMPTS LOGGED" in " ".join(pane_lines(app, "#status"))

        await pilot.press("s")  # by cost: the two $0.2367 sessions, then the $0.0395 one
        sessions = pane_lines(app, "#sessions")
        assert "by cost ▼" in sessions[0]
        assert [r.split()[2] for r in sessions[2:5]] == ["$0.2367", "$0.2367", "$0.0395"]

        await pilot.press("slash", *"3e01")  # the resattrs session's id starts 3e012429
        sessions = pane_lines(app, "#sessions")
        assert "filter 3e01 (1)" in sessions[0]
        assert sessions[2].startswith("3e012429-a347-4aca-b36…")
        assert sessions[3] == ""
        await pilot.press("escape")
        assert pane_lines(app, "#sessions")[0].startswith("╭─ Sessions 3 · by cost ▼ ─")

        # The filter reaches event text too: the logged prompt (OTEL_LOG_USER_PROMPTS=1).
        await pilot.press("slash", *"hello.txt", "enter")
        assert "filter hello.txt (0)" in pane_lines(app, "#sessions")[0]
        events = pane_lines(app, "#events")
        assert events[3].startswith("02:04:11 3e012429-… user_prompt prompt_length=22 prompt=please write hello.txt")
        assert events[4] == ""
        await pilot.press("slash", "escape")

        # Group by cycles user.id -> terminal.type -> department -> ...; team=platform is one of them.
        for _ in range(8):
            if "Group by team" in pane_lines(app, "#groups")[0]:
                break
            await pilot.press("b")
        groups = pane_lines(app, "#groups")
        assert "Group by team" in groups[0]

        table = app.screen.query_one("#sessions-table")
        tokens_x = table._edges()[[c.key for c in table.spec].index("tokens")] + 2
        await pilot.click("#sessions-table", offset=(tokens_x, 0))  # the "Tokens" column header
        assert "by tokens ▼" in pane_lines(app, "#sessions")[0]
        assert groups[2:4] == ["(unset) 2 $0.2762 91.3k", "platform 1 $0.2367 78.3k"]  # most expensive first


async def test_port_in_use_is_one_clear_line(args):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        args.http_port = busy.getsockname()[1]
        app = dashboard(args)
        async with app.run_test() as pilot:
            await wait_for(pilot, lambda: app.startup_error is not None, "the start to fail")
    assert app.return_code == 2
    assert "\n" not in app.startup_error
    assert f"port than {args.http_port} with --http-port" in app.startup_error
    assert "in use" in app.startup_error.lower()


async def test_source_is_stopped_on_exit(args):
    app = dashboard(args)
    async with app.run_test() as pilot:
        grpc_port, _ = await ports(pilot, app)
        await pilot.press("q")
    with pytest.raises(OSError):  # nothing listens there any more
        socket.create_connection(("127.0.0.1", grpc_port), timeout=5).close()


async def test_session_screen_reads_the_trace_spans(args):
    """With Claude Code's tracing beta, the stored spans say how long each prompt took end to end."""
    app = dashboard(args)
    async with app.run_test(size=(160, 48)) as pilot:
        grpc_port, _ = await ports(pilot, app)
        await send(grpc_port, capture("2.1.330", "grpc/traces_beta"))
        await caught_up(pilot, app)
        app.open_session("4a938e3f-da98-427a-bff3-ae8621705a50")

        def note() -> str:
            try:
                return " ".join(pane_lines(app, "#session-note"))
            except Exception:  # the screen is still being mounted
                return ""

        await wait_for(pilot, lambda: "Traces:" in note(), "the trace line")
        assert " ".join(pane_lines(app, "#session-note")) == (
            "Traces: 1 prompt(s) end to end, median 0.3 s, longest 0.3 s (Claude Code's tracing beta)"
        )


async def test_status_bar_counts_other_telemetry(args):
    """Another service's export is kept apart: no session, no cost, and the status bar says so."""
    from test_counting_e2e import metrics
    from test_counting_e2e import send as send_one

    app = dashboard(args)
    async with app.run_test(size=(160, 48)) as pilot:
        grpc_port, http_port = await ports(pilot, app)
        await send_one(
            grpc_port,
            http_port,
            metrics([(FIXED_NS - 10**9, FIXED_NS, 3.0)], name="http.requests", service="checkout"),
            "grpc",
        )
        await wait_for(
            pilot,
            lambda: "1 other telemetry" in " ".join(pane_lines(app, "#status")),
            "the other sender on the status bar",
        )
        assert app.snapshot.sessions == () and app.snapshot.cost_total == 0.0
