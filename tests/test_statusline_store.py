"""The status line feeding ccmon: ``ccmon statusline`` processes POST the captured JSON to a
running receiver over a real socket; the store keeps it; the dashboard's Limits pane and the
sessions table show it; ``report --json`` carries it."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from app_support import caught_up, pane_lines, started, utc, wait_for  # noqa: F401 (utc is a fixture)

from ccmon.cli import build_parser
from ccmon.compose import make_app
from ccmon.model.limits import LimitsView, PlanUse
from ccmon.model.snapshot import Snapshot, SourceStatus
from ccmon.model.statusline import Window
from ccmon.views.widgets.limits import NO_LIMITS, NOT_INSTALLED, PROMETHEUS, LimitsPane

DATA = Path(__file__).parent / "data" / "statusline"
EXAMPLE = (DATA / "example-2.1.330-oauth-rl-git-vim.json").read_bytes()
SESSION = "10b09e01-91ce-416c-adc4-7cbe201a7932"
NOW_S = 1796125200  # 2026-12-01 11:40:00 UTC; the example's 5 h window resets 13:36:21


def statusline(port: int, stdin: bytes, *extra: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """``ccmon statusline`` as Claude Code runs it: a process with the JSON on stdin."""
    return subprocess.run(
        [sys.executable, "-m", "ccmon", "statusline", "--http-port", str(port), "--no-color", *extra],
        input=stdin,
        capture_output=True,
        timeout=30,
        env={**os.environ, "CCMON_NOW": str(NOW_S), **(env or {})},
    )


async def until(pred, what: str, timeout: float = 10.0) -> None:
    """The POST is fire and forget: the process may end before ccmon has stored it."""
    end = asyncio.get_running_loop().time() + timeout
    while not pred():
        if asyncio.get_running_loop().time() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def raw_http(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(request)
        data = b""
        while chunk := s.recv(4096):
            data += chunk
    return data


def post(body: bytes, path: str = "/ccmon/v1/statusline", method: str = "POST", extra: str = "") -> bytes:
    return (
        f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n{extra}Connection: close\r\n\r\n"
    ).encode() + body


async def test_statusline_process_feeds_the_receiver(otlp):
    port = otlp.http_port
    out = await asyncio.to_thread(statusline, port, EXAMPLE)
    assert out.returncode == 0 and out.stderr == b""
    assert out.stdout.decode().startswith("Sonnet 5.5 · $0.06 · ")
    limits = otlp.limits
    await until(lambda: limits.received == 1, "the status line")
    (plan,) = limits.view().plans
    assert (plan.session, plan.five_hour, plan.seven_day) == (SESSION, Window(46, 1796132181), Window(21, 1796384181))
    st = limits.view().session(SESSION)
    assert (st.context_pct, st.repo, st.cwd, st.cache_warm, st.cache_expires_at) == (
        1,
        "example-org/example-repo",
        "/home/user/work",
        True,
        1796128612,
    )

    # The same reading again: the session's row is replaced, no new plan-use row. A changed
    # reading (2.1.197's unrounded 56.789100000000005) is a second row.
    await asyncio.to_thread(statusline, port, EXAMPLE)
    await until(lambda: limits.received == 2, "the second status line")
    d = json.loads(EXAMPLE)
    d["rate_limits"]["seven_day"]["used_percentage"] = 56.789100000000005
    await asyncio.to_thread(statusline, port, json.dumps(d).encode())
    await until(lambda: limits.received == 3, "the third status line")
    conn = sqlite3.connect(otlp.store.path)
    rows = conn.execute(
        "SELECT session, five_hour_pct, five_hour_resets_at, seven_day_pct, seven_day_resets_at "
        "FROM plan_use ORDER BY t_ns"
    ).fetchall()
    assert rows == [
        (SESSION, 46.0, 1796132181, 21.0, 1796384181),
        (SESSION, 46.0, 1796132181, 56.789100000000005, 1796384181),
    ]
    assert conn.execute("SELECT COUNT(*), MIN(session) FROM statusline_sessions").fetchone() == (1, SESSION)
    conn.close()
    assert limits.received == 3
    assert limits.view().plan.seven_day == Window(56.789100000000005, 1796384181)


async def test_route_answers(otlp):
    port = otlp.http_port
    ok = await asyncio.to_thread(raw_http, port, post(EXAMPLE))
    assert ok.startswith(b"HTTP/1.1 200 ")
    bad = await asyncio.to_thread(raw_http, port, post(b"garbage"))
    assert bad.startswith(b"HTTP/1.1 400 ") and b"status-line JSON" in bad
    no_session = await asyncio.to_thread(raw_http, port, post(b'{"model": {"id": "x"}}'))
    assert no_session.startswith(b"HTTP/1.1 400 ")
    get = await asyncio.to_thread(raw_http, port, post(b"", method="GET"))
    assert get.startswith(b"HTTP/1.1 405 ")
    big = await asyncio.to_thread(raw_http, port, post(b"{" + b" " * 70_000 + b"}"))
    assert big.startswith(b"HTTP/1.1 413 ")
    assert otlp.limits.received == 1
    # OTLP still works on the same port
    otlp_404 = await asyncio.to_thread(raw_http, port, post(b"", path="/v1/nothing"))
    assert otlp_404.startswith(b"HTTP/1.1 404 ")


async def test_token_is_required_when_set(otlp):
    from ccmon.ingest.receiver import Security

    otlp.security = Security(token="s3cret")  # the receiver's token option (CCMON_TOKEN / --token)
    port = otlp.http_port
    denied = await asyncio.to_thread(raw_http, port, post(EXAMPLE))
    assert denied.startswith(b"HTTP/1.1 401 ")
    wrong = await asyncio.to_thread(raw_http, port, post(EXAMPLE, extra="Authorization: Bearer nope\r\n"))
    assert wrong.startswith(b"HTTP/1.1 401 ")
    assert otlp.limits.received == 0
    await asyncio.to_thread(statusline, port, EXAMPLE, env={"CCMON_TOKEN": "s3cret"})
    await until(lambda: otlp.limits.received == 1, "the status line with CCMON_TOKEN")
    await asyncio.to_thread(statusline, port, EXAMPLE, "--token", "s3cret")
    await until(lambda: otlp.limits.received == 2, "the status line with --token")
    await asyncio.to_thread(statusline, port, EXAMPLE, "--token", "wrong")
    await asyncio.sleep(0.5)
    assert otlp.limits.received == 2


async def test_a_hung_ccmon_does_not_hold_the_line():
    """A port that accepts and never answers: the line is printed, the process ends at its
    timeout (0.2 s), exit 0."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    try:
        import time

        t0 = time.monotonic()
        out = await asyncio.to_thread(statusline, srv.getsockname()[1], EXAMPLE)
        took = time.monotonic() - t0
    finally:
        srv.close()
    assert out.returncode == 0 and out.stdout.startswith(b"Sonnet 5.5")
    assert took < 5  # generous: the bound is the 0.2 s timeout plus a Python start-up


async def test_limits_survive_a_restart(tmp_path):
    from ccmon.ingest.receiver import Receiver
    from ccmon.model.store import Store

    store = Store(tmp_path / "ccmon.db", retention_days=0)
    r = Receiver(store, grpc_port=None, http_port=0)
    await r.start()
    await asyncio.to_thread(statusline, r.http_port, EXAMPLE)
    await until(lambda: r.limits.received == 1, "the status line")
    await r.stop()
    store.close()
    store = Store(tmp_path / "ccmon.db", retention_days=0)
    r = Receiver(store, grpc_port=None, http_port=0)
    await r.start()
    try:
        view = r.limits.view()
        assert view.received == 1
        assert view.plan.five_hour == Window(46, 1796132181)
        assert view.session(SESSION).repo == "example-org/example-repo"
    finally:
        await r.stop()
        store.close()


# -- the dashboard -------------------------------------------------------------------------------


@pytest.fixture
def args(tmp_path):
    return build_parser().parse_args(
        ["--db", str(tmp_path / "ccmon.db"), "--grpc-port", "0", "--http-port", "0", "--retention-days", "0"]
    )


@pytest.mark.usefixtures("utc")
async def test_dashboard_limits_pane_from_a_real_status_line(args):
    app = make_app(args, clock=lambda: NOW_S * 1_000_000_000)
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot, app)
        await caught_up(pilot, app)
        assert app.query_one("#waiting").display  # nothing has arrived: the waiting screen
        out = await asyncio.to_thread(statusline, app.source.receiver.http_port, EXAMPLE)
        assert out.returncode == 0
        await wait_for(pilot, lambda: app.source.receiver.limits.received == 1, "the status line")
        await caught_up(pilot, app)
        assert not app.query_one("#waiting").display  # a status line is data too
        lines = pane_lines(app, "#limits")
        # 46% used, 1 h 56 m 21 s to the 13:36:21 reset: 11,019 s of 18,000 into the window,
        # so 46 / 0.6122 = 75.1% at the reset; 7 d: 345,819 s of 604,800, 21 / 0.5718 = 36.7%
        assert lines[1].startswith("5 h ") and lines[1].endswith(" 46%")
        assert "█" in lines[1]
        assert lines[2] == "resets in 1 h 56 m (13:36)"
        assert lines[3] == "pace: 75.1% at the reset"
        assert lines[4].startswith("7 d ") and lines[4].endswith(" 21%")
        assert lines[5] == "resets in 2 d 23 h (Fri 11:36)"
        assert lines[6] == "pace: 36.7% at the reset"
        table = "\n".join(pane_lines(app, "#sessions"))
        assert "No Claude Code" not in table


def _snap(kind: str = "otlp", limits: LimitsView | None = None, now_s: int = NOW_S) -> Snapshot:
    return Snapshot(version=1, now_ns=now_s * 1_000_000_000, status=SourceStatus(kind=kind, where="x"), limits=limits)


@pytest.mark.usefixtures("utc")
def test_limits_pane_states():
    pane = LimitsPane()
    draw = lambda snap, width=48: pane.draw(pane.select(snap), width).plain  # noqa: E731
    assert draw(_snap("prometheus")) == PROMETHEUS
    assert draw(_snap()) == NOT_INSTALLED
    assert draw(_snap(limits=LimitsView())) == NOT_INSTALLED
    assert draw(_snap(limits=LimitsView(received=3))) == NO_LIMITS
    # 80% 3 h into a 5 h window: 100% at 12:25, 1 h 15 m before the 13:40 reset
    hot = PlanUse(NOW_S * 10**9, "user-1", "s", Window(80, NOW_S + 7200), None)
    text = draw(_snap(limits=LimitsView(received=1, plans=(hot,))))
    assert "pace: 100% at 12:25, 1 h 15 m before reset" in text
    assert "not reported" in text and text.endswith("user-1 · reading 0s old")
    wide = draw(_snap(limits=LimitsView(received=1, plans=(hot,))), 80)
    assert "at this rate you hit 100% at 12:25, 1 h 15 m before the reset" in wide
    gone = PlanUse(NOW_S * 10**9, "", "s", Window(80, NOW_S - 60), None)
    assert "reset at 11:39; no reading since" in draw(_snap(limits=LimitsView(received=1, plans=(gone,))))


@pytest.mark.usefixtures("utc")
async def test_sessions_table_and_report_gain_the_status_line(args):
    from app_support import send
    from otlp_client import capture, report

    app = make_app(args, clock=lambda: NOW_S * 1_000_000_000)
    async with app.run_test(size=(200, 48)) as pilot:
        await started(pilot, app)
        await send(app.source.receiver.grpc_port, capture("2.1.330", "grpc/all"))
        await caught_up(pilot, app)
        (row,) = app.snapshot.sessions
        d = json.loads(EXAMPLE)
        d["session_id"] = row.key  # the status line of the session the telemetry came from
        await asyncio.to_thread(statusline, app.source.receiver.http_port, json.dumps(d).encode())
        await wait_for(pilot, lambda: app.source.receiver.limits.received == 1, "the status line")
        await caught_up(pilot, app)
        await pilot.press("z")  # the sessions pane zoomed: every column (the status line's are last)
        await pilot.pause()
        header, line = pane_lines(app, "#sessions")[1:3]
        assert header.split()[-4:] == ["User", "Ctx", "Cache", "Repo"]
        assert line.endswith(f" {row.user[:9]}… 1% warm 56m example-repo")
        # the reading takes the account of its session's telemetry
        assert app.snapshot.limits.plan.account == row.user != ""
    r = await asyncio.to_thread(report, Path(args.db))
    assert r["plan_limits"] == {
        "five_hour": {"used_pct": 46, "resets_at": "2026-12-01T13:36:21.000Z"},
        "seven_day": {"used_pct": 21, "resets_at": "2026-12-04T11:36:21.000Z"},
        "account": row.user,
        "session_id": row.key,
        "observed_at": r["plan_limits"]["observed_at"],
    }
    (s,) = r["sessions"]
    assert (s["context_used_pct"], s["repo"], s["cwd"]) == (1, "example-org/example-repo", "/home/user/work")
    text = subprocess.run(
        [sys.executable, "-m", "ccmon", "report", "--db", args.db], capture_output=True, text=True, timeout=60
    ).stdout
    assert (
        "plan limits     5 h 46% (resets 2026-12-01T13:36:21.000Z)  7 d 21% (resets 2026-12-04T11:36:21.000Z)  as of "
    ) in text


# -- the plan-use rule, against a reference ----------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as hst  # noqa: E402

_window = hst.one_of(
    hst.none(),
    hst.builds(Window, hst.sampled_from([10.0, 46.0, 56.789100000000005]), hst.sampled_from([1796132181, 1796150000])),
)
_reading = hst.tuples(hst.sampled_from(["", "alice", "bob"]), hst.sampled_from(["s1", "s2", "s3"]), _window, _window)


@settings(max_examples=60, deadline=None)
@given(readings=hst.lists(_reading, max_size=12))
def test_plan_use_is_stored_on_change_and_the_newest_per_account_shown(tmp_path_factory, readings):
    """Reference: a row is written when a status line has a window and the account's last
    reading differs; the view shows the newest reading per account, newest first."""
    from ccmon.model.limits_store import LimitsStore, load_view
    from ccmon.model.statusline import StatusLine

    path = tmp_path_factory.mktemp("plan") / "ccmon.db"
    store = LimitsStore(path)
    rows, last = [], {}
    for t, (account, session, five, seven) in enumerate(readings, start=1):
        sl = StatusLine(session=session, five_hour=five, seven_day=seven)
        store.record(sl, b"{}", account, t)
        store.apply(sl, account, t)
        if (five or seven) and last.get(account, (None, None, None))[1:] != (t, five, seven)[1:]:
            rows.append((t, account, session, five, seven))
        if five or seven:
            last[account] = (t, five, seven)
    conn = sqlite3.connect(path)
    got = [
        (t, a, s, Window(f, fr) if f is not None else None, Window(v, vr) if v is not None else None)
        for t, a, s, f, fr, v, vr in conn.execute(
            "SELECT t_ns, account, session, five_hour_pct, five_hour_resets_at, seven_day_pct, seven_day_resets_at "
            "FROM plan_use ORDER BY t_ns"
        )
    ]
    assert got == rows
    newest = sorted(((t, a, f, s) for a, (t, f, s) in last.items()), reverse=True)
    view = store.view()
    assert [(p.t_ns, p.account, p.five_hour, p.seven_day) for p in view.plans] == newest
    assert view.received == len(readings)
    assert {k for k, _ in view.sessions} == {s for _, s, _, _ in readings}
    # the database says the same as memory (what `ccmon report` and a restart read)
    on_disk = load_view(conn)
    conn.close()
    store.close()
    assert [(p.t_ns, p.account, p.five_hour, p.seven_day) for p in on_disk.plans] == newest
