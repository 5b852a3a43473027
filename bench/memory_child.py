"""Child process for figures 5 and 6 (``python -m bench.memory_child``): build or reopen a store.

``build``: feed ``--events`` Claude Code events across ``--sessions`` sessions through the
real path (``workload`` bodies -> ``ingest.payload.decode`` -> ``Store.write`` + ``Store.apply``,
``--batch`` exports per transaction as the group committer does under load), take one
snapshot as the dashboard would, and report RSS. The process imports what the dashboard
imports (textual and the views when they exist), so the RSS is the app's, not just the store's.

``reopen``: time ``Store(path)`` (retention sweep + rebuild of every aggregate from SQLite)
plus the first ``snapshot()``, and report the totals it shows.
"""

from __future__ import annotations

import argparse
import gc
import resource
import time
from pathlib import Path
from typing import Any

from .proc import emit, pin, rss_bytes


def _import_app_modules() -> list[str]:
    loaded = []
    for mod in (
        "textual.app",
        "textual.widgets",
        "ccmon.ingest.receiver",
        "ccmon.ingest.grpc_server",
        "ccmon.ingest.http_server",
        "ccmon.views.app",
    ):
        try:
            __import__(mod)
            loaded.append(mod)
        except ImportError:
            pass
    return loaded


def _totals(store: Any, snap: Any) -> dict[str, Any]:
    c = store._read
    return {
        "events": sum(n for _, n in snap.events_by_name),
        "events_rows": c.execute("SELECT COUNT(*) FROM events").fetchone()[0],
        "points_rows": c.execute("SELECT COUNT(*) FROM points").fetchone()[0],
        "cost": snap.cost_total,
        "api_requests": snap.api_requests,
        "sessions": len(snap.sessions),
    }


def build(args: argparse.Namespace) -> dict[str, Any]:
    from ccmon.model.store import Store

    from .feed import feed
    from .workload import Workload

    modules = _import_app_modules()
    rss_empty = rss_bytes()
    store = Store(args.db, retention_days=0)
    wl = Workload("mem", args.sessions, time.time_ns() - 3 * 3600 * 1_000_000_000)
    t0 = time.perf_counter()
    rounds, _ = feed(store, wl, args.events, batch=args.batch)
    elapsed = time.perf_counter() - t0
    snap = store.snapshot()
    gc.collect()
    out = {
        "rss": rss_bytes(),
        "rss_before_store": rss_empty,
        "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "ingest_s": elapsed,
        "rounds": dict(rounds),
        "modules": modules,
        "db_bytes": sum(p.stat().st_size for p in Path(args.db).parent.glob(Path(args.db).name + "*")),
        **_totals(store, snap),
    }
    store.close()
    return out


def reopen(args: argparse.Namespace) -> dict[str, Any]:
    t_import = time.perf_counter()
    from ccmon.model.store import Store

    t0 = time.perf_counter()
    store = Store(args.db)  # default retention, as the app opens it
    t1 = time.perf_counter()
    snap = store.snapshot()
    t2 = time.perf_counter()
    out = {
        "open_s": t1 - t0,
        "snapshot_s": t2 - t1,
        "total_s": t2 - t0,
        "import_s": t0 - t_import,
        "rss": rss_bytes(),
        **_totals(store, snap),
    }
    store.close()
    return out


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("what", choices=("build", "reopen"))
    p.add_argument("--db", required=True)
    p.add_argument("--events", type=int, default=1_000_000)
    p.add_argument("--sessions", type=int, default=10_000)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--cpu", type=int, default=None)
    a = p.parse_args()
    pin(a.cpu)
    emit(build(a) if a.what == "build" else reopen(a))
