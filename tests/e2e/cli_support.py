"""What the real-CLI tests share: finding the CLI, the mock API, a first-run-free home, tmux.

Opt-in: CCMON_E2E=1 and CLAUDE_BIN (or ``claude`` on PATH); the tmux tests also need tmux.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

MOCK = Path(__file__).with_name("mock_anthropic.py")


def claude_bin(*, tmux: bool = False) -> str:
    """The CLI to run, or a skip saying how to opt in."""
    if os.environ.get("CCMON_E2E") != "1":
        pytest.skip("set CCMON_E2E=1 (and CLAUDE_BIN) to run the real Claude Code CLI")
    path = os.environ.get("CLAUDE_BIN") or shutil.which("claude")
    if not path:
        pytest.skip("no Claude Code CLI: set CLAUDE_BIN")
    if tmux and not shutil.which("tmux"):
        pytest.skip("needs tmux")
    return path


def telemetry_env(home: Path, api_port: int, endpoint: str, protocol: str = "grpc", **extra: str) -> dict[str, str]:
    """The environment of a CLI that talks to the mock API and exports to ``endpoint`` at
    Claude Code's default intervals (``extra`` adds or overrides, e.g. the intervals). Any other
    host it tries goes to the mock, which refuses CONNECT: nothing leaves the machine."""
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "TERM": "xterm-256color",
        "ANTHROPIC_BASE_URL": f"http://127.0.0.1:{api_port}",
        "ANTHROPIC_API_KEY": "sk-ant-dummy",
        "CLAUDE_CODE_ENABLE_TELEMETRY": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_AUTOUPDATER": "1",
        "OTEL_METRICS_EXPORTER": "otlp",
        "OTEL_LOGS_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
        **{k: f"http://127.0.0.1:{api_port}" for k in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy")},
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
        **extra,
    }


def first_run_done(home: Path, work: Path, *, api_key: str | None = None) -> None:
    """``home/.claude.json`` answering the first-run dialogs (onboarding, folder trust and,
    with ``api_key``, the custom API key), so the interactive CLI starts straight away."""
    (home / ".claude").mkdir(parents=True, exist_ok=True)
    work.mkdir(exist_ok=True)
    state: dict = {
        "hasCompletedOnboarding": True,
        "theme": "dark",
        "numStartups": 5,
        "projects": {str(work): {"hasTrustDialogAccepted": True, "hasCompletedProjectOnboarding": True}},
    }
    if api_key:
        state["customApiKeyResponses"] = {"approved": [api_key], "rejected": []}
    (home / ".claude.json").write_text(json.dumps(state))


class Tmux:
    """A tmux server of our own (its own socket), killed by name at the end."""

    def __init__(self, name: str) -> None:
        self.sock = f"ccmon-e2e-{name}-{os.getpid()}"

    def __call__(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.sock, *args], capture_output=True, text=True, timeout=30).stdout

    def screen(self, target: str) -> str:
        return self("capture-pane", "-p", "-t", target)

    def window(self, name: str, width: int, height: int, command: str, pythonpath: str) -> None:
        """A detached session ``name`` of ``width``×``height`` running ``command`` (a shell line)
        with ``pythonpath``; pytest's COLUMNS/LINES would override the window's size."""
        self(
            "new-session",
            "-d",
            "-s",
            name,
            "-x",
            str(width),
            "-y",
            str(height),
            "env",
            "-u",
            "COLUMNS",
            "-u",
            "LINES",
            f"PYTHONPATH={pythonpath}",
            "sh",
            "-c",
            command,
        )

    def kill(self) -> None:
        self("kill-server")
