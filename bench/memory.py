"""Figure 5, memory; figure 6, restart.

**RSS after 1,000,000 events** (``memory_child build``): a fresh process that has imported
what the dashboard imports feeds 1,000,000 Claude Code events (log records; the metric points
of the same conversations come along, about 1.2 per event) across 10,000 sessions through
the real decode and store path, 32 exports per transaction as the group committer batches
them under load, takes one snapshot, and reports its resident set size. Budget 200 MB.

**Soak**: the real receiver (``ingest_server --mode persist``, gRPC) gets exports at
500 events/s from the load generator (200 sessions in rotation: a team's steady state;
session turnover is what the 10,000-session figure covers) for ``soak_seconds``. The
server's RSS is sampled every second; growth = median RSS of the last tenth of the run over
the median of the first tenth after a warm-up. Goal ≤ 5 %. The issue asks for 10 minutes;
the default run is shorter to keep ``python -m bench`` at a few minutes (``--soak-seconds``).

**Restart** (``memory_child reopen``): a fresh process opens the 1,000,000-event database
built above (``Store(path)``: retention sweep + rebuild of every aggregate) and takes the first
snapshot; timed from the constructor to the snapshot (imports excluded and shown apart).
The totals must equal what the build reported. Budget 2 s.
"""

from __future__ import annotations

import math
import statistics
import time
from pathlib import Path
from typing import Any

from .figures import Figure, at_most
from .ingest import LOADGEN_CPU, SERVER_CPU
from .proc import Child, rss_bytes
from .workload import expected_totals

MB = 2**20
RSS_BUDGET = 200 * MB
RESTART_BUDGET_S = 2.0
SOAK_EVENTS_PER_S = 500


def build(db: Path, events: int, sessions: int) -> dict[str, Any]:
    child = Child(
        "memory_child",
        "build",
        "--db",
        str(db),
        "--events",
        str(events),
        "--sessions",
        str(sessions),
        "--cpu",
        str(SERVER_CPU),
    )
    try:
        return child.read()
    finally:
        child.wait(600)


def rss_figure(res: dict[str, Any], events: int, sessions: int) -> Figure:
    exp = expected_totals(res["rounds"])
    problems = _compare(res, exp, sessions)
    fig = at_most(
        "memory.rss_1m_events",
        res["rss"] / MB,
        "MB",
        RSS_BUDGET / MB,
        goal="≤ 200 MB",
        events=res["events"],
        sessions=res["sessions"],
        rss_before_store_mb=round(res["rss_before_store"] / MB, 1),
        peak_rss_mb=round(res["peak_rss"] / MB, 1),
        ingest_s=round(res["ingest_s"], 1),
        events_per_s=round(res["events"] / res["ingest_s"]),
        db_mb=round(res["db_bytes"] / MB),
        verify=problems or "ok",
        target_events=events,
    )
    if problems:
        fig.met = False
    return fig


def _compare(res: dict[str, Any], exp: dict[str, float], sessions: int) -> str:
    problems = []
    if res["events"] != exp["events"] or res["events_rows"] != exp["events"]:
        problems.append(f"events {res['events']} (rows {res['events_rows']}), expected {exp['events']:.0f}")
    if res["points_rows"] != exp["points"]:
        problems.append(f"points {res['points_rows']}, expected {exp['points']:.0f}")
    if res["api_requests"] != exp["api_requests"]:
        problems.append(f"api_requests {res['api_requests']}, expected {exp['api_requests']:.0f}")
    if not math.isclose(res["cost"], exp["cost"], rel_tol=1e-9):
        problems.append(f"cost {res['cost']!r}, expected {exp['cost']!r}")
    if res["sessions"] != sessions:
        problems.append(f"{res['sessions']} sessions, expected {sessions}")
    return "; ".join(problems)


def restart(db: Path, built: dict[str, Any], sessions: int, runs: int = 3) -> Figure:
    exp = expected_totals(built["rounds"])
    results = []
    for _ in range(runs):
        child = Child("memory_child", "reopen", "--db", str(db), "--cpu", str(SERVER_CPU))
        try:
            results.append(child.read())
        finally:
            child.wait(120)
    best = sorted(results, key=lambda r: r["total_s"])[len(results) // 2]  # the median run
    problems = _compare(best, exp, sessions)
    fig = at_most(
        "restart.1m_events",
        best["total_s"],
        "s",
        RESTART_BUDGET_S,
        goal="≤ 2 s",
        open_s=round(best["open_s"], 3),
        first_snapshot_s=round(best["snapshot_s"], 3),
        import_s=round(best["import_s"], 3),
        rss_mb=round(best["rss"] / MB, 1),
        all_runs_s=[round(r["total_s"], 3) for r in results],
        events=best["events"],
        verify=problems or "ok",
    )
    if problems:
        fig.met = False
    return fig


def soak(seconds: float, log=print, sessions: int = 200) -> Figure:
    """The receiver at 500 events/s for ``seconds``; RSS sampled each second."""
    from .workload import expected_per_conversation

    per = expected_per_conversation()
    events_per_round = statistics.mean(e.events for e in per.values())
    rounds_per_s = SOAK_EVENTS_PER_S / events_per_round
    # Warm-up: every session of the rotation seen several times (its series, its aggregates),
    # SQLite's page caches filled; what grows after that is what the figure is about.
    warmup = min(max(20.0, seconds * 0.15), seconds * 0.5)
    srv = Child("ingest_server", "--mode", "persist", "--proto", "grpc", "--cpu", str(SERVER_CPU))
    try:
        hello = srv.read()
        pid = hello["pid"]
        gen = Child(
            "loadgen",
            "--proto",
            "grpc",
            "--port",
            str(hello["port"]),
            "--server-pid",
            str(pid),
            "--cpu",
            str(LOADGEN_CPU),
            "--concurrency",
            "8",
            "--warmup",
            str(warmup),
            "--seconds",
            str(seconds - warmup),
            "--sessions",
            str(sessions),
            "--rounds-per-second",
            f"{rounds_per_s:.4f}",
        )
        samples: list[tuple[float, int]] = []
        t0 = time.monotonic()
        while gen.proc.poll() is None:
            samples.append((time.monotonic() - t0, rss_bytes(pid)))
            time.sleep(1.0)
        res = gen.read()
        gen.wait()
        rep = srv.ask({"cmd": "report"})
        srv.send({"cmd": "stop"})
        srv.wait()
    except BaseException:
        srv.kill()
        raise
    measured = [r for t, r in samples if t >= warmup]
    tenth = max(1, len(measured) // 10)
    start, end = statistics.median(measured[:tenth]), statistics.median(measured[-tenth:])
    growth = (end - start) / start * 100
    exp = expected_totals(res["rounds"])
    events_per_s = res["rate"] * exp["events"] / max(exp["exports"], 1)
    problems = [] if not res["errors"] else [res["errors"][0]]
    if rep["events"] != exp["events"] or rep["points"] != exp["points"]:
        problems.append(
            f"stored {rep['events']} events / {rep['points']} points, "
            f"expected {exp['events']:.0f} / {exp['points']:.0f}"
        )
    log(
        f"  soak {seconds:.0f} s at {events_per_s:.0f} events/s: RSS {start / MB:.1f} -> {end / MB:.1f} MB "
        f"({growth:+.1f} %)"
    )
    fig = at_most(
        "memory.soak_growth",
        growth,
        "%",
        5.0,
        goal="≤ 5 % growth",
        seconds=seconds,
        warmup_s=warmup,
        events_per_s=round(events_per_s),
        sessions=sessions,
        rss_start_mb=round(start / MB, 1),
        rss_end_mb=round(end / MB, 1),
        rss_max_mb=round(max(measured) / MB, 1),
        server_cpu=round(res["server_cpu"], 3),
        rss_every_10s_mb=[round(r / MB, 1) for t, r in samples[::10]],
        verify="; ".join(problems) or "ok",
    )
    if problems:
        fig.met = False
    return fig
