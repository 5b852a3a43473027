"""The dashboard's ``Source`` for a Prometheus-compatible server: polls on an interval.

One poll at a time, ever (a lock, and one loop task). A poll's samples are counted only once
the whole poll succeeded. A failed poll keeps the last good numbers on screen, marked stale,
with the reason in ``status.last_error`` and every failed poll counted; the next attempt comes
after a growing delay. Nothing raises into the app.

What the dashboard counts: the window before it started (a day) and everything since.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import math
import time
from collections.abc import Callable

from ...errors import CcmonError
from ...model.snapshot import Snapshot, SourceStatus
from ...model.source import SessionDetail
from .api import PromError
from .build import PromModel
from .client import PromClient
from .config import Config
from .fetch import Fetched, fetch
from .promql import session_cost

log = logging.getLogger("ccmon.prometheus")

MAX_BACKOFF_S = 60.0
DETAIL_POINTS = 240  # points on a session's cost curve


def retry_delay(interval_s: float, failures: int) -> float:
    """The wait before the next poll: the interval, doubled per consecutive failure, capped."""
    if failures <= 0:
        return interval_s
    return min(interval_s * 2 ** min(failures, 16), max(MAX_BACKOFF_S, interval_s))


class PrometheusSource:
    def __init__(self, config: Config, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self._clock = clock  # unix seconds; the evaluation time of each poll
        self._client = PromClient(config)
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._fetched: Fetched | None = None  # the last good poll
        self._model = PromModel()
        self._error: str | None = None
        self._failures = 0  # consecutive, for the backoff
        self._polls_ok = 0
        self._polls_failed = 0
        self._version = 0
        self._snapshot = self._build()

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> PrometheusSource:
        try:
            return cls(Config.from_args(args))
        except ValueError as exc:
            raise CcmonError(str(exc), 2) from None

    @property
    def version(self) -> int:
        return self._version

    @property
    def description(self) -> str:
        return f"prometheus {self.config.base_url}"

    @property
    def requests(self) -> int:
        """HTTP requests sent so far (the per-poll budget is checked against this)."""
        return self._client.requests

    async def start(self) -> None:
        if self._task is None:  # one loop, so never two polls at once
            self._task = asyncio.get_running_loop().create_task(self._run(), name="ccmon-prometheus-poll")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        await self._client.aclose()

    async def _run(self) -> None:
        while True:
            await self.poll()
            await asyncio.sleep(retry_delay(self.config.interval_s, self._failures))

    async def poll(self) -> bool:
        """One poll; True when it succeeded. Never raises (but lets cancellation through)."""
        async with self._lock:
            at_s = self._clock()
            try:
                fetched = await fetch(self._client, self.config.match, self.config.window_s, at_s, self._fetched)
            except Exception as exc:  # PromError, or a bug: either way the app keeps running
                if not isinstance(exc, PromError):
                    log.exception("Prometheus poll failed")
                self._error = str(exc) if isinstance(exc, PromError) else f"internal error: {exc!r}"
                self._failures += 1
                self._polls_failed += 1
                # The numbers stay; the status (stale, the reason, the count of failures) moves.
                self._version += 1
                self._snapshot = dataclasses.replace(self._snapshot, version=self._version, status=self._status())
            else:
                changed = self._model.feed(fetched) or self._failures > 0 or self._fetched is None
                # Counted now: the samples (a first poll's can be 100 MB of objects) can go.
                fetched = dataclasses.replace(fetched, before=(), samples=())
                self._fetched, self._error, self._failures = fetched, None, 0
                self._polls_ok += 1
                if changed:
                    self._version += 1
                    self._snapshot = self._build()
                else:  # the status' "N polls ok" still moves; the figures need no rebuild
                    self._snapshot = dataclasses.replace(self._snapshot, status=self._status())
            return self._failures == 0

    def _status(self) -> SourceStatus:
        f = self._fetched
        return SourceStatus(
            kind="prometheus",
            where=self.config.base_url,
            last_payload_ns={"metrics": int(f.at_s * 1e9)} if f else {},
            # The status bar's "received / rejected" are polls here, not exports.
            received={"polls": self._polls_ok},
            rejected={"polls": self._polls_failed},
            last_error=self._error,
            stale=self._failures > 0,
            naming=self._model.describe_naming() if f else None,
        )

    def _build(self) -> Snapshot:
        f = self._fetched
        return self._model.snapshot(self._version, self._status(), int(f.at_s * 1e9) if f else time.time_ns())

    def snapshot(self, now_ns: int | None = None) -> Snapshot:
        if now_ns is None:
            return self._snapshot
        return dataclasses.replace(self._snapshot, now_ns=now_ns)

    # -- the dashboard's time range -----------------------------------------------------------

    async def ranged_snapshot(self, since_ns: int, now_ns: int) -> Snapshot:
        """One fetch with the range as its window (as ``report --prometheus --since``): a series
        that held a value before the window adds only its growth inside it. Raises PromError.
        Under the poll lock: the server sees one request at a time from this ccmon."""
        at_s = now_ns / 1e9
        window_s = max(1.0, at_s - since_ns / 1e9)
        async with self._lock:
            fetched = await fetch(self._client, self.config.match, window_s, at_s, None)
        model = PromModel()
        model.feed(fetched)
        return model.snapshot(0, self._status(), now_ns)

    async def per_day(self, since_ns: int, until_ns: int) -> dict:
        """Per day from the window's fetch (``over_time.from_snapshot``): Prometheus hands ccmon a
        session's totals, not when each increment happened, so a session counts on the day it was
        last seen. From 0 (the range "all"): the live window's sessions."""
        from ...model.over_time import from_snapshot

        snap = self.snapshot() if since_ns <= 0 else await self.ranged_snapshot(since_ns, until_ns)
        return from_snapshot(snap, since_ns, until_ns, "day")

    async def session_detail(self, key: str) -> SessionDetail | None:
        """The session's cumulative cost over its lifetime (``query_range`` of the raw counter).
        Prometheus has no events, so that curve is all there is."""
        f = self._fetched
        if f is None or f.naming is None:
            return None
        group = self._model.groups.get(key)
        if group is None:
            return None
        row = next((s for s in self._snapshot.sessions if s.key == key), None)
        end_s = row.last_ns / 1e9 if row and row.last_ns else f.at_s
        begin_s = row.first_ns / 1e9 if row and row.first_ns else end_s - self.config.window_s
        # Whole milliseconds, starting on the first sample and reaching at least the last one.
        span_ms = max(0, round((end_s - begin_s) * 1000))
        step_ms = max(15_000, math.ceil(span_ms / DETAIL_POINTS))
        steps = max(1, math.ceil(span_ms / step_ms))
        try:
            series = await self._client.query_range(
                session_cost(f.naming, self.config.match, group),
                begin_s,
                begin_s + steps * step_ms / 1000,
                step_ms / 1000,
            )
        except PromError as exc:
            log.warning("session %s: %s", key, exc)
            return SessionDetail(key, events_available=False)
        curve = tuple((int(t * 1e9), v) for s in series for t, v in s.points)
        return SessionDetail(key, cost_over_time=curve, events_available=False)
