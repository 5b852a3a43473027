"""The cache clock (idle gaps longer than the cache lifetime, 5 min / 1 h writes) and honest
money (metric against events, drift, coverage): synthetic exports over gRPC to a real receiver,
a fixed clock; the 2.1.330 captures for the figures that must agree."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import pytest
from app_support import FIXED_NS, StoreSource, fixed_store, screen_text, utc, wait_for  # noqa: F401
from insight_data import MIN_NS, T0, Session, logs, metrics
from otlp_client import grpc_export

from ccmon.model import cache_clock as cc
from ccmon.model import insight_db, money
from ccmon.views.app import CcmonApp

pytestmark = pytest.mark.usefixtures("utc")
COST_TOKEN = ("claude_code.cost.usage", "claude_code.token.usage")


def cache_session() -> Session:
    s = Session("s-cache")
    r = s.request
    r(T0, "p1", 0.10, tokens=(100, 50, 0, 2000), cw5=2000, cw1h=0)
    r(T0 + 2 * MIN_NS, "p1", 0.02, tokens=(100, 50, 2000, 100), cw5=100, cw1h=0)  # 2 min: warm
    r(T0 + 12 * MIN_NS, "p2", 0.05, tokens=(100, 50, 0, 3000), cw5=3000, cw1h=0)  # 10 min > 5: a miss
    r(T0 + 13 * MIN_NS, "p2", 0.03, tokens=(100, 50, 3000, 500), cw5=0, cw1h=500)  # now a 1 h cache
    r(T0 + 50 * MIN_NS, "p3", 0.06, tokens=(100, 50, 0, 4000), cw5=0, cw1h=4000)  # 37 min < 1 h, but cw>0: no miss
    r(T0 + 120 * MIN_NS, "p4", 0.02, tokens=(100, 50, 0, 1000), cw5=1000, cw1h=0)  # 70 min > 1 h: a miss
    return s


def money_sessions() -> list[Session]:
    ok = Session("s-ok")
    ok.request(T0, "a", 0.30)
    ok.request(T0 + MIN_NS, "a", 0.20)
    missing = Session("s-missing")  # three requests counted by the metrics, one event lost
    missing.request(T0, "b", 0.10)
    missing.request(T0 + MIN_NS, "b", 0.10, metric=True)
    missing.request(T0 + 2 * MIN_NS, "b", 0.10)
    missing.events.pop(1)
    drift = Session("s-drift")  # every event there, but the metric says more
    drift.request(T0, "c", 0.40)
    drift.points.append(
        (
            "claude_code.cost.usage",
            0.05,
            {"session.id": "s-drift", "model": "claude-opus-5-5"},
            T0 + 5 * MIN_NS,
            T0 + 6 * MIN_NS,
        )
    )
    return [ok, missing, drift]


async def _send(rx, sessions) -> None:
    for s in sessions:
        await asyncio.to_thread(grpc_export, rx.grpc_port, "logs", logs(s.events))
        await asyncio.to_thread(grpc_export, rx.grpc_port, "metrics", metrics(s.points))


async def test_cache_clock_and_the_cost_of_idle_gaps(otlp):
    await _send(otlp, [cache_session()])
    c = cc.session_caches(insight_db.api_requests(otlp.store._read))["s-cache"]
    assert [(m.t_ns - T0, m.gap_ns, m.lifetime_ns, m.tokens, round(m.cost, 10), m.rate_source) for m in c.misses] == [
        (12 * MIN_NS, 10 * MIN_NS, cc.FIVE_MIN_NS, 3000, 0.015, "price"),  # opus-5-5 writes at $5 / M
        (120 * MIN_NS, 70 * MIN_NS, cc.ONE_HOUR_NS, 1000, 0.005, "price"),
    ]
    assert round(c.miss_cost, 10) == 0.02
    assert (c.writes_5m, c.writes_1h, c.writes_total) == (6100, 4500, 10600)
    assert (c.lifetime_ns, c.cold_at_ns) == (cc.FIVE_MIN_NS, T0 + 125 * MIN_NS)
    now = T0 + 123 * MIN_NS
    assert c.warm(now) and cc.clock_text(c, now) == "warm 2m 00s (5 min cache)"
    assert cc.clock_text(c, T0 + 200 * MIN_NS) == "cold for 1h 15m (5 min cache)"
    d = cc.cache_dict({"s-cache": c}, now)
    assert d["sessions"][0]["cache_writes"] == {"5m": 6100, "1h": 4500, "total": 10600}
    assert (d["sessions"][0]["remaining_s"], d["miss_cost_usd_total"]) == (120, 0.02)


def test_an_unknown_models_write_price_is_estimated_from_its_own_cost():
    a = {
        "model": "my-custom-model",
        "input_tokens": 1234,
        "output_tokens": 567,
        "cache_read_tokens": 8901,
        "cache_creation_tokens": 2345,
        "cost_usd": 0.0297812,
    }
    rate, source = cc.write_rate(a)
    assert source == "estimated" and round(rate * 1e6, 4) == round(0.0297812 / 7890.35 * 1.25 * 1e6, 4) == 4.718
    assert cc.write_rate({**a, "model": "claude-opus-4-8"}) == (6.25e-6, "price")
    assert cc.write_rate({"model": "x"}) == (None, "unknown")
    # A 1 h write costs 1.6 x the 5 min price.
    reqs = [
        (0, "s", "api_request", {"model": "claude-opus-5-5", "cache_creation_tokens": 0}),
        (
            cc.FIVE_MIN_NS + 1,
            "s",
            "api_request",
            {
                "model": "claude-opus-5-5",
                "cache_creation_tokens": 1000,
                "cache_creation_1h_tokens": 1000,
                "cache_creation_5m_tokens": 0,
            },
        ),
    ]
    assert round(cc.session_caches(reqs)["s"].miss_cost, 10) == 0.008


def test_captures_write_no_5m_1h_split_and_no_miss(tmp_path):
    store = fixed_store(tmp_path / "db", ("2.1.330", "grpc/all"))
    c = cc.session_caches(insight_db.api_requests(store._read))["99fc81a6-b7d4-432b-865e-b6c1b520f191"]
    assert (c.requests, c.writes_5m, c.writes_1h, c.writes_total, c.misses) == (6, 0, 0, 14070, ())
    assert c.last_request_ns == 1795463480012000000 and c.lifetime_ns == cc.FIVE_MIN_NS
    m = money.session_money(insight_db.metric_sums(store._read, COST_TOKEN), insight_db.api_requests(store._read))
    one = m["99fc81a6-b7d4-432b-865e-b6c1b520f191"]
    assert (round(one.metric_cost, 7), round(one.event_cost, 7), one.drifting, one.coverage, one.requests_implied) == (
        0.1786872,
        0.1786872,
        False,
        1.0,
        6,
    )
    store.close()


async def test_drift_and_coverage(otlp):
    await _send(otlp, money_sessions())
    m = money.session_money(
        insight_db.metric_sums(otlp.store._read, COST_TOKEN), insight_db.api_requests(otlp.store._read)
    )
    ok, missing, drift = m["s-ok"], m["s-missing"], m["s-drift"]
    assert (ok.drifting, ok.incomplete, ok.badge(), ok.cost) == (False, False, "", (0.5, money.METRIC))
    assert (round(missing.metric_cost, 10), round(missing.event_cost, 10), missing.requests_seen) == (0.3, 0.2, 2)
    assert (round(missing.coverage, 6), missing.requests_implied, missing.incomplete) == (0.666667, 3, True)
    assert missing.badge() == "drift: metric $0.3000 vs events $0.2000; incomplete: 2 of ~3 requests seen"
    assert (drift.drifting, drift.incomplete, round(drift.drift, 10)) == (True, False, 0.05)
    # Within the tolerance is agreement: float noise and micro-dollar rounding are not drift.
    assert not money.SessionMoney("x", 1.0, 1.0 - 0.009, 1, 10, 10).drifting
    assert money.SessionMoney("x", 1.0, 1.0 - 0.011, 1, 10, 10).drifting
    assert money.SessionMoney("x", None, 0.5, 1, 0, 10).cost == (0.5, money.EVENTS)
    out = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "ccmon", "report", "--db", str(otlp.store.path), "--by", "money", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    d = json.loads(out.stdout)
    totals = (d["sessions_drifting"], d["sessions_incomplete"], d["cost_usd_metric_total"], d["cost_usd_events_total"])
    assert totals == (2, 1, 1.25, 1.1)
    assert [s["session_id"] for s in d["sessions"]] == ["s-drift", "s-missing", "s-ok"]
    assert d["note"] == "all $ are Claude Code's own estimates (API-equivalent for subscribers)"


async def test_report_by_cache(otlp):
    await _send(otlp, [cache_session()])
    out = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "ccmon", "report", "--db", str(otlp.store.path), "--by", "cache"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert "cache misses after idle gaps: $0.0200" in out.stdout
    assert (
        "  s-cache                                cold   2026-11-24T08:05:00.000Z       6,100      4,500     "
        "10,600      2    $0.0200"
    ) in out.stdout


async def test_session_screen_shows_the_clock_and_the_badges(otlp):
    await _send(otlp, [cache_session(), *money_sessions()])
    app = CcmonApp(StoreSource(otlp.store), clock=lambda: T0 + 123 * MIN_NS)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None, "the first snapshot")
        for key, expected in (
            (
                "s-cache",
                [
                    "Cache warm 2m 00s (5 min cache) · writes 5m 6,100 · 1h 4,500 · all 10,600 · misses after "
                    "idle 2 cost $0.0200",
                    "Money $0.2800 from the cost.usage metric · events $0.2800 agree ✓ · 6 requests seen "
                    "of ~6 "
                    "(100% of the tokens)",
                ],
            ),
            (
                "s-missing",
                [
                    "Money $0.3000 from the cost.usage metric · 2 requests seen of ~3 (67% of the tokens) ⚠ "
                    "drift: metric $0.3000 vs events $0.2000; incomplete: 2 of ~3 requests seen"
                ],
            ),
        ):
            app.open_session(key)
            await wait_for(
                pilot,
                lambda: any(w.loaded is not None for w in app.screen.query("#session-insight")),
                "the cache clock and money",
            )
            await pilot.pause()
            text = " ".join(screen_text(app).split())
            for line in expected:
                assert " ".join(line.split()) in text, (line, text[:800])
            await pilot.press("escape")
