"""The OTLP receiver: one gRPC and one HTTP server on the running loop, feeding the store.

Both servers hand every decoded export to ``accept``, which returns only once the export is
committed (see ``model.committer``): an OK on the wire means it is on disk.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from ..model.committer import GroupCommitter
from ..model.store import Store
from ..model.types import Batch

log = logging.getLogger("ccmon.ingest")
SWEEP_EVERY_S = 3600.0


class Receiver:
    def __init__(self, store: Store, *, bind: str = "127.0.0.1", grpc_port: int | None = 4317,
                 http_port: int | None = 4318) -> None:
        self.store = store
        self.committer = GroupCommitter(store)
        self.bind = bind
        self.grpc_port = grpc_port
        self.http_port = http_port
        self._grpc = None
        self._http = None
        self._sweeper: asyncio.Task[None] | None = None
        self.listeners: list[Callable[[], None]] = []  # told on the loop after every export

    def _changed(self) -> None:
        for cb in self.listeners:
            cb()

    async def accept(self, signal: str, batch: Batch) -> None:
        self.store.note_received(signal)
        if batch.skipped:
            self.store.note_rejected(signal, f"{batch.skipped} {signal} data point(s) of a kind ccmon does not use")
        try:
            await self.committer.submit(batch)
        except Exception as exc:
            self.store.note_rejected(signal, f"could not store {signal}: {exc}")
            raise
        finally:
            self._changed()

    def reject(self, signal: str, why: str) -> None:
        log.info("rejected %s export: %s", signal, why)
        self.store.note_rejected(signal, why)
        self._changed()

    async def start(self) -> None:
        """Bind both servers (port 0 picks a free port; the chosen one is stored back).
        Raises OSError naming the address when a port is taken."""
        from .grpc_server import start_grpc
        from .http_server import start_http

        try:
            if self.grpc_port is not None:
                self._grpc, self.grpc_port = await start_grpc(self, self.bind, self.grpc_port)
            if self.http_port is not None:
                self._http, self.http_port = await start_http(self, self.bind, self.http_port)
        except OSError as exc:
            await self.stop()
            raise OSError(exc.errno, f"{exc.strerror or exc}; is another ccmon or an OTel Collector running? "
                                     "Choose other ports with --grpc-port/--http-port") from None
        self.store.where = self.endpoints()
        self._sweeper = asyncio.get_running_loop().create_task(self._sweep_hourly())

    async def _sweep_hourly(self) -> None:
        """Retention once an hour (the store applied it once at start), on the committer's
        thread: the only one that writes."""
        while True:
            await asyncio.sleep(SWEEP_EVERY_S)
            await self.committer.run(self.store.sweep)

    def endpoints(self) -> str:
        host = f"[{self.bind}]" if ":" in self.bind else self.bind
        parts = []
        if self.grpc_port is not None:
            parts.append(f"grpc {host}:{self.grpc_port}")
        if self.http_port is not None:
            parts.append(f"http {host}:{self.http_port}")
        return ", ".join(parts)

    async def stop(self, grace: float = 1.0) -> None:
        """Stop listening, let in-flight exports finish and commit."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        if self._http is not None:
            self._http.close()
            await self._http.wait_closed_soon(grace)
            self._http = None
        if self._grpc is not None:
            await self._grpc.stop(grace)
            self._grpc = None
        await self.committer.close()
        await asyncio.sleep(0)


class OtlpSource:
    """The embedded source: receivers + store, as the dashboard's ``model.source.Source``."""

    SESSION_EVENT_LIMIT = 5000

    def __init__(self, store: Store, receiver: Receiver, lock=None) -> None:
        self.store = store
        self.receiver = receiver
        self.lock = lock  # ingest.owner.DbLock: this dashboard owns the database while it runs

    def add_listener(self, callback: Callable[[], None]) -> None:
        """``callback()`` runs on the loop after every export: the app refreshes then, not on a timer."""
        self.receiver.listeners.append(callback)

    @property
    def version(self) -> int:
        return self.store.version

    @property
    def description(self) -> str:
        return self.receiver.endpoints()

    async def start(self) -> None:
        """Load the store (a thread: a big database takes a second) then open the ports."""
        if not self.store.loaded:
            await asyncio.to_thread(self.store.load)
        await self.receiver.start()
        if self.lock is not None:
            self.lock.update(self.receiver.grpc_port, self.receiver.http_port)
        self.receiver._changed()  # the loaded totals: show them now

    async def stop(self) -> None:
        await self.receiver.stop()
        self.store.close()
        if self.lock is not None:
            self.lock.release()

    def snapshot(self, now_ns: int | None = None):
        return self.store.snapshot(now_ns)

    async def session_detail(self, key: str):
        from ..model.session_detail import build_detail

        def load():
            events = self.store.session_events(key, self.SESSION_EVENT_LIMIT)
            return build_detail(key, events, self.store.session_cost_points(key), self.SESSION_EVENT_LIMIT)

        return await asyncio.to_thread(load)
