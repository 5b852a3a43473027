"""What one receiver will hold at once: the limits that keep memory and file descriptors bounded
whatever the senders do, and the byte budget that enforces the memory one.

The README's "Limits" table lists these; change both together.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from .payload import MAX_BYTES, MAX_ITEMS  # noqa: F401  (re-exported: the limits in one place)

# Bytes of request bodies (inflated) read or being decoded at once, across both protocols.
# A decoded export costs several times its body in Python objects, so this is what bounds the
# receiver's memory: one 64 MiB export at a time, small ones alongside it.
INFLIGHT_BYTES = 80 * 1024 * 1024
# How long a request waits for room in that budget before it is answered 503 / UNAVAILABLE
# (retryable: the exporter sends it again later, nothing is lost). Under the OTel exporters'
# default 10 s timeout, so that they hear the 503 and its Retry-After rather than time out.
BUDGET_WAIT_S = 5.0
# Bodies up to this size are decoded on the event loop (a few ms); bigger ones on a thread,
# so that a 50 MiB export never stalls the other senders.
INLINE_DECODE_BYTES = 256 * 1024
# A big export is committed in transactions of this many events or spans, one after the
# other (it is answered only when all are in): the single SQLite writer then serves the small
# exports between them instead of after a multi-second transaction. Re-sent parts are
# recognised and skipped by the store, so a retry after a failure in the middle counts once.
COMMIT_CHUNK_ITEMS = 500
# One HTTP request, headers and body, must arrive within this (not per read: a client that
# trickles a byte a second is closed all the same).
REQUEST_DEADLINE_S = 30.0
# An idle keep-alive connection is closed after this.
IDLE_TIMEOUT_S = 120.0
# Open OTLP/HTTP connections. Past it, the connection idle the longest is closed for the new one.
MAX_CONNECTIONS = 512
# When accept() fails (out of file descriptors), wait this long before the next try...
ACCEPT_BACKOFF_S = (0.05, 1.0)
# ... and say so at most once per this many seconds.
ACCEPT_LOG_EVERY_S = 60.0


def connection_cap(wanted: int = MAX_CONNECTIONS) -> int:
    """``wanted``, but never more than half the file descriptors this process may open: the
    other half is for SQLite, gRPC and the dashboard, so a flood of idle connections cannot
    starve them."""
    try:
        import resource
    except ImportError:  # not on Windows
        return wanted
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return wanted
    return max(8, min(wanted, (soft - 32) // 2))


class Busy(Exception):
    """No room in the budget in time: answer 503 / UNAVAILABLE, retryable."""


class ByteBudget:
    """An async semaphore counted in bytes. A request bigger than the whole budget still runs,
    alone, so nothing under ``MAX_BYTES`` is refused for its size."""

    def __init__(self, total: int = INFLIGHT_BYTES, wait_s: float = BUDGET_WAIT_S) -> None:
        self.total = total
        self.wait_s = wait_s
        self.used = 0
        self.peak = 0  # for tests and benchmarks
        self._cond: asyncio.Condition | None = None

    def _condition(self) -> asyncio.Condition:
        if self._cond is None:
            self._cond = asyncio.Condition()
        return self._cond

    async def acquire(self, n: int, timeout: float | None = None) -> int:
        timeout = self.wait_s if timeout is None else timeout
        n = max(0, min(n, self.total))
        cond = self._condition()
        async with cond:
            try:
                await asyncio.wait_for(cond.wait_for(lambda: self.used + n <= self.total), timeout)
            except TimeoutError:
                raise Busy(f"ccmon is busy decoding {self.used >> 20} MiB of exports; retry later") from None
            self.used += n
            self.peak = max(self.peak, self.used)
        return n

    async def release(self, n: int) -> None:
        if not n:
            return
        cond = self._condition()
        async with cond:
            self.used -= n
            cond.notify_all()

    @asynccontextmanager
    async def hold(self, n: int, timeout: float | None = None) -> AsyncIterator[Held]:
        held = Held(self, timeout)
        await held.grow(n)
        try:
            yield held
        finally:
            await self.release(held.n)


class Held:
    """A reservation that can grow (a chunked body, a gzip body once its inflated size is known)."""

    def __init__(self, budget: ByteBudget, timeout: float | None) -> None:
        self.budget, self.timeout, self.n = budget, timeout, 0

    async def grow(self, n: int) -> None:
        room = self.budget.total - self.n
        if n > 0 and room > 0:
            self.n += await self.budget.acquire(min(n, room), self.timeout)


class EverySoOften:
    """True at most once per ``period`` seconds: one log line a minute, not one per failure."""

    def __init__(self, period: float = ACCEPT_LOG_EVERY_S) -> None:
        self.period = period
        self._last = -float("inf")
        self.suppressed = 0

    def __call__(self) -> bool:
        now = time.monotonic()
        if now - self._last >= self.period:
            self._last = now
            return True
        self.suppressed += 1
        return False
