"""API health: requests, errors by status code, error rate, latency p50/p95, retries.

All of it comes from events (``api_request``, ``api_error``), which Prometheus does not have:
there the snapshot's fields are ``None`` and the pane says so instead of showing zeros.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text

from ...model.snapshot import Snapshot
from .. import fmt, safe
from .pane import Pane, columns, fit

NO_EVENTS = "Not available in Prometheus mode: requests, errors and latency come from OTLP events."


class ApiHealthPane(Pane):
    TITLE = "API health"

    def select(self, snap: Snapshot) -> Any:
        return snap.api_requests, snap.api_errors, snap.retries, snap.latency_p50_ms, snap.latency_p95_ms

    def draw(self, data: Any, width: int) -> Text:
        requests, errors, retries, p50, p95 = data
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
            ("Retries", f"{retries or 0:,}"),
        ]
        return columns([(Text(label, "dim"), value) for label, value in rows], "ll")
