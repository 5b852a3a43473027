"""Always on, many viewers: one receiver owns a database, dashboards attach to it read-only.

Real processes (``ccmon serve``), real sockets, real files: a second receiver is refused
(exit 2, naming the owner), ``kill -9`` leaves nothing that blocks a restart, and dashboards
started while a receiver runs show its numbers live without writing a byte.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time

import pytest
from app_support import FIXED_NS, caught_up, pane_lines, send, started, utc, wait_for  # noqa: F401 (utc: fixture)
from otlp_client import ServeProcess, capture, free_port, grpc_export, metrics_for_session, replay, report

from ccmon.cli import build_parser
from ccmon.compose import make_app, make_source
from ccmon.ingest import owner
from ccmon.ingest.receiver import OtlpSource
from ccmon.ingest.viewer import ViewerSource

pytestmark = pytest.mark.usefixtures("utc")


def _args(*argv: str):
    return build_parser().parse_args(list(argv))


def _serve(db, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "ccmon",
            "serve",
            "--db",
            str(db),
            "--grpc-port",
            str(free_port()),
            "--http-port",
            str(free_port()),
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_second_receiver_on_the_same_db_exits_2_naming_the_owner_and_the_first_keeps_working(tmp_path):
    db = tmp_path / "ccmon.db"
    srv = ServeProcess(db, "--retention-days", "0")
    try:
        out = _serve(db)
        assert out.returncode == 2
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("ccmon: ")
        assert f"ccmon serve, pid {srv.proc.pid}, :{srv.grpc_port}/:{srv.http_port}" in lines[0]
        # The first receiver still takes brand-new series (the second never touched the DB).
        (m,) = [e for e in capture("2.1.197", "grpc/text") if e.signal == "metrics"]
        for sid in ("after-1", "after-2"):
            grpc_export(srv.grpc_port, "metrics", metrics_for_session(m.body, sid), timeout=5)
        stored = {s["session_id"]: s["cost_usd"] for s in report(db)["sessions"]}
        assert stored == {"after-1": 0.03945175, "after-2": 0.03945175}
    finally:
        assert srv.stop() == 0
    assert owner.probe(db) is None  # a clean stop leaves the lock free


def test_kill_9_leaves_no_lock_that_blocks_a_restart(tmp_path):
    db = tmp_path / "ccmon.db"
    srv = ServeProcess(db, "--retention-days", "0")
    replay(srv.grpc_port, None, capture("2.1.197", "grpc/all"), "grpc")
    assert owner.probe(db).pid == srv.proc.pid
    srv.proc.kill()
    srv.proc.wait()
    for s in (srv.proc.stdout, srv.proc.stderr):
        s.close()
    assert owner.lock_path(db).read_text() != ""  # the dead owner's words are still there...
    assert owner.probe(db) is None  # ...but nobody holds the lock
    again = ServeProcess(db, "--retention-days", "0")
    try:
        assert owner.probe(db).pid == again.proc.pid
        assert report(db)["cost_usd"] == 0.2367105
    finally:
        assert again.stop() == 0


async def test_dashboard_attaches_to_serve_and_shows_its_exports_live(tmp_path):
    db = tmp_path / "ccmon.db"
    srv = ServeProcess(db, "--retention-days", "0")
    try:
        args = _args("--db", str(db), "--grpc-port", "0", "--http-port", "0")
        app = make_app(args, clock=lambda: FIXED_NS)
        assert isinstance(app.source, ViewerSource)
        async with app.run_test(size=(160, 48)) as pilot:
            await started(pilot, app)
            await caught_up(pilot, app)
            status = " ".join(pane_lines(app, "#status"))
            assert f"watching ccmon serve, pid {srv.proc.pid}, :{srv.grpc_port}/:{srv.http_port}" in status
            assert "Total $0.0000 today $0.0000" in pane_lines(app, "#cost")

            await send(srv.grpc_port, capture("2.1.197", "grpc/all"))
            await wait_for(
                pilot,
                lambda: (
                    "Total $0.2367 today $0.2367" in pane_lines(app, "#cost")
                    and "Requests 6" in pane_lines(app, "#api")
                ),
                "the first capture's metrics and logs",
            )
            assert "Latency p50 33 ms · p95 119 ms" in pane_lines(app, "#api")
            assert "$/commit $0.2367 (all spend ÷ 1)" in pane_lines(app, "#productivity")

            await send(None, capture("2.1.197", "grpc/interactive"), how="http", http_port=srv.http_port)
            await wait_for(
                pilot,
                lambda: (
                    "Total $0.4340 today $0.4340" in pane_lines(app, "#cost")
                    and pane_lines(app, "#sessions")[0].startswith("╭─ Sessions 2 ·")
                ),
                "the second",
            )
            await caught_up(pilot, app)
            assert "All edits 2 of 2 · 100% 1 of 2 · 50%" in pane_lines(app, "#edits")
            assert pane_lines(app, "#sessions")[0].startswith("╭─ Sessions 2 ·")
            # The same numbers a restart computes from the database.
            r = report(db)
            assert round(app.snapshot.cost_total, 10) == r["cost_usd"]
            assert {s.key: round(s.cost, 10) for s in app.snapshot.sessions} == {
                s["session_id"]: s["cost_usd"] for s in r["sessions"]
            }

            srv.stop()
            await wait_for(pilot, lambda: "STALE" in " ".join(pane_lines(app, "#status")), "the receiver to stop")
            assert f"nothing receives: ccmon serve (pid {srv.proc.pid}) stopped" in " ".join(pane_lines(app, "#status"))
    finally:
        if srv.proc.poll() is None:
            srv.stop()


async def test_two_viewers_at_once_show_the_same_numbers(tmp_path, monkeypatch):
    """Both woken by serve's notices: their fallback check is put out of reach."""
    from ccmon.ingest import viewer

    monkeypatch.setattr(viewer, "FALLBACK_S", 3600.0)
    db = tmp_path / "ccmon.db"
    srv = ServeProcess(db, "--retention-days", "0")
    try:
        one = make_source(_args("--db", str(db)))
        two = make_source(_args("--db", str(db), "--grpc-port", "0"))
        assert isinstance(one, ViewerSource) and isinstance(two, ViewerSource)
        await one.start()
        await two.start()
        try:
            await send(srv.grpc_port, capture("2.1.330", "grpc/all"))
            await send(srv.grpc_port, capture("2.1.197", "grpc/error400"))
            want = report(db)

            def seen(v) -> tuple:
                snap = v.snapshot()
                return (
                    round(snap.cost_total, 10),
                    {s.key: round(s.cost, 10) for s in snap.sessions},
                    dict(snap.events_by_name),
                )

            expected = (want["cost_usd"], {s["session_id"]: s["cost_usd"] for s in want["sessions"]}, want["events"])
            assert expected[0] == 0.1786872 and len(expected[1]) == 2
            for v in (one, two):
                end = time.monotonic() + 10
                while seen(v) != expected and time.monotonic() < end:
                    await _sleep(0.05)
                assert seen(v) == expected
        finally:
            await one.stop()
            await two.stop()
    finally:
        srv.stop()


async def _sleep(s: float) -> None:
    import asyncio

    await asyncio.sleep(s)


async def test_dashboard_started_while_serve_runs_on_its_ports_attaches(tmp_path, monkeypatch):
    """`ccmon` with no --db, while `ccmon serve --db elsewhere` listens on the ports asked for."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))  # the default DB: not serve's
    monkeypatch.delenv("CCMON_DB", raising=False)
    serve_db = tmp_path / "served.db"
    srv = ServeProcess(serve_db, "--retention-days", "0")
    try:
        from ccmon.cli import _default_db

        args = _args("--grpc-port", str(srv.grpc_port), "--http-port", str(srv.http_port))
        args.db = _default_db()
        source = make_source(args)
        assert isinstance(source, ViewerSource) and source.db == str(serve_db)
        assert source.description == f"watching ccmon serve, pid {srv.proc.pid}, :{srv.grpc_port}/:{srv.http_port}"
        assert not (tmp_path / "data").exists()  # attaching created no database of its own
        # Asked for other ports it does not attach: it is a receiver of its own default DB.
        other = make_source(_args("--db", args.db, "--grpc-port", "0", "--http-port", "0"))
        try:
            assert isinstance(other, OtlpSource)
        finally:
            other.store.close()
            other.lock.release()
    finally:
        srv.stop()


async def test_serve_is_refused_while_a_dashboard_is_the_receiver(tmp_path):
    db = tmp_path / "ccmon.db"
    app = make_app(
        _args("--db", str(db), "--grpc-port", "0", "--http-port", "0", "--retention-days", "0"), clock=lambda: FIXED_NS
    )
    assert isinstance(app.source, OtlpSource)
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot, app)
        r = app.source.receiver
        out = await _to_thread(_serve, db)
        assert out.returncode == 2
        assert f"the ccmon dashboard, pid {os.getpid()}, :{r.grpc_port}/:{r.http_port}" in out.stderr
        # A second dashboard on the same DB attaches instead of receiving.
        viewer = make_source(_args("--db", str(db), "--grpc-port", "0", "--http-port", "0"))
        assert isinstance(viewer, ViewerSource)
        assert viewer.description == f"watching the ccmon dashboard, pid {os.getpid()}, :{r.grpc_port}/:{r.http_port}"
    assert owner.probe(db) is None


async def _to_thread(fn, *a):
    import asyncio

    return await asyncio.to_thread(fn, *a)


async def test_embedded_receiver_refreshes_on_the_export_not_on_a_timer(tmp_path):
    """With a 60 s refresh interval, only the receiver's wake-up can put the export on screen."""
    args = _args("--db", str(tmp_path / "ccmon.db"), "--grpc-port", "0", "--http-port", "0", "--retention-days", "0")
    app = make_app(args, clock=lambda: FIXED_NS, refresh_interval=60.0)
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot, app)
        await send(app.source.receiver.grpc_port, capture("2.1.197", "grpc/all"))
        await wait_for(
            pilot, lambda: "Total $0.2367 today $0.2367" in pane_lines(app, "#cost"), "the export", timeout=10
        )


def _digest(*paths) -> list[str]:
    return [hashlib.sha256(p.read_bytes()).hexdigest() if p.exists() else "-" for p in paths]


async def test_a_viewer_never_writes_the_database(tmp_path):
    """An owner that is idle (this test holds the lock and writes nothing while watched):
    a viewer's start, follow and drill-down leave the database, its WAL and the lock as they were."""
    from app_support import ingest_capture

    from ccmon.model import follow
    from ccmon.model.store import Store

    db = tmp_path / "ccmon.db"
    lock = owner.DbLock.acquire(db, kind="serve", bind="127.0.0.1", grpc_port=1, http_port=2)
    try:
        store = Store(db, retention_days=0, clock=lambda: FIXED_NS)
        follow.install(db)
        ingest_capture(store, "2.1.197", "grpc/all")
        files = [db, db.with_name("ccmon.db-wal"), owner.lock_path(db)]
        before = _digest(*files)
        viewer = make_source(_args("--db", str(db)))
        assert isinstance(viewer, ViewerSource)
        await viewer.start()
        try:
            assert round(viewer.snapshot().cost_total, 7) == 0.2367105
            key = viewer.snapshot().sessions[0].key
            detail = await viewer.session_detail(key)
            assert len(detail.api_calls) == 6
            await _sleep(0.3)
        finally:
            await viewer.stop()
        assert _digest(*files) == before
        store.close()
    finally:
        lock.release()


def test_lock_refuses_in_process_too_and_is_free_after_release(tmp_path):
    db = tmp_path / "x.db"
    a = owner.DbLock.acquire(db, kind="serve", bind="127.0.0.1", grpc_port=None, http_port=None)
    a.update(4001, 4002)
    with pytest.raises(Exception) as err:
        owner.DbLock.acquire(db, kind="serve", bind="127.0.0.1", grpc_port=None, http_port=None)
    assert err.value.code == 2 and f"pid {os.getpid()}, :4001/:4002" in err.value.message
    assert owner.probe(db) == a.info
    a.release()
    assert owner.probe(db) is None
    b = owner.DbLock.acquire(db, kind="dashboard", bind="127.0.0.1", grpc_port=None, http_port=None)
    b.release()


def test_sigterm_on_serve_removes_its_port_notes(tmp_path):
    srv = ServeProcess(tmp_path / "ccmon.db")
    notes = [owner.runtime_dir() / f"port-{p}.json" for p in (srv.grpc_port, srv.http_port)]
    assert all(n.exists() for n in notes)
    assert owner.find_by_port(srv.http_port).pid == srv.proc.pid
    assert srv.stop(signal.SIGTERM) == 0
    assert not any(n.exists() for n in notes)
    assert owner.find_by_port(srv.grpc_port, srv.http_port) is None


async def test_notices_reach_every_live_viewer_and_dead_ones_are_cleaned_up(tmp_path):
    import asyncio

    from ccmon.ingest.wakeup import Listener, Notifier, viewers_dir

    db = tmp_path / "ccmon.db"
    got = {"a": 0, "b": 0}
    a, b = Listener(db), Listener(db)
    a.attach(lambda: got.__setitem__("a", got["a"] + 1))
    b.attach(lambda: got.__setitem__("b", got["b"] + 1))
    dead = viewers_dir(db) / "999999-0.sock"  # a viewer killed with -9 left its socket behind
    import socket as _socket

    s = _socket.socket(_socket.AF_UNIX, _socket.SOCK_DGRAM)
    s.bind(str(dead))
    s.close()
    n = Notifier(db)
    try:
        for _ in range(3):  # three exports in a row: coalesced into one notice
            n.changed()
        await asyncio.sleep(0.2)
        assert got == {"a": 1, "b": 1}
        assert not dead.exists()
        b.close()
        n.changed()
        await asyncio.sleep(0.2)
        assert got == {"a": 2, "b": 1}
        assert sorted(p.name for p in viewers_dir(db).iterdir()) == [a.path.name]
    finally:
        a.close()
        n.close()
    assert list(viewers_dir(db).iterdir()) == []


async def test_a_viewer_shows_the_plan_limits_its_receiver_got(tmp_path):
    """Status lines go to the receiver (``POST /ccmon/v1/statusline``); an attached dashboard
    reads them from the database like everything else."""
    from test_statusline_store import EXAMPLE, NOW_S, statusline

    db = tmp_path / "ccmon.db"
    srv = ServeProcess(db, "--retention-days", "0")
    try:
        app = make_app(
            _args("--db", str(db), "--grpc-port", "0", "--http-port", "0"), clock=lambda: NOW_S * 1_000_000_000
        )
        assert isinstance(app.source, ViewerSource)
        async with app.run_test(size=(160, 48)) as pilot:
            await started(pilot, app)
            assert statusline(srv.http_port, EXAMPLE).returncode == 0
            await wait_for(
                pilot,
                lambda: (
                    app.snapshot is not None and app.snapshot.limits is not None and app.snapshot.limits.received == 1
                ),
                "the status line in the viewer",
            )
            await caught_up(pilot, app)
            lines = pane_lines(app, "#limits")
            assert lines[1].startswith("5 h ") and lines[1].endswith(" 46%")
            assert lines[4].startswith("7 d ") and lines[4].endswith(" 21%")
    finally:
        srv.stop()
