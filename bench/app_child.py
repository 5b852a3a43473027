"""Child process for the dashboard figures (``python -m bench.app_child latency|refresh|viewer``).

Both run ccmon's real ``CcmonApp`` on a real ``OtlpSource`` (store + gRPC/HTTP receivers on
free ports) under ``App.run_test()``, headless at 160×48. Headless Textual still lays out and
renders every changed region through its compositor; it only skips writing the escape codes
to a terminal.

``latency`` (figure 2): ``latency_sender`` (another process) sends log exports, each one a
new session, at random moments. The app is subclassed only to observe: after each
``refresh_now`` it looks for the new sessions among the rows of the dashboard's tables, and
for those it finds, stamps ``time.monotonic()`` once the screen has been repainted
(``call_after_refresh``). Latency = that stamp minus the sender's stamp of the OK.

``refresh`` (figure 3): the store is filled with 100,000 events across 1,000 sessions (real
decode + store path), then, ``--n`` times: one more conversation round lands in an existing
session (so cost, tokens, sessions, events and the rest all change), and we time
``refresh_now()`` (snapshot + every pane) up to the end of the repaint that follows, as
CPU time of the UI thread (waiting for the next frame slot is not cost) and as wall time.
Then nothing arrives for ``--idle-seconds`` and the whole process's CPU time is measured
(UI thread, gRPC's threads, the SQLite thread): idle cost.

``viewer``: the latency method with the app attached to a real ``ccmon serve`` (another
process) as a read-only viewer; then the viewer's idle CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .proc import ROOT, cpu_seconds, emit, env, pin


def _app_class():
    from ccmon.views.app import CcmonApp

    from .appsupport import timed_subclass_css

    return CcmonApp, timed_subclass_css(CcmonApp)


def _source(db: Path, retention_days: float = 0):
    from ccmon.ingest.receiver import OtlpSource, Receiver
    from ccmon.model.store import Store

    store = Store(db, retention_days=retention_days)
    return store, OtlpSource(store, Receiver(store, grpc_port=0, http_port=0))


def _row_keys(screen: Any) -> set[str]:
    """Every row key of every table on the screen (the sessions table is keyed by session).

    Works for Textual's ``DataTable`` (``rows``) and for ccmon's own keyed tables (a ``keys``
    list, top to bottom), so the figure survives the views changing their table widget."""
    from textual.widgets import DataTable

    keys: set[str] = set()
    for w in screen.query("*"):
        if isinstance(w, DataTable):
            keys.update(str(k.value) for k in w.rows)
        else:
            ks = getattr(type(w), "keys", None)
            if isinstance(ks, property):
                value = w.keys
                if isinstance(value, (list, tuple)):
                    keys.update(str(k) for k in value)
    return keys


def _observed(pending: set[str], shown: dict[str, float], updated: dict[str, float]):
    """The app, subclassed only to stamp when each pending session is first on screen."""
    CcmonApp, css = _app_class()

    class Observed(CcmonApp):
        CSS_PATH = css

        def refresh_now(self, now: int | None = None) -> None:
            super().refresh_now(now)
            if not pending:
                return
            found = pending & _row_keys(self.main)
            if found:
                pending.difference_update(found)
                t = time.monotonic()
                for k in found:
                    updated[k] = t
                self.call_after_refresh(lambda: shown.update(dict.fromkeys(found, time.monotonic())))

    return Observed


async def _latency_run(source, grpc_port: int | None, args: argparse.Namespace, idle_seconds: float = 0.0):
    """Send ``args.n`` log exports (each a new session) to ``grpc_port`` (the app's own receiver
    when None) and stamp each on screen; then, optionally, measure idle CPU."""
    from .workload import session_id

    tag = "lat"
    pending = {session_id(tag, i) for i in range(args.n)}
    shown: dict[str, float] = {}
    updated: dict[str, float] = {}
    app = _observed(pending, shown, updated)(source, refresh_interval=args.interval)
    idle = None
    async with app.run_test(size=(160, 48)) as pilot:
        while not app.source_started:  # the source starts after the first frame
            await pilot.pause(0.02)
        port = grpc_port if grpc_port is not None else source.receiver.grpc_port
        sender = subprocess.Popen(
            [sys.executable, "-m", "bench.latency_sender", "--port", str(port), "--n", str(args.n), "--tag", tag],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env(),
            cwd=ROOT,
        )
        while sender.poll() is None:
            await asyncio.sleep(0.05)
        out, err = sender.communicate()
        if sender.returncode != 0:
            raise RuntimeError(f"latency sender failed: {err[-2000:]}")
        deadline = time.monotonic() + 5
        while len(shown) < args.n and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if idle_seconds:
            await asyncio.sleep(2.0)  # let the last repaint and any timers settle
            pid = os.getpid()
            c0, t0 = cpu_seconds(pid), time.monotonic()
            await asyncio.sleep(idle_seconds)
            idle = (cpu_seconds(pid) - c0) / (time.monotonic() - t0)
    ok = dict((k, t) for k, t in json.loads(out))
    lat = sorted(shown[k] - ok[k] for k in ok if k in shown)
    upd = sorted(updated[k] - ok[k] for k in ok if k in updated)
    return {
        "latencies_s": lat,
        "update_latencies_s": upd,
        "sent": len(ok),
        "shown": len(lat),
        "interval": args.interval,
        "idle_cpu": idle,
    }


async def latency(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="ccmon-bench-") as tmp:
        store, source = _source(Path(tmp) / "lat.db")
        return await _latency_run(source, None, args)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def viewer(args: argparse.Namespace) -> dict[str, Any]:
    """A real ``ccmon serve`` in its own process; the app attached to it as ``ccmon`` attaches
    (a ``ViewerSource`` on the database serve owns). The sender exports to serve; latency is
    from serve's OK to the viewer's repaint. Then the viewer's idle CPU (serve's is not counted)."""
    from ccmon.ingest import owner
    from ccmon.ingest.viewer import ViewerSource

    with tempfile.TemporaryDirectory(prefix="ccmon-bench-") as tmp:
        os.environ["XDG_RUNTIME_DIR"] = tmp  # serve's notices to this viewer go through sockets there
        db = Path(tmp) / "viewer.db"
        g, h = _free_port(), _free_port()
        srv = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ccmon",
                "serve",
                "--db",
                str(db),
                "--grpc-port",
                str(g),
                "--http-port",
                str(h),
                "--retention-days",
                "0",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env(),
            cwd=ROOT,
        )
        try:
            banner = srv.stdout.readline()
            if "receiving OTLP" not in banner:
                raise RuntimeError(f"ccmon serve did not start: {banner}{srv.stderr.read()[-2000:]}")
            found = owner.probe(db)
            assert found is not None and found.pid == srv.pid
            return await _latency_run(ViewerSource(db, found), g, args, args.idle_seconds)
        finally:
            srv.terminate()
            srv.wait(10)
            srv.stdout.close()
            srv.stderr.close()


def _stamp(done: asyncio.Future[tuple[float, float]]) -> None:
    """After a repaint: the thread's CPU time and the wall clock, for the refresh figure."""
    done.set_result((time.thread_time(), time.perf_counter()))


async def refresh(args: argparse.Namespace) -> dict[str, Any]:
    from ccmon.ingest.payload import decode

    from .feed import feed
    from .workload import Workload

    CcmonApp, css = _app_class()
    first: dict[str, float] = {}

    class Measured(CcmonApp):
        CSS_PATH = css

        def refresh_now(self, now: int | None = None) -> None:
            if first:
                return super().refresh_now(now)
            t0, c0 = time.perf_counter(), time.thread_time()
            super().refresh_now(now)
            first["sync_s"] = time.perf_counter() - t0
            first["cpu_sync_s"] = time.thread_time() - c0

    with tempfile.TemporaryDirectory(prefix="ccmon-bench-") as tmp:
        store, source = _source(Path(tmp) / "refresh.db")
        wl = Workload("ref", args.sessions, time.time_ns() - 2 * 3600 * 1_000_000_000)
        t = time.perf_counter()
        _, next_round = feed(store, wl, args.events)
        fill_s = time.perf_counter() - t
        app = Measured(source, refresh_interval=args.interval)
        rng = random.Random(3)
        samples: list[tuple[float, float, float]] = []  # (cpu, wall to repainted, wall of refresh_now)
        async with app.run_test(size=(160, 48)) as pilot:
            await pilot.pause()
            loop = asyncio.get_running_loop()
            for i in range(args.n):
                batches = [decode(s, b) for s, b in wl.round(next_round + i)]
                store.apply(store.write(batches))
                c0, t0 = time.thread_time(), time.perf_counter()
                app.refresh_now()
                t1 = time.perf_counter()
                done: asyncio.Future[tuple[float, float]] = loop.create_future()
                app.call_after_refresh(_stamp, done)
                c2, t2 = await done
                samples.append((c2 - c0, t2 - t0, t1 - t0))
                await asyncio.sleep(rng.uniform(0.02, 0.08))
            snap = app.snapshot
            held = {"sessions": len(snap.sessions), "events": sum(n for _, n in snap.events_by_name)}
            await asyncio.sleep(2.0)  # let the last repaint and any timers settle
            pid = os.getpid()
            c0, t0 = cpu_seconds(pid), time.monotonic()
            await asyncio.sleep(args.idle_seconds)
            idle = (cpu_seconds(pid) - c0) / (time.monotonic() - t0)
    return {
        "samples": samples,
        "first": first,
        "idle_cpu": idle,
        "held": held,
        "fill_s": fill_s,
        "interval": args.interval,
    }


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("what", choices=("latency", "refresh", "viewer"))
    p.add_argument("--n", type=int, default=40)
    p.add_argument("--interval", type=float, default=0.25)
    p.add_argument("--events", type=int, default=100_000)
    p.add_argument("--sessions", type=int, default=1_000)
    p.add_argument("--idle-seconds", type=float, default=10.0)
    p.add_argument("--cpu", type=int, default=None)
    a = p.parse_args()
    pin(a.cpu)
    emit(asyncio.run({"latency": latency, "refresh": refresh, "viewer": viewer}[a.what](a)))
