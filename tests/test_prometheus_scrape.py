"""End to end as deployed: Prometheus scrapes Claude Code's metrics (``fake_exporter.py``, shaped
like the OTel Collector's and Claude Code's own exporters) and ccmon reads Prometheus.

One Prometheus for the module (its first scrape takes ~6 s) scrapes four pipelines, told apart
by a ``pipeline`` target label that ``--match`` selects. Values grow with wall time here, so
the assertions are about shape and naming; exact figures are in test_prometheus_source.py.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import pytest
from prom_server import Prometheus, fake_exporter  # noqa: F401  (fixture)

from ccmon.ingest.prometheus.config import Config
from ccmon.ingest.prometheus.source import PrometheusSource

pytestmark = pytest.mark.prometheus
PIPELINES = {
    # name: (metrics path, honor_labels, the naming and label variants ccmon should report)
    "collector": (
        "/metrics",
        True,
        "OTel Collector naming: claude_code_cost_usage_USD_total; "
        "labels: session_id, user_email, tool_name, type=cacheRead, job",
    ),
    "collector-no-honor": (
        "/metrics",
        False,
        "OTel Collector naming: claude_code_cost_usage_USD_total; "
        "labels: session_id, user_email, tool_name, type=cacheRead, job + exported_job",
    ),
    "namespace": (
        "/metrics/namespace",
        True,
        "OTel Collector naming, namespace claude_code: "
        "claude_code_claude_code_cost_usage_USD_total; "
        "labels: session_id, user_email, tool_name, type=cacheRead, job",
    ),
    "claude-code-9464": (
        "/metrics/cli",
        True,
        "Claude Code's own exporter naming (:9464, no unit): "
        "claude_code_cost_usage_total; labels: session_id, user_email, tool_name, "
        "type=cacheRead, job",
    ),
}


@pytest.fixture(scope="module")
def scraping(tmp_path_factory, fake_exporter):
    jobs = tuple((name, fake_exporter, path, honor, {"pipeline": name}) for name, (path, honor, _) in PIPELINES.items())
    server = Prometheus(tmp_path_factory.mktemp("prometheus"), jobs).start()
    try:
        server.wait_scraped(len(jobs))
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize("pipeline", PIPELINES)
async def test_each_pipeline_is_read_with_its_naming(scraping, pipeline):
    source = PrometheusSource(Config(scraping.url, match=f'pipeline="{pipeline}"'))
    assert await source.poll()
    await source.stop()
    snap = source.snapshot()
    assert snap.status.naming == PIPELINES[pipeline][2]
    assert {s.user for s in snap.sessions} == {"alice@example.com", "bob@example.com"}
    assert {m.model for m in snap.models} == {
        "claude-sonnet-4-5-20250929",
        "claude-haiku-4-5-20251001",
        "claude-opus-4-1-20250805",
    }
    assert snap.cost_total > 0 and snap.tokens.cacheRead > 0 and snap.sessions_started == 2
    assert round(snap.cost_total, 6) == round(sum(s.cost for s in snap.sessions), 6)
    assert {e.tool for e in snap.edit_decisions} <= {"Edit", "Write"}
    assert all(s.first_ns <= s.last_ns <= snap.now_ns for s in snap.sessions)


def test_ccmon_report_against_a_scraping_prometheus(scraping):
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "ccmon",
            "report",
            "--prometheus",
            scraping.url,
            "--match",
            '{pipeline="collector"}',
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert len(data["sessions"]) == 2 and data["cost_usd"] > 0
    assert set(data["cost_by_model"]) == {
        "claude-sonnet-4-5-20250929",
        "claude-haiku-4-5-20251001",
        "claude-opus-4-1-20250805",
    }
    assert data["events"] is None and data["api_errors"] is None


async def test_a_session_that_ended_keeps_its_first_scrape_and_its_times(scraping, fake_exporter):
    """Last in this module: it leaves an ended session behind. A session appears already holding
    60 s of usage (as at Claude Code's first export), is scraped for a few seconds, then its
    exporter stops exposing it; Prometheus marks its series stale. A poll after that still has
    it: its first scrape counted whole, and its first and last seen are real scrape times."""
    import time

    import httpx

    def post(path: str) -> str:
        return httpx.post(f"http://{fake_exporter}{path}").text

    match = 'pipeline="collector"'
    born = time.time() - 60  # the exporter's session started 60 s before it appeared
    sid = post("/session/new")
    source = PrometheusSource(Config(scraping.url, match=match))
    try:
        for _ in range(100):
            await asyncio.sleep(0.1)
            assert await source.poll()
            if sid in {s.key for s in source.snapshot().sessions} and time.time() - born > 65:
                break
        ended = time.time()
        assert post("/session/end") == sid
        await asyncio.sleep(2.5)  # past the next scrape: its series are stale now
        assert await source.poll()
    finally:
        await source.stop()
    instant = httpx.get(
        scraping.url + "/api/v1/query",
        params={"query": f'claude_code_cost_usage_USD_total{{session_id="{sid}", {match}}}'},
    ).json()["data"]["result"]
    assert instant == []  # gone from instant queries: the staleness marker
    row = next(s for s in source.snapshot().sessions if s.key == sid)
    first_s, last_s = row.first_ns / 1e9, row.last_ns / 1e9
    assert born + 60 - 0.1 <= first_s <= born + 60 + 1.5  # the first scrape after it appeared
    assert first_s + 2 < last_s <= ended + 1.1  # the last scrape before it ended
    # Every sample counted, the first one whole: 0.002 $/s since its start, to the last sample.
    assert abs(row.cost - 0.002 * (last_s - born)) < 0.002 * 1.5
