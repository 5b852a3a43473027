"""The real Claude Code CLI, interactive in tmux, with ``ccmon statusline`` as its status line,
logged in as a claude.ai subscriber (``CLAUDE_CODE_OAUTH_TOKEN``) against the mock API, which
sends the unified rate-limit headers (``MOCK_RATELIMIT=1``). ccmon's dashboard runs in another
tmux window; its Limits pane must show the mock's utilisation, and Claude Code's status bar
ccmon's line.

Opt-in like the other e2e tests: CCMON_E2E=1 and CLAUDE_BIN (or ``claude`` on PATH); needs tmux.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_support import MOCK, Tmux, claude_bin, first_run_done
from otlp_client import free_port, report, wait_until

pytestmark = pytest.mark.e2e
UTIL_5H, UTIL_7D = 0.42, 0.17  # the mock's utilisation: 42% and 17%


def test_real_cli_statusline_shows_plan_limits_in_ccmon(tmp_path):
    claude = claude_bin(tmux=True)
    api_port, grpc_port, http_port = free_port(), free_port(), free_port()
    now = int(time.time())
    mock = subprocess.Popen(
        [sys.executable, str(MOCK), str(api_port)],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={
            **os.environ,
            "MOCK_LOG": str(tmp_path / "mock.jsonl"),
            "MOCK_RATELIMIT": "1",
            "MOCK_RL_STEP": "0",
            "MOCK_RL_5H_UTIL": str(UTIL_5H),
            "MOCK_RL_7D_UTIL": str(UTIL_7D),
            "MOCK_RL_5H_RESET": str(now + 7200),
            "MOCK_RL_7D_RESET": str(now + 3 * 86400),
        },
    )
    home, work, db = tmp_path / "home", tmp_path / "work", tmp_path / "ccmon.db"
    first_run_done(home, work)
    # What `ccmon setup --statusline` writes, with this interpreter's ccmon and the test's port.
    command = f"{sys.executable} -m ccmon statusline --http-port {http_port}"
    (home / ".claude" / "settings.json").write_text(json.dumps({"statusLine": {"type": "command", "command": command}}))
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "TERM": "xterm-256color",
        "ANTHROPIC_BASE_URL": f"http://127.0.0.1:{api_port}",
        "CLAUDE_CODE_OAUTH_TOKEN": "sk-ant-oat01-offline-dummy-token",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_AUTOUPDATER": "1",
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
        # Any other host the CLI tries (downloads, github.com) goes to the mock, which refuses
        # CONNECT: nothing leaves the machine.
        **{k: f"http://127.0.0.1:{api_port}" for k in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy")},
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }
    tmux = Tmux("statusline")
    try:
        dash = f"{sys.executable} -m ccmon --db {db} --grpc-port {grpc_port} --http-port {http_port} --retention-days 0"
        tmux.window("ccmon", 160, 48, dash, env["PYTHONPATH"])
        assert wait_until(lambda: "Waiting for Claude Code's telemetry" in tmux.screen("ccmon"), 30), tmux.screen(
            "ccmon"
        )
        cli = " ".join(["env", "-i", *(f"{k}={v}" for k, v in env.items()), claude, "--permission-mode", "default"])
        tmux("new-session", "-d", "-s", "claude", "-x", "150", "-y", "45", "-c", str(work), cli)
        time.sleep(8)  # boot, first status line (no rate_limits yet: no response so far)
        tmux("send-keys", "-t", "claude", "hello there")
        time.sleep(0.5)
        tmux("send-keys", "-t", "claude", "Enter")
        # The status line runs again ~0.3 s after the answer, now with rate_limits.
        assert wait_until(lambda: "5h 42%" in tmux.screen("claude"), 60), tmux.screen("claude")
        assert "7d 17%" in tmux.screen("claude")
        # ...and ccmon got it: the Limits pane shows the mock's utilisation with a countdown.
        assert wait_until(lambda: " 42%" in tmux.screen("ccmon") and " 17%" in tmux.screen("ccmon"), 30), tmux.screen(
            "ccmon"
        )
        shown = tmux.screen("ccmon")
        assert "resets in 1 h 5" in shown or "resets in 2 h 00 m" in shown  # 2 h minus the seconds elapsed
        assert "resets in 2 d 23 h" in shown or "resets in 3 d 00 h" in shown
    finally:
        tmux("send-keys", "-t", "ccmon", "q")
        time.sleep(1)
        tmux.kill()
        mock.terminate()
        mock.wait(10)
    r = report(db)
    assert r["plan_limits"]["five_hour"]["used_pct"] == pytest.approx(UTIL_5H * 100)
    assert r["plan_limits"]["seven_day"]["used_pct"] == pytest.approx(UTIL_7D * 100)
