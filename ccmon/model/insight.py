"""Where the insight queries run: the database behind a dashboard source.

The insight views (prompts, attribution, cache clock, money) read the database the source
writes or watches, with a read-only connection of their own (``run_query``), on a worker
thread the views start (``views.insight_load``), so a large query never holds up the event
loop or the receiver's writer. A source without a database (Prometheus) has no events:
``db_path`` is None and the views say so.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

from . import db

T = TypeVar("T")


def db_path(source: Any) -> str | os.PathLike[str] | None:
    """The SQLite file behind ``source``: the embedded receiver's store, or the one a viewer
    follows. None for sources without one."""
    path = getattr(source, "db", None)  # ingest.viewer.ViewerSource
    if path is None:
        path = getattr(getattr(source, "store", None), "path", None)  # OtlpSource and test sources
    return path


def run_query(path: str | os.PathLike[str], query: Callable[[sqlite3.Connection], T]) -> T:
    conn = db.connect(path, readonly=True)
    try:
        return query(conn)
    finally:
        conn.close()
