"""Group commit: concurrent exports share one SQLite transaction, none is answered before it.

Requests that arrive while a commit is running wait in ``_pending``; the next commit takes
them all. Under load that turns N fsync-bound commits into one, and when idle a lone export
is committed at once (no timer, so no added latency). The SQLite work runs on one
dedicated thread, so the event loop keeps serving sockets and the screen meanwhile.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

from ..model.store import Store
from ..model.types import Batch


class GroupCommitter:
    def __init__(self, store: Store, max_batch: int = 512) -> None:
        self.store = store
        self.max_batch = max_batch
        self._pending: list[tuple[Batch, asyncio.Future[None]]] = []
        self._running: asyncio.Task[None] | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ccmon-sqlite")
        self.commits = 0  # for benchmarks: exports per commit = received / commits
        self._uncheckpointed = 0
        self._checkpointed_at = 0.0
        # Called on the loop with each commit's ``Accepted`` once it is counted (the alert watcher).
        self.on_commit: list = []

    async def submit(self, batch: Batch) -> None:
        """Return once ``batch`` is committed and counted; raise if it could not be stored."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        self._pending.append((batch, fut))
        if self._running is None or self._running.done():
            self._running = loop.create_task(self._drain())
        await fut

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        while self._pending:
            items = self._pending[: self.max_batch]
            del self._pending[: self.max_batch]
            await self._commit(loop, items)
            if not self._pending and self._uncheckpointed and time.monotonic() - self._checkpointed_at >= 1.0:
                # Idle: copy the WAL into the database now, so that SQLite's own checkpoint
                # (run inside a commit, holding up every waiting export while it fsyncs) rarely
                # has to. At most once a second, so a steady trickle does not pay it each time.
                self._uncheckpointed = 0
                self._checkpointed_at = time.monotonic()
                await loop.run_in_executor(self._executor, self.store.checkpoint)

    async def _commit(self, loop: asyncio.AbstractEventLoop, items: list[tuple[Batch, asyncio.Future[None]]]) -> None:
        try:
            acc = await loop.run_in_executor(self._executor, self.store.write, [b for b, _ in items])
        except Exception as exc:
            if len(items) > 1:
                # One bad export must not fail the others that shared its transaction:
                # retry them one by one so only the culprit hears an error.
                for item in items:
                    await self._commit_one(loop, *item)
                return
            _fail(items, exc)
            return
        self._done(acc, items)

    async def _commit_one(self, loop: asyncio.AbstractEventLoop, batch: Batch, fut: asyncio.Future[None]) -> None:
        try:
            acc = await loop.run_in_executor(self._executor, self.store.write, [batch])
        except Exception as exc:
            _fail([(batch, fut)], exc)
        else:
            self._done(acc, [(batch, fut)])

    def _done(self, acc, items: list[tuple[Batch, asyncio.Future[None]]]) -> None:
        self.commits += 1
        self._uncheckpointed += 1
        self.store.apply(acc)
        for callback in self.on_commit:
            callback(acc)
        for _, fut in items:
            if not fut.done():
                fut.set_result(None)

    async def run(self, fn, *args):
        """Run ``fn`` on the SQLite thread (e.g. the retention sweep), between commits."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def close(self) -> None:
        """Finish what is pending (so every answered export stays answered), then stop."""
        if self._running is not None:
            await asyncio.shield(self._running)
        self._executor.shutdown(wait=True)


def _fail(items: list[tuple[Batch, asyncio.Future[None]]], exc: BaseException) -> None:
    for _, fut in items:
        if not fut.done():
            fut.set_exception(exc)
