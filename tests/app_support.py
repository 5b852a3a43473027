"""Helpers for the dashboard tests: fixed-data sources, screen text, waiting on the app."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import os
import time
from pathlib import Path

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from otlp_client import capture
from rich.console import Console

from ccmon.ingest.stats import GRPC, ReceiverStats, Via
from ccmon.model.otlp import decode_logs, decode_metrics
from ccmon.model.session_detail import build_detail
from ccmon.model.store import Store

# 2026-11-23 19:58:30 UTC: just after the last capture (2.1.197 ran 02:03-02:06 UTC that day,
# 2.1.330 19:51-19:58 UTC), so "today", the burn rates and the sparklines all have data.
FIXED_NS = 1_795_463_910_000_000_000
# A busy-looking day for the screenshots: both CLI versions, interactive and headless runs,
# errors, prompts with resource attributes (team, department).
SHOWCASE = (  # in the order they were recorded, as a live dashboard would have received them
    ("2.1.197", "grpc/all"),
    ("2.1.197", "grpc/all_prompts_resattrs"),
    ("2.1.197", "grpc/error400"),
    ("2.1.197", "grpc/continue"),
    ("2.1.197", "grpc/interactive"),
    ("2.1.330", "grpc/text"),
    ("2.1.330", "grpc/all"),
    ("2.1.330", "grpc/write_hold_delta"),
    ("2.1.330", "grpc/commit_default_intervals"),
    ("2.1.330", "grpc/all_prompts_resattrs"),
    ("2.1.330", "grpc/error529_retried"),
    ("2.1.330", "grpc/error400_twice"),
    ("2.1.330", "grpc/interactive"),
    ("2.1.330", "grpc/interactive_exit_flush"),
)


CLI_AGENT = "OTel-OTLP-Exporter-JavaScript/0.208.0 grpc-node-js/1.14.4"  # what 2.1.197 sends over gRPC


def ingest_capture(store: Store, version: str, folder: str, stats: ReceiverStats | None = None) -> None:
    """Feed a capture straight into a store (no sockets), as the receivers would; with
    ``stats``, note each export there as the gRPC receiver does."""
    for e in capture(version, folder):
        if e.signal == "metrics":
            req = ExportMetricsServiceRequest()
            req.ParseFromString(e.body)
            batch = decode_metrics(req)
        elif e.signal == "logs":
            req = ExportLogsServiceRequest()
            req.ParseFromString(e.body)
            batch = decode_logs(req, store.clock())
        else:
            continue
        store.ingest(batch)
        if stats is not None:
            stats.accepted(e.signal, Via(GRPC, len(e.body), CLI_AGENT), batch)


class StoreSource:
    """A ``Source`` over a prepared store with a fixed description and nothing to start: the
    screenshots show the same text on every machine."""

    def __init__(
        self, store: Store, where: str = "grpc 127.0.0.1:4317, http 127.0.0.1:4318", stats: ReceiverStats | None = None
    ) -> None:
        self.store = store
        store.where = where
        self.stats = stats or getattr(store, "test_stats", None) or ReceiverStats(store.clock)
        self.stats.where = where
        self.stopped = False

    @property
    def version(self) -> int:
        return self.store.version + self.stats.version

    @property
    def description(self) -> str:
        return self.store.where

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        self.stopped = True

    def snapshot(self, now_ns=None):
        return dataclasses.replace(self.store.snapshot(now_ns), version=self.version, status=self.stats.status())

    def flow(self, now_ns=None):
        return self.stats.flow(now_ns)

    async def ranged_snapshot(self, since_ns: int, now_ns: int):
        from ccmon.ingest.ranged import off_loop
        from ccmon.model.ranged import snapshot_since

        return await off_loop(self.store.path, snapshot_since, since_ns, now_ns, self.stats.status())

    async def per_day(self, since_ns: int, until_ns: int):
        from ccmon.ingest.ranged import off_loop
        from ccmon.model.ranged import per_day

        return await off_loop(self.store.path, per_day, since_ns, until_ns)

    async def session_detail(self, key: str):
        events = self.store.session_events(key, 5000)
        return build_detail(
            key, events, self.store.session_cost_points(key), 5000, self.store.session_interactions(key)
        )


def fixed_store(path: Path, *folders: tuple[str, str]) -> Store:
    """A store holding ``folders``; what a receiver would have counted rides along as
    ``store.test_stats`` (``StoreSource`` shows it)."""
    store = Store(path, retention_days=0, clock=lambda: FIXED_NS)
    store.test_stats = ReceiverStats(lambda: FIXED_NS)  # type: ignore[attr-defined]
    for version, folder in folders:
        ingest_capture(store, version, folder, store.test_stats)  # type: ignore[attr-defined]
    return store


@pytest.fixture
def utc():
    """Local time is UTC, so "today" and every HH:MM:SS on screen are the same on any machine."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if old is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = old
    time.tzset()


def screen_text(app) -> str:
    """What the terminal would show, as plain text (control codes would survive here too)."""
    console = Console(
        width=app.size.width,
        height=app.size.height,
        file=io.StringIO(),
        force_terminal=True,
        color_system="truecolor",
        record=True,
        legacy_windows=False,
    )
    console.print(app.screen._compositor.render_update(full=True))
    return console.export_text(styles=False)


def pane_lines(app, selector: str) -> list[str]:
    """The screen lines a widget covers, its side borders stripped and runs of spaces made one,
    so assertions read like the pane does (``"Total $0.2367 today $0.2367"``)."""
    region = app.screen.query_one(selector).region
    lines = screen_text(app).splitlines()[region.y : region.bottom]
    return [" ".join(line[region.x : region.right].strip().strip("│").split()) for line in lines]


async def wait_for(pilot, predicate, what: str, timeout: float = 30.0) -> None:
    """Let the app run until ``predicate()`` holds. The timeout only turns a hang into a
    failure; nothing here asserts how fast anything is."""
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


async def started(pilot, app) -> None:
    """Wait until the app's source is listening (it starts after the first frame)."""
    await wait_for(pilot, lambda: app.source_started, "the source to start")


async def caught_up(pilot, app) -> None:
    """Wait until the app shows everything its source has (a tick refreshed after the last
    change), then until the screen has been redrawn."""
    await wait_for(
        pilot,
        lambda: app.snapshot is not None and app.snapshot.version == app.source.version,
        "the app to catch up with its source",
    )
    await pilot.pause()


async def send(port: int, exports, how: str = "grpc", http_port: int | None = None) -> None:
    """Replay exports over real sockets from a thread (the receivers run on this loop)."""
    from otlp_client import replay

    await asyncio.to_thread(replay, port, http_port, exports, how)
