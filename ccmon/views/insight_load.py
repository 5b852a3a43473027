"""Run an insight query (``model.insight``) against a source's database on a worker thread."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

from ..model.insight import db_path, run_query

T = TypeVar("T")


async def load(source: Any, query: Callable[[sqlite3.Connection], T]) -> T | None:
    """``query(conn)`` on a thread against ``source``'s database; None without one."""
    path = db_path(source)
    if path is None:
        return None
    return await asyncio.to_thread(run_query, path, query)
