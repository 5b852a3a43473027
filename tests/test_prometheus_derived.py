"""The derived figures (today, burn 5m and 1h, tokens per minute, first and last seen) on both
servers, exact, and the same as OTLP mode gives for the same activity (``prom_activity``)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from datetime import datetime

import pytest
from otlp_client import grpc_export
from prom_activity import COST, SONNET, activity, minute_of, otlp_export, remote_write_series, spent_today
from prom_server import counter, tsdb  # noqa: F401  (fixture)

from ccmon.ingest.prometheus.config import Config
from ccmon.ingest.prometheus.source import PrometheusSource
from ccmon.model.snapshot import Tokens
from ccmon.model.summary import EVENT_FIGURES, iso, report_dict

pytestmark = pytest.mark.prometheus
S_NS = 1_000_000_000


def per_source(snap) -> dict:
    """Every figure a pane or the report shows, without what names the source."""
    data = report_dict(snap)
    for k in ("source", "since", "naming", *EVENT_FIGURES, "other_telemetry"):
        data.pop(k, None)
    return {
        **data,
        "today": round(snap.cost_today, 9),
        "burn_5m": round(snap.burn_5m, 9),
        "burn_1h": round(snap.burn_1h, 9),
        "cost_per_minute": [round(x, 9) for x in snap.cost_per_minute],
        "tokens_per_minute": list(snap.tokens_per_minute),
        "tokens_last_minute": snap.tokens_last_minute,
        "cost_per_hour": {s.key: round(s.cost_per_hour, 9) for s in snap.sessions},
    }


async def poll_at(url: str, at_s: float, **kw) -> PrometheusSource:
    source = PrometheusSource(Config(url, **kw), clock=lambda: at_s)
    assert await source.poll(), source.snapshot().status.last_error
    await source.stop()
    return source


async def test_derived_figures_are_exact_and_match_otlp(tsdb, otlp):
    m = minute_of(int(time.time()))
    at_s = m * 60 + 30
    series = activity(m)
    tsdb.push(remote_write_series(series))
    prom = (await poll_at(tsdb.url, at_s)).snapshot()

    def sample_ns(minute: int, second: int) -> int:
        return (minute * 60 + second) * S_NS

    # By hand (see prom_activity): every first sample counts, a reset adds its new epoch.
    assert round(prom.cost_total, 9) == 0.70 + 2.50 + 0.65 + 0.60
    assert round(prom.burn_5m, 9) == 7.2
    assert round(prom.burn_1h, 9) == 2.25
    assert round(prom.cost_today, 9) == spent_today(series, at_s) <= round(prom.cost_total, 9)
    assert [round(x, 9) for x in prom.cost_per_minute[-5:]] == [0.30, 0.10, 0.15, 0.05, 0.0]
    assert prom.tokens_per_minute[-5:] == (1100, 550, 660, 110, 0)
    assert prom.tokens_last_minute == Tokens(input=100, output=10)
    rows = {s.key: s for s in prom.sessions}
    assert {k: (r.first_ns, r.last_ns) for k, r in rows.items()} == {
        "ended": (sample_ns(m - 200, 17), sample_ns(m - 170, 17)),
        "reset": (sample_ns(m - 90, 17), sample_ns(m - 40, 17)),
        "six": (sample_ns(m - 37, 13), sample_ns(m - 31, 13)),
        "new": (sample_ns(m - 4, 41), sample_ns(m - 1, 41)),
    }
    assert round(rows["six"].cost_per_hour, 9) == 6.5
    assert round(rows["reset"].cost, 9) == 2.5

    # OTLP mode, fed the same counters through its real gRPC receiver, reads the same.
    await asyncio.to_thread(grpc_export, otlp.grpc_port, "metrics", otlp_export(series))
    assert per_source(otlp.store.snapshot(at_s * S_NS)) == per_source(prom)


async def test_later_polls_count_only_what_is_new(tsdb):
    """Polls every minute across the activity add up to one poll at the end, on both servers."""
    m = minute_of(int(time.time()))
    tsdb.push(remote_write_series(activity(m)))
    clock = iter(
        [(m - 95) * 60 + 30, (m - 60) * 60, (m - 35) * 60 + 20, *[(m - k) * 60 + 30 for k in range(5, -1, -1)]]
    )
    source = PrometheusSource(Config(tsdb.url), clock=lambda: next(clock))
    try:
        for _ in range(9):
            assert await source.poll()
    finally:
        await source.stop()
    whole = (await poll_at(tsdb.url, m * 60 + 30)).snapshot()
    assert per_source(source.snapshot()) == per_source(whole)


async def test_a_window_counts_only_growth_inside_it(tsdb):
    """``--since``: what was spent in the window, as in OTLP mode. A series that held a value
    before the window adds only its growth; one that started inside adds its first sample."""
    m = minute_of(int(time.time()))
    tsdb.push(remote_write_series(activity(m)))
    at_s = m * 60 + 30
    snap = (await poll_at(tsdb.url, at_s, window_s=35 * 60)).snapshot()
    # the window starts at M-35:30. six: from 0.25 (its M-35:13 sample, before the window) to
    # 0.65, first seen at its first sample inside; new: all of it
    assert {s.key: round(s.cost, 9) for s in snap.sessions} == {"six": 0.4, "new": 0.6}
    assert snap.sessions[-1].first_ns == (m - 34) * 60 * S_NS + 13 * S_NS
    assert snap.sessions_started == 0 and round(snap.cost_total, 9) == 1.0


async def test_the_newest_samples_are_counted_on_victoriametrics_too(tsdb):
    """VictoriaMetrics hides the newest 30 s (-search.latencyOffset) from cached queries;
    ccmon reads raw samples with nocache=1, so a sample 2 s old is in."""
    now = int(time.time())
    tsdb.push([counter(COST[2], {"session_id": "live", "model": SONNET}, now - 2, 0.05, minutes=3, start=1.0)])
    snap = (await poll_at(tsdb.url, time.time())).snapshot()
    assert round(snap.cost_total, 9) == 1.15
    assert snap.sessions[0].last_ns == (now - 2) * S_NS


def test_report_json_gives_the_otlp_figures(tsdb, tmp_path):
    """``ccmon report --prometheus --json`` as a process, against the OTLP report of the same
    activity at the same time."""
    m = minute_of(int(time.time()))
    series = activity(m)
    tsdb.push(remote_write_series(series))
    run = subprocess.run(
        [sys.executable, "-m", "ccmon", "report", "--prometheus", tsdb.url, "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    asked_s = datetime.fromisoformat(data["since"].replace("Z", "+00:00")).timestamp() + 86400
    # the OTLP side: the same exports into a store, read at the report's time
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

    from ccmon.model.otlp import decode_metrics
    from ccmon.model.store import Store

    store = Store(tmp_path / "otlp.db", retention_days=0)
    try:
        store.ingest(decode_metrics(ExportMetricsServiceRequest.FromString(otlp_export(series))))
        otlp = report_dict(store.snapshot(int(asked_s * S_NS)))
    finally:
        store.close()
    mine = {k: v for k, v in data.items() if k not in ("source", "since", "naming", "other_telemetry")}
    assert mine == {
        k: v for k, v in otlp.items() if k not in ("source", "since", *EVENT_FIGURES, "other_telemetry")
    } | {"events": None, "api_errors": None}
    assert data["sessions"][0]["first_seen"] == iso((m - 200) * 60 * S_NS + 17 * S_NS)
