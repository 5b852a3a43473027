"""Figure of issue 15: ``ccmon statusline`` wall time per call.

Claude Code runs the status-line command on every change (debounced 300 ms) and a new trigger
aborts a run still in flight, so each call must be short. Measured as Claude Code pays it:
spawn of the installed ``ccmon statusline`` (the console script next to this Python, else
``python -m ccmon``) with a captured 2.1.330 status-line JSON (plan limits, prompt cache, a
repository) on stdin, to its exit, ``runs`` times each:

* ``statusline.no_receiver``: no ccmon running (the POST is refused at once) and no database;
* ``statusline.with_receiver``: a real ``ccmon serve`` on free ports with a database holding a
  captured session, so the line reads today's cost from SQLite and the JSON is POSTed and
  stored. Every call uses a new session id, and afterwards the database must hold all of them
  (fire and forget must still deliver).

Beside each, alternately in the same loop, ``python -c pass`` (the interpreter's start-up, the
floor of any Python command) and, when it is installed (``npm install ccusage``, found on PATH
or in ``$CCUSAGE_BIN``), ``ccusage statusline`` on the same input. Goal: p95 ≤ 80 ms.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .figures import Figure, at_most
from .proc import ROOT, env

GOAL_S = 0.080
EXAMPLE = ROOT / "tests" / "data" / "statusline" / "example-2.1.330-oauth-rl-git-vim.json"


def _ccmon() -> list[str]:
    script = Path(sys.executable).parent / "ccmon"
    return [str(script)] if script.exists() else [sys.executable, "-m", "ccmon"]


def _wall(cmd: list[str], stdin: bytes, e: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, input=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=e, cwd=ROOT, timeout=30)
    return time.perf_counter() - t0


def _p95(xs: list[float]) -> float:
    return statistics.quantiles(xs, n=20, method="inclusive")[-1]


def _ccusage() -> str | None:
    return os.environ.get("CCUSAGE_BIN") or shutil.which("ccusage")


def _inputs(n: int) -> list[bytes]:
    d = json.loads(EXAMPLE.read_text())
    out = []
    for i in range(n):
        d["session_id"] = f"bench-{i:04d}-0000-0000-000000000000"
        out.append(json.dumps(d, separators=(",", ":")).encode())
    return out


def _loop(runs: int, ccmon: list[str], e: dict[str, str], log) -> dict[str, list[float]]:
    ccu = _ccusage()
    times: dict[str, list[float]] = {"ccmon": [], "python": [], "ccusage": []}
    inputs = _inputs(runs + 1)
    _wall(ccmon, inputs[-1], e)  # warm the page cache and the .pyc files
    _wall([sys.executable, "-c", "pass"], b"", e)
    for stdin in inputs[:runs]:
        times["ccmon"].append(_wall(ccmon, stdin, e))
        times["python"].append(_wall([sys.executable, "-c", "pass"], b"", e))
        if ccu:
            times["ccusage"].append(_wall([ccu, "statusline", "--offline"], stdin, e))
    return times


def _figure(name: str, times: dict[str, list[float]], log, **detail) -> Figure:
    c, p = times["ccmon"], times["python"]
    p95, med = _p95(c), statistics.median(c)
    extra = ""
    if times["ccusage"]:
        detail["ccusage_statusline_median_s"] = round(statistics.median(times["ccusage"]), 4)
        detail["ccusage_statusline_p95_s"] = round(_p95(times["ccusage"]), 4)
        extra = f", ccusage statusline median {statistics.median(times['ccusage']) * 1000:.0f} ms"
    else:
        detail["ccusage_statusline"] = "not installed"
    log(
        f"  {name}: p95 {p95 * 1000:.0f} ms, median {med * 1000:.0f} ms "
        f"(python -c pass median {statistics.median(p) * 1000:.0f} ms{extra})"
    )
    return at_most(
        name,
        p95,
        "s",
        GOAL_S,
        goal="p95 ≤ 80 ms",
        median_s=round(med, 4),
        over_python_median_s=round(med - statistics.median(p), 4),
        python_c_pass_median_s=round(statistics.median(p), 4),
        python_c_pass_p95_s=round(_p95(p), 4),
        runs=len(c),
        **detail,
    )


def measure(runs: int = 40, log=print) -> list[Figure]:
    ccmon = [*_ccmon(), "statusline"]
    with tempfile.TemporaryDirectory(prefix="ccmon-bench-sl-") as tmp:
        e = {**env(), "XDG_DATA_HOME": str(Path(tmp) / "xdg")}
        # No ccmon: a port nothing listens on (bound, then closed), no database.
        import socket

        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
        s.close()
        figs = [_figure("statusline.no_receiver", _loop(runs, [*ccmon, "--http-port", str(dead)], e, log), log)]

        db = Path(tmp) / "ccmon.db"
        sys.path.insert(0, str(ROOT / "tests"))
        from app_support import ingest_capture  # a captured session, so today's cost has rows to sum

        from ccmon.model.store import Store

        store = Store(db, retention_days=0)
        ingest_capture(store, "2.1.330", "grpc/all")
        store.close()
        srv = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ccmon",
                "serve",
                "--db",
                str(db),
                "--grpc-port",
                "0",
                "--http-port",
                "0",
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
            m = re.search(r"http [\d.]+:(\d+)", banner)
            if not m:
                raise RuntimeError(f"ccmon serve did not start: {banner}")
            port = m.group(1)
            times = _loop(runs, [*ccmon, "--http-port", port, "--db", str(db)], e, log)
            deadline = time.monotonic() + 5
            while True:
                conn = sqlite3.connect(db)
                stored = conn.execute("SELECT COUNT(*) FROM statusline_sessions WHERE session LIKE 'bench-%'")
                n = stored.fetchone()[0]
                conn.close()
                if n >= runs + 1 or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
        finally:
            srv.terminate()
            srv.wait(10)
        figs.append(_figure("statusline.with_receiver", times, log, delivered=f"{n} of {runs + 1}"))
        if n != runs + 1:
            figs[-1].met = False
    return figs
