"""``ccmon report``: totals from the database (or Prometheus) as text or JSON."""

from __future__ import annotations

import argparse
import json
import sqlite3
import time

from .cli import fail


def report(args: argparse.Namespace) -> int:
    if getattr(args, "by", None) or getattr(args, "format", None) or getattr(args, "until", None):
        from .commands.report_over_time import run  # reports over time (issue 16)

        return run(args)
    from .model.report import add_statusline, parse_duration, report_dict, report_text, statusline_text

    since_ns = 0
    if args.since:
        try:
            since_ns = time.time_ns() - int(parse_duration(args.since) * 1e9)
        except ValueError as exc:
            return fail(str(exc), 2)
    if args.prometheus:
        from .ingest.prometheus.report import prometheus_report

        data = prometheus_report(args, since_ns)
        if isinstance(data, int):
            return data
    else:
        from .model import db
        from .model.limits_store import load_view
        from .model.snapshot import SourceStatus
        from .model.store import rebuild

        try:
            conn = db.connect(args.db, readonly=True)
            built = rebuild(conn, since_ns)
            limits = load_view(conn, since_ns)
            conn.close()
        except FileNotFoundError:
            return fail(f"no ccmon database at {args.db}: run `ccmon` or `ccmon serve` first, or pass --db")
        except sqlite3.Error as exc:
            return fail(f"cannot read {args.db}: {exc}")
        snap = built.aggs.snapshot(0, SourceStatus(kind="otlp", where=str(args.db)))
        data = add_statusline(report_dict(snap, since_ns), limits)
    if args.json:
        print(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        print(report_text(data))
        if (limits_line := statusline_text(data)) is not None:
            print(limits_line)
    return 0
