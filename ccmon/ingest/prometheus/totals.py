"""``ccmon report --prometheus URL [--since 24h] [--timeout 30] [--json]``: one poll, the OTLP
report's keys.

The figures mean what they mean in OTLP mode: what was spent in the window (``--since``, else a
day). A series that held a value before the window adds only its growth inside it; one that
started inside adds its first sample too. Event-derived keys are null. The whole report has one
deadline, ``--timeout``, however many requests it takes and however slowly the server answers.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys
import time
from typing import Any

from ...errors import CcmonError
from ...model.summary import report_dict
from .config import Config
from .source import PrometheusSource

DEFAULT_REPORT_TIMEOUT_S = 30.0


def prometheus_report(args: argparse.Namespace, since_ns: int) -> dict[str, Any]:
    """The report dict; raises CcmonError (2: bad options, 1: the server failed or was too slow)."""
    try:
        config = Config.from_args(args)
    except ValueError as exc:
        raise CcmonError(str(exc), 2) from None
    deadline = getattr(args, "timeout", None)
    deadline = DEFAULT_REPORT_TIMEOUT_S if deadline is None else deadline
    if deadline <= 0:
        raise CcmonError(f"--timeout must be positive, not {deadline:g}", 2)
    # One poll and done: each request may take the whole deadline, which bounds them all.
    config = dataclasses.replace(config, timeout_s=deadline)
    now_s = time.time()
    if since_ns:
        config = dataclasses.replace(config, window_s=max(1.0, now_s - since_ns / 1e9))
    return asyncio.run(_report(config, now_s, deadline))


async def _report(config: Config, now_s: float, deadline: float) -> dict[str, Any]:
    source = PrometheusSource(config, clock=lambda: now_s)
    try:
        ok = await asyncio.wait_for(source.poll(), deadline)
    except TimeoutError:
        raise CcmonError(
            f"prometheus at {config.base_url}: no complete answer within {deadline:g} s (--timeout)"
        ) from None
    finally:
        await source.stop()
    snap = source.snapshot()
    if not ok:
        raise CcmonError(f"prometheus at {config.base_url}: {snap.status.last_error}")
    if not snap.sessions:
        # Not an error (a quiet team is a quiet team), but zeros alone would not say why.
        narrowed = " matching --match" if config.match else ""
        print(
            f"ccmon: no Claude Code sessions at {config.base_url} in the last {config.window_s / 3600:g} h"
            f"{narrowed}: {snap.status.naming}",
            file=sys.stderr,
        )
    data = report_dict(snap, int((now_s - config.window_s) * 1e9))
    data["naming"] = snap.status.naming
    return data
