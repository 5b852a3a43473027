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


@pytest.mark.parametrize("version,line", [
    ("2.1.330", "1st token p50 16 ms · p95 47 ms"),  # grpc/all: 16, 6, 47, 47, 4, 45 ms
    ("2.1.197", "1st token p50 — · p95 —"),  # before ttft_ms existed
])
async def test_api_health_shows_time_to_first_token(tmp_path, version, line):
    app = CcmonApp(StoreSource(fixed_store(tmp_path / "db", (version, "grpc/all"))), clock=lambda: FIXED_NS)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: any(w._ttft_for is not None for w in app.main.query("#api")), "ttft")
        await pilot.pause()
        api = pane_lines(app, "#api")
        assert line in api
        assert "Requests 6" in api
