"""``ccmon report``: totals from the database (or Prometheus) as text or JSON."""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import time

from ..errors import CcmonError

# Claude Code exports metrics every 60 s by default (logs every 5 s): data older than two
# metric intervals with no receiver running means exports are being refused right now.
STALE_AFTER_NS = 120_000_000_000


def _warn_if_nothing_receives(path: str, conn: sqlite3.Connection) -> None:
    """On stderr (the report itself stays clean for --json): exports are being lost."""
    from ..ingest.owner import probe
    from ..model.follow import newest_ns

    newest = max(newest_ns(conn))
    if not newest or time.time_ns() - newest < STALE_AFTER_NS or probe(path) is not None:
        return
    age_min = (time.time_ns() - newest) // 60_000_000_000
    age = f"{age_min // 1440} d" if age_min >= 2880 else f"{age_min // 60} h" if age_min >= 120 else f"{age_min} min"
    print(
        f"ccmon: note: the newest data is {age} old and no ccmon receiver is running on {path}: whatever "
        "Claude Code exported meanwhile was refused and is lost. Keep one running: ccmon service install",
        file=sys.stderr,
    )


def report(args: argparse.Namespace) -> int:
    from ..model.periods import BY

    # Any other --by (cli's choices) is an insight report: prompt, attribution dimensions, cache,
    # money (issue 17). Not `in insight_report.INSIGHT_BY`: importing that module costs every
    # report ~30 ms (model.attribution, model.snapshot).
    if getattr(args, "by", None) not in (None, *BY):
        from .insight_report import run as insight_report

        return insight_report(args)
    if getattr(args, "by", None) or getattr(args, "format", None) or getattr(args, "until", None):
        from .report_over_time import run  # reports over time (issue 16)

        return run(args)
    from ..model.summary import add_statusline, parse_duration, report_dict, report_text, statusline_text

    since_ns = 0
    if args.since:
        try:
            since_ns = time.time_ns() - int(parse_duration(args.since) * 1e9)
        except ValueError as exc:
            raise CcmonError(str(exc), 2) from None
    if args.prometheus:
        from ..ingest.prometheus.totals import prometheus_report

        data = prometheus_report(args, since_ns)
    else:
        from ..model import db
        from ..model.limits_store import load_view
        from ..model.snapshot import SourceStatus
        from ..model.store import rebuild

        try:
            conn = db.connect(args.db, readonly=True)
            built = rebuild(conn, since_ns, time.time_ns())
            limits = load_view(conn, since_ns)
            _warn_if_nothing_receives(args.db, conn)
            conn.close()
        except FileNotFoundError:
            raise CcmonError(
                f"no ccmon database at {args.db}: run `ccmon` or `ccmon serve` first, or pass --db"
            ) from None
        except sqlite3.Error as exc:
            raise CcmonError(f"cannot read {args.db}: {exc}") from None
        # The metrics' figures; API calls they have not counted yet are listed apart.
        snap = built.aggs.snapshot(0, SourceStatus(kind="otlp", where=str(args.db)), include_provisional=False)
        data = add_statusline(report_dict(snap, since_ns), limits)
    if args.json:
        from ..model.text import json_safe

        print(json_safe(json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False)))  # \u202e stays escaped
    else:
        print(report_text(data))
        if (limits_line := statusline_text(data)) is not None:
            print(limits_line)
    return 0
