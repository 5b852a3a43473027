"""Figures of issue 16 on the 1,000,000-event store (built by the memory group, reused here):

* ``guardrails.check_wall``: ``ccmon check`` as a Claude Code hook pays it: spawn of the
  installed command (``--daily/--weekly/--monthly/--session`` set, so every budget query runs,
  plus the alert rules' recent-minute reads) to its exit. Median of ``runs``, p95 in the detail,
  with ``python -c pass`` measured alternately as the floor. Goal ≤ 100 ms.
* ``guardrails.report_30d_by_day``: ``ccmon report --since 30d --by day --format json`` wall time,
  its total cost checked against what the build stored. Goal ≤ 1 s.

ccmon's bytecode is compiled first (``compileall``), as ``pip install`` does and as any later
run of an installed command finds it: with ``PYTHONDONTWRITEBYTECODE`` set (as on the machine
these figures were first taken on) every spawn otherwise compiled ccmon's modules from source,
~40 ms of each ``ccmon check`` that no user pays. One untimed run of each command comes first.
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

CHECK_GOAL_S = 0.100
REPORT_GOAL_S = 1.0


def _ccmon() -> list[str]:
    script = Path(sys.executable).parent / "ccmon"
    return [str(script)] if script.exists() else [sys.executable, "-m", "ccmon"]


def _wall(cmd: list[str], e: dict[str, str]) -> tuple[float, subprocess.CompletedProcess]:
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, env=e, cwd=ROOT, timeout=120)
    return time.perf_counter() - t0, out


def measure(db: Path, built: dict, runs: int = 30) -> list[Figure]:
    e = env()
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "ccmon")], check=True, env=e, cwd=ROOT)
    e["XDG_CONFIG_HOME"] = str(db.parent / "no-config")
    check = [
        *_ccmon(),
        "check",
        "--db",
        str(db),
        "--daily",
        "100000",
        "--weekly",
        "100000",
        "--monthly",
        "100000",
        "--session",
        "1000",
    ]
    _wall(check, e)  # untimed: the cost-series cache file is written once per database
    walls, floor = [], []
    code = None
    for _ in range(runs):
        w, out = _wall(check, e)
        walls.append(w)
        code = out.returncode
        floor.append(_wall([sys.executable, "-c", "pass"], e)[0])
    walls.sort()
    p95 = statistics.quantiles(walls, n=20, method="inclusive")[-1]
    check_fig = at_most(
        "guardrails.check_wall",
        statistics.median(walls),
        "s",
        CHECK_GOAL_S,
        goal="≤ 100 ms",
        p95_s=round(p95, 4),
        python_c_pass_median_s=round(statistics.median(floor), 4),
        exit_code=code,
        runs=runs,
        bytecode="compiled",
        events=built.get("events"),
    )
    print(
        f"  ccmon check median {check_fig.value * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms "
        f"(python -c pass {statistics.median(floor) * 1000:.0f} ms), exit {code}"
    )

    report = [*_ccmon(), "report", "--db", str(db), "--since", "30d", "--by", "day", "--format", "json"]
    _wall(report, e)  # untimed
    rwalls = []
    total = None
    for _ in range(3):
        w, out = _wall(report, e)
        rwalls.append(w)
        if out.returncode == 0:
            total = json.loads(out.stdout)["summary"]["cost_usd"]
    expected = built.get("cost")
    verify = (
        "ok"
        if total is not None and expected is not None and abs(total - expected) < 1e-6 * max(1, expected)
        else f"report total {total} vs stored {expected}"
    )
    report_fig = at_most(
        "guardrails.report_30d_by_day",
        statistics.median(rwalls),
        "s",
        REPORT_GOAL_S,
        goal="≤ 1 s",
        runs=3,
        bytecode="compiled",
        total_cost=total,
        verify=verify,
        events=built.get("events"),
    )
    print(f"  report --since 30d --by day median {report_fig.value:.2f} s ({verify})")
    return [check_fig, report_fig]
