"""Issue 13's "Done when", with the real Claude Code CLI: ccmon's dashboard in a 120×30 tmux
window beside an interactive Claude Code at its default export intervals (metrics every 60 s,
logs every 5 s). Two headless runs first, so there are three sessions.

Within seconds of the interactive call its cost is on ccmon's screen, marked ``~``
(provisional: from its api_request event); when the 60 s metric export arrives the same figure
stands unmarked. Every headline figure and three session rows are on the 120×30 screen.

Opt-in like the other e2e tests: CCMON_E2E=1 and CLAUDE_BIN (or ``claude`` on PATH); needs tmux.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_support import MOCK, Tmux, claude_bin, first_run_done, telemetry_env
from otlp_client import free_port, report, wait_until

pytestmark = pytest.mark.e2e
TOTAL = re.compile(r"Total (~?)\$(\d+\.\d{4})")


def test_real_cli_beside_ccmon_in_a_120x30_split(tmp_path):
    claude = claude_bin(tmux=True)
    api_port, grpc_port, http_port = free_port(), free_port(), free_port()
    mock = subprocess.Popen(
        [sys.executable, str(MOCK), str(api_port)],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "MOCK_LOG": str(tmp_path / "mock.jsonl")},
    )
    home, work, db = tmp_path / "home", tmp_path / "work", tmp_path / "ccmon.db"
    first_run_done(home, work, api_key="sk-ant-dummy")
    env = telemetry_env(home, api_port, f"http://127.0.0.1:{grpc_port}")  # default intervals
    tmux = Tmux("split")
    try:
        dash = f"{sys.executable} -m ccmon --db {db} --grpc-port {grpc_port} --http-port {http_port} --retention-days 0"
        tmux.window("ccmon", 120, 30, dash, str(Path(__file__).resolve().parents[2]))
        assert wait_until(lambda: "Waiting for Claude Code's telemetry" in tmux.screen("ccmon"), 30)
        for n in range(2):  # two headless sessions (they flush their metrics at exit)
            subprocess.run(
                ["env", "-i", *(f"{k}={v}" for k, v in env.items()), claude, "-p", f"say hello {n}"],
                cwd=work,
                timeout=120,
                capture_output=True,
            )

        def counted() -> re.Match[str] | None:  # a total on screen, not marked provisional
            m = TOTAL.search(tmux.screen("ccmon"))
            return m if m is not None and m.group(1) == "" else None

        # Their exit flush: events, then the metrics (then the total is no longer marked).
        assert wait_until(lambda: counted() is not None, 30), tmux.screen("ccmon")
        before = counted()
        assert before is not None
        cli = " ".join(["env", "-i", *(f"{k}={v}" for k, v in env.items()), claude, "--permission-mode", "default"])
        tmux("new-session", "-d", "-s", "claude", "-x", "120", "-y", "30", "-c", str(work), cli)
        time.sleep(8)
        tmux("send-keys", "-t", "claude", "hello there")
        time.sleep(0.5)
        asked = time.monotonic()
        tmux("send-keys", "-t", "claude", "Enter")

        def moved() -> re.Match[str] | None:
            m = TOTAL.search(tmux.screen("ccmon"))
            return m if m is not None and m.group(1) == "~" else None

        # The call's cost within seconds (its log export: every 5 s), marked provisional.
        assert wait_until(lambda: moved() is not None, 20), tmux.screen("ccmon")
        within = time.monotonic() - asked
        provisional = moved()
        assert provisional is not None and float(provisional.group(2)) > float(before.group(2))
        shown = tmux.screen("ccmon")
        for figure in ("today ~$", "burn 5m ", " tok/min", "cache hit ", " sessions · "):
            assert figure in shown, shown
        rows = [line for line in shown.splitlines() if re.search(r"[0-9a-f]{8}-", line)]
        assert len(rows) >= 3, shown
        # The metric export (60 s after the CLI started exporting): the same total, unmarked.
        assert wait_until(lambda: counted() is not None, 90), tmux.screen("ccmon")
        settled = counted()
        assert settled is not None and settled.group(2) == provisional.group(2), tmux.screen("ccmon")
        print(f"provisional cost on screen {within:.1f} s after Enter; metric later, same ${settled.group(2)}")
    finally:
        tmux("send-keys", "-t", "claude", "C-c")
        tmux("send-keys", "-t", "ccmon", "q")
        time.sleep(1)
        tmux.kill()
        mock.terminate()
        mock.wait(10)
    r = report(db)
    assert len(r["sessions"]) == 3 and f"{r['cost_usd']:.4f}" == settled.group(2)
