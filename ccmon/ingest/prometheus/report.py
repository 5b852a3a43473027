"""``ccmon report --prometheus URL [--since 24h] [--json]``: one poll, the OTLP report's keys.

Totals cover the series seen in the window (``--since``, else a day), each with its latest
value: a session that started before the window counts whole. Event-derived keys are null.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys
import time
from typing import Any

from ...cli import fail
from ...model.report import report_dict
from .config import Config
from .source import PrometheusSource

REPORT_TIMEOUT_S = 30.0


def prometheus_report(args: argparse.Namespace, since_ns: int) -> dict[str, Any] | int:
    """The report dict, or an exit code after a one-line ``ccmon: ...`` on stderr."""
    try:
        config = Config.from_args(args)
    except ValueError as exc:
        return fail(str(exc), 2)
    # One poll and done: it may wait longer than the dashboard, whose next poll is seconds away.
    config = dataclasses.replace(config, timeout_s=REPORT_TIMEOUT_S)
    now_s = time.time()
    if since_ns:
        config = dataclasses.replace(config, window_s=max(1.0, now_s - since_ns / 1e9))
    return asyncio.run(_report(config, now_s))


async def _report(config: Config, now_s: float) -> dict[str, Any] | int:
    source = PrometheusSource(config, clock=lambda: now_s)
    try:
        ok = await source.poll()
    finally:
        await source.stop()
    snap = source.snapshot()
    if not ok:
        return fail(f"prometheus at {config.base_url}: {snap.status.last_error}")
    if not snap.sessions:
        # Not an error (a quiet team is a quiet team), but zeros alone would not say why.
        narrowed = " matching --match" if config.match else ""
        print(f"ccmon: no Claude Code sessions at {config.base_url} in the last {config.window_s / 3600:g} h"
              f"{narrowed}: {snap.status.naming}", file=sys.stderr)
    data = report_dict(snap, int((now_s - config.window_s) * 1e9))
    data["naming"] = snap.status.naming
    return data
