"""The OTLP receiver: one gRPC and one HTTP server on the running loop, feeding the store.

Both servers hand every decoded export to ``accept``, which returns only once the export is
committed (see ``committer``): an OK on the wire means it is on disk.
"""

from __future__ import annotations

import asyncio
import errno
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import TYPE_CHECKING

from ..errors import CcmonError
from ..model.limits_store import LimitsStore
from ..model.store import Store
from ..model.types import Batch
from .committer import GroupCommitter
from .contract import Security, StorageError, storage_cause
from .limits import COMMIT_CHUNK_ITEMS, INLINE_DECODE_BYTES, ByteBudget, connection_cap
from .payload import decode, gunzip, gzip_size_hint
from .stats import GRPC, ReceiverStats, Via

if TYPE_CHECKING:
    import grpc

    from .http_server import HttpServer

log = logging.getLogger("ccmon.ingest")
SWEEP_EVERY_S = 3600.0
PORT_FLAGS = {"grpc": "--grpc-port", "http": "--http-port"}


def _chunks(batch: Batch, size: int) -> list[Batch]:
    """``batch`` as consecutive parts of at most ``size`` events or spans; the metric points
    (few, and resolved in order against each other) all stay in the first part. Events are
    split only when each has an ``event.sequence`` (as Claude Code's do): only then does the
    store know a re-sent one, so a retry after a part failed cannot count the others twice."""
    if len(batch.events) + len(batch.spans) <= size:
        return [batch]
    events_split = all(isinstance(e.attrs.get("event.sequence"), int) for e in batch.events)
    # The first part carries the points and the batch's counts (skipped, refused, other senders).
    parts = [replace(batch, events=[] if events_split else batch.events, spans=[])]
    for i in range(0, len(batch.events) if events_split else 0, size):
        parts.append(Batch(batch.signal, events=batch.events[i : i + size]))
    for i in range(0, len(batch.spans), size):
        parts.append(Batch(batch.signal, spans=batch.spans[i : i + size]))
    return [p for p in parts if p.points or p.events or p.spans or p.skipped or p.other] or [batch]


class Receiver:
    def __init__(
        self,
        store: Store,
        *,
        bind: str = "127.0.0.1",
        grpc_port: int | None = 4317,
        http_port: int | None = 4318,
        security: Security | None = None,
        max_connections: int | None = None,
        budget: ByteBudget | None = None,
    ) -> None:
        self.store = store
        self.stats = ReceiverStats()  # what arrived on the wire: the status bar, the Flow view
        self.committer = GroupCommitter(store)
        self.limits = LimitsStore(store.path)  # status lines (plan limits), see statusline()
        self.bind = bind
        self.grpc_port = grpc_port
        self.http_port = http_port
        self.security = security or Security()
        self.max_connections = connection_cap() if max_connections is None else max_connections
        self.budget = budget or ByteBudget()
        self._decoder = ThreadPoolExecutor(max_workers=2, thread_name_prefix="ccmon-decode")
        self._storage_error: str | None = None  # set while commits fail, cleared by the next success
        self._grpc: grpc.aio.Server | None = None
        self._http: HttpServer | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self.listeners: list[Callable[[], None]] = []  # told on the loop after every export

    def _changed(self) -> None:
        for cb in self.listeners:
            cb()

    async def decode(self, signal: str, body: bytes, *, json_body: bool = False, gzipped: bool = False) -> Batch:
        """Inflate and decode on a thread unless small: a 50 MiB export takes seconds of CPU
        and must not stall the other senders. The caller holds ``budget`` for the body."""
        if len(body) <= INLINE_DECODE_BYTES and not gzipped:
            return decode(signal, body, json_body=json_body)

        def work() -> Batch:
            return decode(signal, gunzip(body) if gzipped else body, json_body=json_body)

        return await asyncio.get_running_loop().run_in_executor(self._decoder, work)

    @staticmethod
    def inflated_size(body: bytes, gzipped: bool) -> int:
        return gzip_size_hint(body) if gzipped else len(body)

    async def accept(self, signal: str, batch: Batch, via: Via | None = None) -> None:
        """Commit ``batch``; raises StorageError (answered 503 / UNAVAILABLE) if it cannot be."""
        via = via or Via(GRPC)
        try:
            for part in _chunks(batch, COMMIT_CHUNK_ITEMS):
                await self.committer.submit(part)
        except Exception as exc:
            cause = storage_cause(exc)
            self.stats.rejected(signal, via, via.unavailable(), f"cannot store exports: {cause}")
            if self._storage_error != cause:  # one log line per new cause, not one per export
                log.warning("cannot store exports: %s (answering 503 until writes succeed again)", cause)
            self._storage_error = cause
            self._changed()
            raise StorageError(cause) from None
        self.stats.accepted(signal, via, batch)
        if self._storage_error is not None:
            self._storage_recovered()
        self._changed()

    def _storage_recovered(self) -> None:
        """Writes succeed again: say so once and take the error off the status bar."""
        log.warning("storing exports again (was: %s)", self._storage_error)
        self.stats.clear_error("cannot store exports:")
        self._storage_error = None

    async def statusline(self, body: bytes) -> bool:
        """Store one status-line JSON (``POST /ccmon/v1/statusline``); False if it is not one."""
        from ..model.statusline import parse

        sl = parse(body)
        if sl is None or not sl.session:
            return False
        t_ns = self.store.clock()
        known = getattr(getattr(self.store, "aggs", None), "sessions", {}).get(sl.session)
        account = getattr(known, "user", "") or ""
        await self.committer.run(self.limits.record, sl, body, account, t_ns)
        self.limits.apply(sl, account, t_ns)
        self._changed()
        return True

    def reject(self, signal: str, why: str, via: Via | None = None, status: str = "") -> None:
        """A request refused with ``status`` (HTTP code or gRPC status name) because ``why``."""
        log.info("rejected %s export: %s", signal, why)
        self.stats.rejected(signal, via or Via(GRPC), status, why)
        self._changed()

    def info(self) -> dict:
        """``GET /ccmon/v1/info`` (and the gRPC ``ccmon.v1.Info/Get``): lets ``ccmon doctor`` tell
        this ccmon from another OTLP receiver on the same port."""
        import os

        from .. import __version__

        return {
            "name": "ccmon",
            "version": __version__,
            "pid": os.getpid(),
            "bind": self.bind,
            "grpc_port": self.grpc_port,
            "http_port": self.http_port,
            "received": self.stats.received(),
            "statuslines": self.limits.received,
        }

    async def start(self) -> None:
        """Bind both servers (port 0 picks a free port; the chosen one is stored back).
        Raises CcmonError with one line: code 2 naming the port and its flag when it is taken,
        code 1 saying what else went wrong (an address not of this machine, a bad certificate)."""
        from .grpc_server import start_grpc
        from .http_server import start_http

        try:
            self.security.server_context()
        except (OSError, ValueError) as exc:
            raise CcmonError(
                f"cannot use --tls-cert {self.security.tls_cert} / --tls-key {self.security.tls_key}: {exc}", 2
            ) from None
        which = "grpc"
        try:
            if self.grpc_port is not None:
                self._grpc, self.grpc_port = await start_grpc(self, self.bind, self.grpc_port)
            which = "http"
            if self.http_port is not None:
                self._http, self.http_port = await start_http(self, self.bind, self.http_port)
        except OSError as exc:
            await self.stop()
            if exc.errno == errno.EADDRINUSE:
                port = self.grpc_port if which == "grpc" else self.http_port
                raise CcmonError(
                    f"{exc.strerror} (another ccmon or an OTel Collector?); choose another port "
                    f"than {port} with {PORT_FLAGS[which]}",
                    2,
                ) from None
            raise CcmonError(exc.strerror or str(exc), 1) from None
        self.store.where = self.stats.where = self.endpoints()
        self.stats.version += 1  # the status bar and the waiting screen name the ports now
        self.limits.load(self.store.clock())
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
        self.limits.close()
        self._decoder.shutdown(wait=False, cancel_futures=True)
        await asyncio.sleep(0)


class OtlpSource:
    """The embedded source: receivers + store, as the dashboard's ``model.source.Source``."""

    SESSION_EVENT_LIMIT = 5000

    def __init__(self, store: Store, receiver: Receiver, lock=None) -> None:
        self.store = store
        self.receiver = receiver
        self.lock = lock  # ingest.owner.DbLock: this dashboard owns the database while it runs
        self._loading: asyncio.Future[None] | None = None

    def add_listener(self, callback: Callable[[], None]) -> None:
        """``callback()`` runs on the loop after every export: the app refreshes then, not on a timer."""
        self.receiver.listeners.append(callback)

    @property
    def version(self) -> int:
        return self.store.version + self.receiver.stats.version + self.receiver.limits.version  # all only grow

    @property
    def description(self) -> str:
        return self.receiver.endpoints()

    async def start(self) -> None:
        """Load the store (a thread: a big database takes a second) then open the ports."""
        if not self.store.loaded:
            # Shielded and remembered: quitting during the load must not close the store under
            # the thread still reading it (SQLite would crash); ``stop`` waits for it.
            self._loading = asyncio.ensure_future(asyncio.to_thread(self.store.load))
            await asyncio.shield(self._loading)
        await self.receiver.start()
        if self.lock is not None:
            self.lock.update(self.receiver.grpc_port, self.receiver.http_port)
        self.receiver._changed()  # the loaded totals: show them now

    async def stop(self) -> None:
        if self._loading is not None and not self._loading.done():
            await asyncio.wait([self._loading])
        await self.receiver.stop()
        self.store.close()
        if self.lock is not None:
            self.lock.release()

    def snapshot(self, now_ns: int | None = None):
        from dataclasses import replace

        version = self.version
        limits = self.receiver.limits
        snap = self.store.snapshot(now_ns)
        return replace(snap, version=version, status=self.receiver.stats.status(), limits=limits.view(snap.sessions))

    def flow(self, now_ns: int | None = None):
        """What arrived on the wire, for the Flow view (``model.flow.Flow``)."""
        return self.receiver.stats.flow(now_ns)

    # -- the dashboard's time range (model.ranged): off the loop, on their own connections ----

    async def ranged_snapshot(self, since_ns: int, now_ns: int):
        """The totals from ``since_ns`` on, from the rollups (``report --since``)."""
        from ..model.ranged import snapshot_since
        from .ranged import off_loop

        return await off_loop(self.store.path, snapshot_since, since_ns, now_ns, self.receiver.stats.status())

    async def per_day(self, since_ns: int, until_ns: int) -> dict:
        """``ccmon report --by day`` over the window."""
        from ..model.ranged import per_day
        from .ranged import off_loop

        return await off_loop(self.store.path, per_day, since_ns, until_ns)

    async def session_detail(self, key: str):
        from ..model.session_detail import build_detail

        def load():
            events = self.store.session_events(key, self.SESSION_EVENT_LIMIT)
            return build_detail(
                key,
                events,
                self.store.session_cost_points(key),
                self.SESSION_EVENT_LIMIT,
                self.store.session_interactions(key),
            )

        return await asyncio.to_thread(load)
