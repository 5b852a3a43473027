"""`ccmon report --prometheus URL --by ... --format ...` against a real Prometheus: the same
report from the metrics, with the event-only parts null and said so."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from prom_data import HAIKU, OPUS, PLATFORM, SONNET, aligned_now, team_history
from prom_server import free_port, prometheus  # noqa: F401  (fixture)

pytestmark = pytest.mark.prometheus


def ccmon(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ccmon", *argv], capture_output=True, text=True, timeout=60)


@pytest.fixture
def url(prometheus):
    prometheus.push(team_history(aligned_now()))
    return prometheus.url


def test_by_user_and_model_from_prometheus(url):
    run = ccmon("report", "--prometheus", url, "--match", PLATFORM, "--since", "1d", "--by", "user", "--format", "json")
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert [(r["key"], r["cost_usd"], r["sessions"]) for r in data["rows"]] == [
        ("u-bob", 10.0, 1),
        ("u-alice", 7.2, 1),
        ("u-carol", 0.5, 1),
    ]
    assert data["rows"][0]["tokens"] == {"input": 2680, "output": 1000, "cacheRead": 0, "cacheCreation": 1600}
    assert data["rows"][0]["requests"] is None  # needs events
    assert data["needs_events"] == ["requests", "errors", "api_errors_by_model"]
    s = data["summary"]
    assert (s["cost_usd"], s["commits"], s["pull_requests"], s["lines_added"], s["lines_removed"]) == (
        17.7,
        2,
        1,
        43,
        11,
    )
    assert s["acceptance"] == {
        "human": {"accepted": 5, "decided": 6, "rate": round(5 / 6, 6)},
        "automatic": {"accepted": 2, "decided": 2, "rate": 1.0},
    }
    assert data["stuck"]["rejections_by_tool"] == {"Edit": 1} and data["stuck"]["api_errors_by_model"] is None
    models = json.loads(
        ccmon(
            "report", "--prometheus", url, "--match", PLATFORM, "--since", "1d", "--by", "model", "--format", "json"
        ).stdout
    )
    assert [(r["key"], r["cost_usd"]) for r in models["rows"]] == [(OPUS, 10.0), (SONNET, 6.5), (HAIKU, 1.2)]


def test_md_from_prometheus_says_what_needs_events(url):
    run = ccmon("report", "--prometheus", url, "--match", PLATFORM, "--since", "1d", "--format", "md")
    assert run.returncode == 0, run.stderr
    md = run.stdout
    assert "| Cost | $17.7000 |" in md
    assert "| Edit acceptance, by a person | 83.3% (5 of 6) |" in md
    assert "| API requests / errors | n/a (needs events: OTEL_LOGS_EXPORTER=otlp into ccmon) |" in md
    assert "- n/a: needs events (the Prometheus export has no API error events)" in md
    assert "- Edit: 1" in md
    bad = ccmon("report", "--prometheus", url, "--by", "day", "--until", "1d")
    assert bad.returncode == 2 and "--until reads the ccmon store" in bad.stderr
