"""Time to first token beside latency in API health (``api_request.ttft_ms``, 2.1.330+)."""

from __future__ import annotations

import pytest
from app_support import FIXED_NS, StoreSource, fixed_store, pane_lines, utc, wait_for  # noqa: F401

from ccmon.model.ttft import nearest_rank, ttft_percentiles
from ccmon.views.app import CcmonApp

pytestmark = pytest.mark.usefixtures("utc")


def test_nearest_rank_matches_the_latency_percentiles():
    assert ttft_percentiles([16, 6, 47, 47, 4, 45]) == (16, 47)
    assert nearest_rank(list(range(1, 21)), 0.95) == 19  # 0.95 * 20 is 19, not 20 (float drift)
    assert ttft_percentiles([]) == (None, None)


@pytest.mark.parametrize(
    "version,line",
    [
        ("2.1.330", "1st token p50 16 ms · p95 47 ms"),  # grpc/all: 16, 6, 47, 47, 4, 45 ms
        ("2.1.197", "1st token p50 — · p95 —"),  # before ttft_ms existed
    ],
)
async def test_api_health_shows_time_to_first_token(tmp_path, version, line):
    app = CcmonApp(StoreSource(fixed_store(tmp_path / "db", (version, "grpc/all"))), clock=lambda: FIXED_NS)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: any(w._ttft_for is not None for w in app.main.query("#api")), "ttft")
        await pilot.pause()
        api = pane_lines(app, "#api")
        assert line in api
        assert "Requests 6" in api


async def test_time_to_first_token_follows_a_burst_of_exports(tmp_path):
    """Requests arriving faster than the once-a-second read are read once more after the burst:
    2.1.197's requests (no ttft_ms) and then 2.1.330's, within a second, end on 2.1.330's figures."""
    from app_support import send
    from otlp_client import capture

    from ccmon.cli import build_parser
    from ccmon.compose import make_app

    args = build_parser().parse_args(
        ["--db", str(tmp_path / "ccmon.db"), "--grpc-port", "0", "--http-port", "0", "--retention-days", "0"]
    )
    app = make_app(args, clock=lambda: FIXED_NS)
    async with app.run_test(size=(160, 48)) as pilot:
        from app_support import started

        await started(pilot, app)
        port = app.source.receiver.grpc_port
        await send(port, capture("2.1.197", "grpc/all"))
        await send(port, capture("2.1.330", "grpc/all"))
        await wait_for(
            pilot,
            lambda: "1st token p50 16 ms · p95 47 ms" in pane_lines(app, "#api"),
            "the second capture's time to first token",
            timeout=10,
        )
        assert "Requests 12" in pane_lines(app, "#api")
