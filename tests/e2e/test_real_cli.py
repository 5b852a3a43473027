"""The real Claude Code CLI, headless against a mock Anthropic API, exporting into `ccmon serve`.

Opt-in (it needs the CLI, a ~380 MB npm package): set CCMON_E2E=1 and CLAUDE_BIN to a
`claude` binary (e.g. `npm install @anthropic-ai/claude-code` then
node_modules/.bin/claude), or have `claude` on PATH. Any CLI version works: the assertions
are exact but derived from what the CLI itself reported (token counts fixed by the mock,
cost from its api_request events), not from one version's price table.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from cli_support import MOCK, claude_bin, telemetry_env
from otlp_client import ServeProcess, free_port, report, wait_until

pytestmark = pytest.mark.e2e
CALL_TOKENS = {"input": 1234, "output": 567, "cacheRead": 8901, "cacheCreation": 2345}  # the mock's usage


@pytest.fixture
def mock_api(tmp_path):
    port = free_port()
    env = {**os.environ, "MOCK_LOG": str(tmp_path / "mock.jsonl"), "MOCK_SCENARIO": "write"}
    proc = subprocess.Popen(
        [sys.executable, str(MOCK), str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    import socket

    def up() -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            return False

    assert wait_until(up, 10)
    yield port
    proc.terminate()
    proc.wait(10)


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf", "http/json"])
@pytest.mark.parametrize("temporality", ["delta", "cumulative"])
def test_real_cli_export_is_counted_exactly(tmp_path, mock_api, protocol, temporality):
    claude = claude_bin()
    db = tmp_path / "ccmon.db"
    srv = ServeProcess(db, "--retention-days", "0")
    home = tmp_path / "home"
    work = tmp_path / "work"
    home.mkdir()
    work.mkdir()
    port = srv.grpc_port if protocol == "grpc" else srv.http_port
    env = telemetry_env(
        home,
        mock_api,
        f"http://127.0.0.1:{port}",
        protocol,
        OTEL_METRIC_EXPORT_INTERVAL="1000",
        OTEL_LOGS_EXPORT_INTERVAL="1000",
        OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=temporality,
    )
    try:
        run = subprocess.run(
            [claude, "-p", "hello", "--permission-mode", "acceptEdits", "--allowedTools", "Write"],
            env=env,
            cwd=work,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 0, run.stderr
        r = wait_until(lambda: (x := report(db)) and x["events"].get("api_request") and x["lines"]["added"] and x, 10)
    finally:
        srv.stop()
    calls = r["events"]["api_request"]
    assert calls == 2  # the tool_use reply, then the text reply
    assert r["tokens"] == {k: v * calls for k, v in CALL_TOKENS.items()}
    assert r["lines"] == {"added": 4, "removed": 0}  # "line one\nline two\nline three\n"
    assert [(e["tool_name"], e["decision"]) for e in r["edit_decisions"]] == [("Write", "accept")]
    (s,) = r["sessions"]
    assert s["tokens"] == r["tokens"]
    import sqlite3

    conn = sqlite3.connect(db)
    event_cost = conn.execute(
        "SELECT SUM(json_extract(attrs, '$.cost_usd')) FROM events WHERE name = 'api_request'"
    ).fetchone()[0]
    conn.close()
    assert r["cost_usd"] == round(event_cost, 10) > 0
