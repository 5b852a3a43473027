"""``ccmon report --prometheus URL`` as a user runs it: a real process against a real
Prometheus, exact figures, and one clear line on failure."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime

import pytest
from prom_data import PLATFORM, aligned_now, expected_report, team_history
from prom_server import free_port, prometheus  # noqa: F401  (fixture)

pytestmark = pytest.mark.prometheus


def ccmon(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ccmon", *argv], capture_output=True, text=True, timeout=60)


@pytest.fixture
def team(prometheus):
    """The team history ending at most 5 minutes before the report runs (on the real clock)."""
    end_s = aligned_now()
    prometheus.push(team_history(end_s))
    return prometheus.url, end_s


def test_report_json_has_the_exact_figures(team):
    url, end_s = team
    run = ccmon("report", "--prometheus", url, "--match", PLATFORM, "--json")
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    # today and the burn rates depend on the time of asking (tested in test_counting_e2e)
    assert set(data["burn_usd_per_hour"]) == {"5m", "1h"} and data["today_usd"] >= 0
    timed = ("source", "since", "naming", "today_usd", "burn_usd_per_hour", "other_telemetry")
    assert {k: v for k, v in data.items() if k not in timed} == expected_report(end_s)
    assert data["source"] == url
    assert data["naming"].startswith("OTel Collector naming: claude_code_cost_usage_USD_total")


def test_report_since_is_what_was_spent_in_the_window(team):
    """As in OTLP mode: only growth after the window's start counts. Bob started inside the
    2 h (his first sample counts whole), alice just before it, carol 4 h ago."""
    url, end_s = team
    data = json.loads(ccmon("report", "--prometheus", url, "--match", PLATFORM, "--since", "2h", "--json").stdout)
    assert [s["session_id"] for s in data["sessions"]] == ["sess-alice", "sess-bob"]  # carol ended 3 h ago
    since_s = datetime.fromisoformat(data["since"].replace("Z", "+00:00")).timestamp()
    # alice's newest sample before the window is what she held; each later one adds a minute
    alice_minutes = sum(1 for k in range(121) if end_s - 7200 + 60 * k > since_s)
    assert 115 <= alice_minutes <= 120
    assert data["cost_usd"] == round(10.0 + 0.06 * alice_minutes, 10)
    assert data["sessions_started"] == 1  # bob's; alice's session count was already 1 before
    assert data["lines"] == {"added": 3, "removed": 1}  # bob's first sample; alice's lines are older


def test_report_text(team):
    url, _ = team
    run = ccmon("report", "--prometheus", url, "--match", PLATFORM)
    assert run.returncode == 0, run.stderr
    assert "cost            $17.7000" in run.stdout
    assert "cache hit rate  60.0%" in run.stdout
    assert "sessions        3" in run.stdout


@pytest.mark.parametrize(
    "argv, code, message",
    [
        (
            ["--prometheus", "http://127.0.0.1:{port}"],
            1,
            "ccmon: prometheus at http://127.0.0.1:{port}: cannot connect: Connection refused",
        ),
        (
            ["--prometheus", "127.0.0.1:9090"],
            2,
            "ccmon: --prometheus needs an http(s) URL such as http://prometheus:9090, not '127.0.0.1:9090'",
        ),
        (
            ["--prometheus", "http://127.0.0.1:{port}", "--header", "Bearer s3cret"],
            2,
            "ccmon: --header must look like 'Name: value', e.g. 'Authorization: Bearer TOKEN'",
        ),
    ],
)
def test_report_failures_are_one_line(argv, code, message):
    port = str(free_port())
    run = ccmon("report", *[a.replace("{port}", port) for a in argv])
    assert (run.returncode, run.stdout, run.stderr) == (code, "", message.replace("{port}", port) + "\n")


def test_report_shows_prometheus_own_error(prometheus):
    run = ccmon("report", "--prometheus", prometheus.url, "--match", '{team=~"("}')
    assert run.returncode == 1
    assert run.stderr == (
        f"ccmon: prometheus at {prometheus.url}: HTTP 400: 1:32: parse error: "
        "error parsing regexp: missing closing ): `^(?:()$`\n"
    )


def test_a_server_without_claude_code_metrics_reports_zeros_and_says_why(prometheus):
    run = ccmon("report", "--prometheus", prometheus.url, "--json")
    assert run.returncode == 0
    data = json.loads(run.stdout)
    assert (data["cost_usd"], data["sessions"], data["events"]) == (0, [], None)
    assert run.stderr == (
        f"ccmon: no Claude Code sessions at {prometheus.url} in the last 24 h: "
        "no Claude Code metrics (no metric name contains claude_code_)\n"
    )
