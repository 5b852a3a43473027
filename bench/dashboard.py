"""Figures 2 and 3, the dashboard: export-to-screen latency, refresh cost, idle CPU.

Each runs ``app_child`` (ccmon's real app under ``App.run_test()``, headless) in its own
process; see that module for the method. Latency: p50 and p95 from the OK of an export to
the repaint that shows its session, against the refresh interval + 50 ms. Refresh: p95 of
the UI thread's CPU time for one full refresh (snapshot, every pane, the repaint) holding
1,000 sessions and 100,000 events, against 30 ms. Idle: CPU of the whole process while
nothing arrives, in % of one core, against 1 %.
"""

from __future__ import annotations

from typing import Any

from .figures import Figure, at_most
from .ingest import SERVER_CPU
from .proc import Child

SLACK_S = 0.050  # the allowance on top of the refresh interval
REFRESH_BUDGET_S = 0.030
IDLE_BUDGET = 1.0  # % of one core


def _pct(values: list[float], q: float) -> float:
    """Nearest rank: an observed value."""
    s = sorted(values)
    return s[min(len(s) - 1, max(0, int(-(-q * len(s) // 1)) - 1))]


def _run(*args: str) -> dict[str, Any]:
    child = Child("app_child", *args, "--cpu", str(SERVER_CPU))
    try:
        return child.read()
    finally:
        child.wait(300)


def latency(n: int = 60, interval: float = 0.25, log=print) -> list[Figure]:
    res = _run("latency", "--n", str(n), "--interval", str(interval))
    lat = res["latencies_s"]
    limit = interval + SLACK_S
    problems = "" if res["shown"] == res["sent"] else f"{res['sent'] - res['shown']} of {res['sent']} never shown"
    p50, p95 = _pct(lat, 0.50), _pct(lat, 0.95)
    upd = res["update_latencies_s"]
    log(f"  export-to-screen p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms (interval {interval * 1000:.0f} ms)")
    common = {"refresh_interval_s": interval, "exports": res["sent"], "verify": problems or "ok"}
    figs = [
        at_most("latency.export_to_screen_p50", p50, "s", limit, goal="≤ refresh interval + 50 ms", **common),
        at_most("latency.export_to_screen_p95", p95, "s", limit, goal="≤ refresh interval + 50 ms",
                max_s=round(max(lat), 4), p95_to_panes_updated_s=round(_pct(upd, 0.95), 4), **common),
    ]
    if problems:
        for f in figs:
            f.met = False
    return figs


def refresh(n: int = 60, idle_seconds: float = 10.0, events: int = 100_000, sessions: int = 1_000,
            log=print) -> list[Figure]:
    res = _run("refresh", "--n", str(n), "--idle-seconds", str(idle_seconds), "--events", str(events),
               "--sessions", str(sessions))
    cpu = [c for c, _, _ in res["samples"]]
    wall = [w for _, w, _ in res["samples"]]
    sync = [s for _, _, s in res["samples"]]
    p95 = _pct(cpu, 0.95)
    idle = res["idle_cpu"] * 100
    log(f"  refresh p95 {p95 * 1000:.1f} ms CPU (p50 {_pct(cpu, 0.5) * 1000:.1f}), idle {idle:.2f} % of a core")
    held = res["held"]
    return [
        at_most("refresh.full_p95", p95, "s", REFRESH_BUDGET_S, goal="≤ 30 ms",
                p50_s=round(_pct(cpu, 0.5), 4), wall_p95_s=round(_pct(wall, 0.95), 4),
                refresh_now_p95_s=round(_pct(sync, 0.95), 4), first_refresh_s=round(res["first"].get("sync_s", 0), 4),
                sessions=held["sessions"], events=held["events"], refreshes=len(cpu)),
        at_most("refresh.idle_cpu", idle, "% of a core", IDLE_BUDGET, goal="≤ 1 % of a core",
                seconds=idle_seconds, refresh_interval_s=res["interval"], sessions=held["sessions"]),
    ]
