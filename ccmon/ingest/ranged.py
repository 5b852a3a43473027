"""The sources' time-range computations (``model.ranged``) off the event loop.

Each runs on a thread with its own read-only connection (``model.ranged.Query``), never the
receiver's or the UI's; cancelled (a range abandoned, the app quitting), SQLite is interrupted
and the thread ends on its own instead of reading on.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from typing import Any, TypeVar

from ..model.ranged import Query

T = TypeVar("T")


async def off_loop(path: str | os.PathLike[str], fn: Callable[..., T], *args: Any) -> T:
    """``fn(conn, *args)`` on a thread with its own read-only connection to ``path``;
    cancelled, SQLite is interrupted and the thread ends on its own."""
    query = Query(path)
    future = asyncio.ensure_future(asyncio.to_thread(query.run, fn, *args))
    future.add_done_callback(lambda f: f.cancelled() or f.exception())  # an interrupted one is expected
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        query.interrupt()
        raise
