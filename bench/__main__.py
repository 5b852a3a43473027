"""``python -m bench``: every figure of issue 6, a table, ``results/latest.json``, the README.

    python -m bench                    # everything, a few minutes (see README for the budget)
    python -m bench --quick            # smaller and shorter: a smoke test, not the figures
    python -m bench --only ingest      # one group: startup ingest latency refresh viewer memory restart soak
                                       #   prometheus statusline hardening
    python -m bench --soak-seconds 600 # the issue's full 10-minute soak

Only a full run (no --quick, no --only) rewrites results/latest.json and the README's table;
the others write results/quick.json or results/partial.json.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from . import report
from .figures import Figure, missing

GROUPS = (
    "startup",
    "ingest",
    "latency",
    "refresh",
    "viewer",
    "memory",
    "restart",
    "soak",
    "prometheus",
    "statusline",
    "hardening",
    "guardrails",
)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="smaller loads and shorter runs (not the real figures)")
    p.add_argument(
        "--only",
        action="append",
        choices=GROUPS,
        metavar="NAME",
        help=f"run only this group (repeatable): {', '.join(GROUPS)}",
    )
    p.add_argument(
        "--soak-seconds",
        type=float,
        default=None,
        help="length of the memory soak (default 120; 30 with --quick; the issue's is 600)",
    )
    p.add_argument("--senders", type=int, default=32, help="concurrent senders for the ingest figure")
    a = p.parse_args(argv)
    groups = a.only or list(GROUPS)
    q = a.quick
    soak_s = a.soak_seconds or (30.0 if q else 120.0)
    options = {"quick": q, "only": a.only, "soak_seconds": soak_s, "senders": a.senders}

    # Make ccmon importable for the children even when it is not installed.
    os.environ["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent) + (
        os.pathsep + os.environ["PYTHONPATH"] if os.environ.get("PYTHONPATH") else ""
    )
    mach = report.machine()
    print(
        f"ccmon benchmarks on {mach['cpu']} ({mach['cores']} cores), {mach['python']}, load {mach['loadavg_start']:.2f}"
    )
    figures: list[Figure] = []
    started = time.monotonic()
    tmp = tempfile.TemporaryDirectory(prefix="ccmon-bench-")
    db = Path(tmp.name) / "million.db"
    built: dict = {}
    events, sessions = (200_000, 2_000) if q else (1_000_000, 10_000)

    def run(group: str, fn: Callable[[], list[Figure]]) -> None:
        if group not in groups:
            return
        print(f"[{group}]", flush=True)
        t = time.monotonic()
        try:
            figures.extend(fn())
        except Exception as exc:  # one broken figure must not hide the others
            traceback.print_exc()
            figures.append(missing(group, "", f"{type(exc).__name__}: {exc}"))
        print(f"  ({time.monotonic() - t:.0f} s)", flush=True)

    def memory_figs() -> list[Figure]:
        built.update(memory.build(db, events, sessions))
        fig = memory.rss_figure(built, events, sessions)
        print(
            f"  RSS after {built['events']:,} events / {built['sessions']:,} sessions: {fig.value:.0f} MB "
            f"(ingest {built['ingest_s']:.0f} s)"
        )
        return [fig]

    def restart_figs() -> list[Figure]:
        if not built:
            built.update(memory.build(db, events, sessions))
        fig = memory.restart(db, built, sessions)
        print(f"  restart {fig.value:.2f} s ({fig.detail['verify']})")
        return [fig]

    def guardrail_figs() -> list[Figure]:
        if not built:
            built.update(memory.build(db, events, sessions))
        return guardrails.measure(db, built, runs=10 if q else 30)

    from . import dashboard, guardrails, hardening, ingest, memory, prometheus, startup, statusline

    run("startup", lambda: startup.measure(runs=7 if q else 15, frame_runs=3 if q else 7))
    run(
        "ingest",
        lambda: [
            f
            for proto in ("grpc", "http")
            for f in ingest.measure(proto, senders=a.senders, seconds=2.0 if q else 4.0, repeats=1 if q else 2)
        ],
    )
    run("latency", lambda: dashboard.latency(n=20 if q else 60))
    run(
        "refresh",
        lambda: dashboard.refresh(n=20 if q else 60, idle_seconds=5.0 if q else 10.0, events=20_000 if q else 100_000),
    )
    run("viewer", lambda: dashboard.viewer(n=20 if q else 60, idle_seconds=5.0 if q else 10.0))
    run("memory", memory_figs)
    run("restart", restart_figs)
    run("soak", lambda: [memory.soak(soak_s)])
    run("prometheus", lambda: prometheus.measure(polls=3 if q else 5))
    run("statusline", lambda: statusline.measure(runs=15 if q else 40))
    run("hardening", hardening.measure)
    run("guardrails", guardrail_figs)
    tmp.cleanup()

    took = time.monotonic() - started
    mach["loadavg_end"] = os.getloadavg()[0]
    print()
    print(report.table_text(figures))
    print(f"\n{len(figures)} figures in {took / 60:.1f} min; {sum(f.met is False for f in figures)} miss their goal.")
    results = Path(__file__).resolve().parent / "results"
    if q or a.only:
        out = results / ("quick.json" if q else "partial.json")
        report.write_json(out, mach, figures, options)
        print(
            f"wrote {out.relative_to(Path.cwd()) if out.is_relative_to(Path.cwd()) else out} "
            "(latest.json and the README change only on a full run)"
        )
    else:
        report.write_json(results / "latest.json", mach, figures, options)
        report.update_readme(mach, figures, options, took)
        print("wrote bench/results/latest.json and bench/README.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
