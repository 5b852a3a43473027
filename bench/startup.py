"""Figure 4, start-up.

``ccmon --version``: wall time of the installed ``ccmon`` command (the console script next
to this Python, else ``python -m ccmon``) from spawn to exit, median of ``runs``, against the
0.15 s budget; and against a bare ``python -c pass`` run alternately in the same loop, which is
the floor no Python CLI can beat (interpreter start-up), so the ratio says what ccmon adds.

First frame: wall time from spawning the process to Textual's first rendered frame, headless
at 160×48, for the real dashboard (``firstframe_child ccmon``) and for a bare Textual app with
the same widgets and stylesheet (``bare_app``), alternated, medians. Goal ≤ 1.3× the bare app.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from .figures import Figure, at_most
from .proc import ROOT, env

VERSION_BUDGET_S = 0.15


def _ccmon_cmd() -> list[str]:
    script = Path(sys.executable).parent / "ccmon"
    return [str(script), "--version"] if script.exists() else [sys.executable, "-m", "ccmon", "--version"]


def _wall(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env(), cwd=ROOT)
    return time.perf_counter() - t0


def _first_frame(which: str) -> dict[str, float]:
    t0 = time.time()
    out = subprocess.run(
        [sys.executable, "-m", "bench.firstframe_child", which],
        check=True,
        capture_output=True,
        text=True,
        env=env(),
        cwd=ROOT,
        timeout=60,
    )
    stamps = json.loads(out.stdout.strip().splitlines()[-1])
    return {k: v - t0 for k, v in stamps.items()}


def measure(runs: int = 15, frame_runs: int = 7, log=print) -> list[Figure]:
    ccmon_cmd = _ccmon_cmd()
    _wall(ccmon_cmd)  # warm the page cache and the .pyc files for both
    _wall([sys.executable, "-c", "pass"])
    version, bare_py = [], []
    for _ in range(runs):
        version.append(_wall(ccmon_cmd))
        bare_py.append(_wall([sys.executable, "-c", "pass"]))
    v, p = statistics.median(version), statistics.median(bare_py)
    log(f"  ccmon --version {v * 1000:.0f} ms (python -c pass {p * 1000:.0f} ms)")
    figs = [
        at_most(
            "startup.version",
            v,
            "s",
            VERSION_BUDGET_S,
            goal="≤ 0.15 s",
            python_c_pass_s=round(p, 4),
            ratio_vs_python=round(v / p, 2),
            command=" ".join(Path(c).name for c in ccmon_cmd),
            runs=runs,
        )
    ]

    try:
        _first_frame("bare")  # warm-up: .pyc files, page cache
        _first_frame("ccmon")
        ccmon, bare = [], []
        for _ in range(frame_runs):
            bare.append(_first_frame("bare"))
            ccmon.append(_first_frame("ccmon"))
    except (subprocess.CalledProcessError, ImportError) as exc:
        err = getattr(exc, "stderr", "") or str(exc)
        figs.append(
            Figure(
                "startup.first_frame", None, "s", None, None, "≤ 1.3× bare Textual app", False, {"error": err[-2000:]}
            )
        )
        return figs
    c = statistics.median(r["ready"] for r in ccmon)
    b = statistics.median(r["ready"] for r in bare)
    data = statistics.median(r["data"] for r in ccmon if "data" in r)
    log(f"  first frame ccmon {c * 1000:.0f} ms, bare app {b * 1000:.0f} ms, with data {data * 1000:.0f} ms")
    figs.append(
        at_most(
            "startup.first_frame",
            c,
            "s",
            b,
            max_ratio=1.3,
            goal="≤ 1.3× bare Textual app",
            first_frame_with_data_s=round(data, 4),
            bare_app_s=round(b, 4),
            runs=frame_runs,
            all_ccmon_s=[round(r["ready"], 3) for r in ccmon],
            all_bare_s=[round(r["ready"], 3) for r in bare],
        )
    )
    return figs
