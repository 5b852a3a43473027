"""API health: requests, errors by status code, error rate, latency and time to first token
p50/p95, retries.

All of it comes from events (``api_request``, ``api_error``), which Prometheus does not have:
there the snapshot's fields are ``None`` and the pane says so instead of showing zeros. The
time to first token (``ttft_ms``, 2.1.330+) is not in the snapshot: the pane reads the newest
requests' values from the source's database on a worker thread whenever the request count
changes (one indexed query; ``views.insight_load``).
"""

from __future__ import annotations

import time
from typing import Any

from rich.text import Text
from textual import work

from ...model import insight_db
from ...model.snapshot import Snapshot
from ...model.ttft import RECENT, ttft_percentiles
from .. import fmt, insight_load, safe
from .pane import Pane, columns, fit

TTFT_EVERY_S = 1.0  # a flood of exports re-reads the time to first token at most this often
NO_EVENTS = "Not available in Prometheus mode: requests, errors and latency come from OTLP events."


class ApiHealthPane(Pane):
    TITLE = "API health"
    RANGED = True

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ttft: tuple[float | None, float | None] = (None, None)
        self._ttft_for: int | None = None  # the request count the figures are for
        self._ttft_loading = False
        self._ttft_at = float("-inf")  # time.monotonic() of the last read
        self._snap: Snapshot | None = None
        self._ttft_timer: Any = None

    def select(self, snap: Snapshot) -> Any:
        self._snap = snap
        if snap.api_requests and snap.api_requests != self._ttft_for and not self._ttft_loading:
            wait = TTFT_EVERY_S - (time.monotonic() - self._ttft_at)
            if wait <= 0:
                self._ttft_loading = True
                self._ttft_at = time.monotonic()
                self._load_ttft(snap.api_requests)
            elif self._ttft_timer is None:  # a burst: read once more when it has passed
                self._ttft_timer = self.set_timer(wait, self._ttft_later)
        return (snap.api_requests, snap.api_errors, snap.retries, snap.latency_p50_ms, snap.latency_p95_ms, self.ttft)

    @work(group="ttft", exclusive=True)
    async def _load_ttft(self, requests: int) -> None:
        try:
            got = await insight_load.load(
                self.app.source,  # type: ignore[attr-defined]
                lambda conn: ttft_percentiles(insight_db.recent_ttft(conn, RECENT)),
            )
        except Exception:  # a failed read leaves the dash; the next change tries again
            got = None
        self._ttft_loading = False
        self._ttft_for = requests
        if got is not None and got != self.ttft:
            self.ttft = got
            if self._snap is not None:
                self.show(self._snap)
        elif self._snap is not None and self._snap.api_requests != requests:
            self.select(self._snap)  # more requests arrived while reading: read again (throttled)

    def _ttft_later(self) -> None:
        self._ttft_timer = None
        if self._snap is not None:
            self.select(self._snap)

    def draw(self, data: Any, width: int) -> Text:
        requests, errors, retries, p50, p95, (t50, t95) = data
        if requests is None or errors is None:
            return Text(NO_EVENTS, style="dim italic")
        n_errors = sum(n for _, n in errors)
        attempts = requests + n_errors
        by_code = Text()
        for i, (code, n) in enumerate(sorted(errors, key=lambda e: (-e[1], e[0]))):
            if i:
                by_code.append(" · ", "dim")
            by_code.append_text(safe.text(code, "red"))
            by_code.append(f" ×{n}")
        rows: list[tuple[str, str | Text]] = [
            ("Requests", Text(f"{requests:,}", "bold")),
            ("Errors", fit(by_code, width - 12) if n_errors else Text("none", "green")),
            ("Error rate", fmt.percent(n_errors / attempts if attempts else None)),
            ("Latency", f"p50 {fmt.millis(p50)} · p95 {fmt.millis(p95)}"),
            ("1st token", f"p50 {fmt.millis(t50)} · p95 {fmt.millis(t95)}"),
            ("Retries", f"{retries or 0:,}"),
        ]
        return columns([(Text(label, "dim"), value) for label, value in rows], "ll")
