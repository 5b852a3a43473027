"""The same team history under every naming a real pipeline produces gives the same figures,
and the status says which naming and label variants were found."""

from __future__ import annotations

import pytest
from prom_data import PLATFORM, Variant, aligned_now, expected_report, figures, team_history
from prom_server import tsdb  # noqa: F401  (fixture)

from ccmon.ingest.prometheus.config import Config
from ccmon.ingest.prometheus.source import PrometheusSource

pytestmark = pytest.mark.prometheus

VARIANTS = {
    "collector default": (
        Variant(),
        "OTel Collector naming: claude_code_cost_usage_USD_total; "
        "labels: session_id, user_email + user_id, tool_name, type=cacheRead, job",
    ),
    "collector namespace doubles the prefix": (
        Variant(prefix="claude_code_"),
        "OTel Collector naming, namespace claude_code: claude_code_claude_code_cost_usage_USD_total; "
        "labels: session_id, user_email + user_id, tool_name, type=cacheRead, job",
    ),
    "Claude Code's own exporter on :9464": (
        Variant(
            style="total",
            user_labels=("user_id",),
            pipeline_labels={"otel_scope_name": "com.anthropic.claude_code", "instance": "laptop:9464"},
        ),
        "Claude Code's own exporter naming (:9464, no unit): claude_code_cost_usage_total; "
        "labels: session_id, user_id, tool_name, type=cacheRead",
    ),
    "no suffixes": (
        Variant(style="bare"),
        "no suffixes (add_metric_suffixes: false): claude_code_cost_usage; "
        "labels: session_id, user_email + user_id, tool_name, type=cacheRead, job",
    ),
    "older labels, scraped without honor_labels": (
        Variant(
            cache_read="cache_read",
            cache_creation="cache_creation",
            tool_label="tool",
            pipeline_labels={"exported_job": "claude-code", "job": "otel-collector"},
        ),
        "OTel Collector naming: claude_code_cost_usage_USD_total; "
        "labels: session_id, user_email + user_id, tool, type=cache_read, job + exported_job",
    ),
}


@pytest.mark.parametrize("variant, naming", VARIANTS.values(), ids=VARIANTS.keys())
async def test_every_naming_gives_the_same_figures(tsdb, variant, naming):
    t = aligned_now()
    tsdb.push(team_history(t, variant))
    source = PrometheusSource(Config(tsdb.url, match=PLATFORM), clock=lambda: t)
    await source.poll()
    await source.stop()
    snap = source.snapshot()
    assert snap.status.naming == naming
    assert figures(snap) == expected_report(t)
    assert round(snap.burn_1h, 9) == 9.6


async def test_without_session_id_each_user_is_one_row(tsdb):
    """OTEL_METRICS_INCLUDE_SESSION_ID=false: no session_id label anywhere."""
    t = aligned_now()
    tsdb.push(team_history(t, Variant(session_ids=False)))
    source = PrometheusSource(Config(tsdb.url, match=PLATFORM), clock=lambda: t)
    await source.poll()
    await source.stop()
    snap = source.snapshot()
    assert "labels: no session_id: one row per user, user_email + user_id" in snap.status.naming
    expected = expected_report(t)
    for row in expected["sessions"]:
        row["session_id"] = "user:" + row["user_id"]
    assert figures(snap) == expected


async def test_two_namings_on_one_server_are_summed_and_said(tsdb):
    """A team moving from scraping Claude Code's :9464 to a Collector has both namings on the
    server. Every session's series are summed across them, and the status says so."""
    from prom_data import HAIKU, OPUS
    from prom_server import counter

    t = aligned_now()
    other = "claude_code_cost_usage_total"  # the :9464 naming
    tsdb.push(
        team_history(t)
        + [
            counter(
                other,
                {"team": "platform", "session_id": "sess-erin", "user_id": "u-erin", "model": OPUS},
                t,
                0.01,
                minutes=30,
                start=1.7,
            ),
            counter(
                other,
                {"team": "platform", "session_id": "sess-alice", "user_id": "u-alice", "model": HAIKU},
                t,
                0,
                minutes=10,
                start=1.0,
            ),
        ]
    )
    source = PrometheusSource(Config(tsdb.url, match=PLATFORM), clock=lambda: t)
    await source.poll()
    await source.stop()
    snap = source.snapshot()
    assert snap.status.naming.startswith(
        "OTel Collector naming: claude_code_cost_usage_USD_total + claude_code_cost_usage_total (summed); labels: "
    )
    costs = {s.key: round(s.cost, 9) for s in snap.sessions}
    assert costs == {"sess-alice": 8.2, "sess-bob": 10.0, "sess-carol": 0.5, "sess-erin": 2.0}
    assert round(snap.cost_total, 9) == 17.7 + 3.0
