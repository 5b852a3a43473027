"""``ccmon report --by prompt|<attribution dimension>|cache|money``: the insight reports.

Kept out of ``commands/report.py`` (which owns the totals report and the time buckets): that module
hands ``--by`` values listed in ``INSIGHT_BY`` to ``run`` here and returns its exit code.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import time

from ..errors import CcmonError
from ..model.attribution import DIMENSIONS

INSIGHT_BY = ("prompt", *DIMENSIONS, "cache", "money")


def _since_ns(args: argparse.Namespace, now_ns: int) -> int:
    from ..model.summary import parse_duration

    if not getattr(args, "since", None):
        return 0
    try:
        return now_ns - int(parse_duration(args.since) * 1e9)
    except ValueError as exc:
        raise CcmonError(str(exc), 2) from None


def build(by: str, conn: sqlite3.Connection, since_ns: int, now_ns: int, limit: int = 20) -> tuple[dict, str]:
    """(JSON-ready data, text) of one insight report, from an open database."""
    if by == "prompt":
        from ..model import insight_db, prompts

        d = prompts.prompts_dict(prompts.group_prompts(insight_db.prompt_events(conn, since_ns=since_ns)), limit)
        return d, prompts.prompts_text(d)
    if by in DIMENSIONS:
        from ..model import attribution as at
        from ..model import insight_db

        metrics = at.from_metrics(insight_db.metric_sums(conn, (at.COST_METRIC, at.TOKEN_METRIC), since_ns), by)
        events = at.from_events(insight_db.api_requests(conn, since_ns=since_ns), by)
        ds = [at.attribution_dict(metrics), at.attribution_dict(events)]
        return {"by": by, "from_metrics": ds[0], "from_events": ds[1]}, at.attribution_text(ds)
    if by == "cache":
        from ..model import cache_clock, insight_db

        d = cache_clock.cache_dict(cache_clock.session_caches(insight_db.api_requests(conn, since_ns=since_ns)), now_ns)
        return d, cache_clock.cache_text(d)
    if by == "money":
        from ..model import insight_db, money

        sums = insight_db.metric_sums(conn, ("claude_code.cost.usage", "claude_code.token.usage"), since_ns)
        d = money.money_dict(money.session_money(sums, insight_db.api_requests(conn, since_ns=since_ns)))
        return d, money.money_text(d)
    raise CcmonError(f"cannot report by {by!r}", 2)


def run(args: argparse.Namespace) -> int:
    from ..model import db
    from ..model.summary import iso

    if getattr(args, "prometheus", None):
        raise CcmonError(f"--by {args.by} reads Claude Code's events, which Prometheus does not have", 2)
    now = time.time_ns()
    since = _since_ns(args, now)
    try:
        conn = db.connect(args.db, readonly=True)
    except FileNotFoundError:
        raise CcmonError(f"no ccmon database at {args.db}: run `ccmon` or `ccmon serve` first, or pass --db") from None
    try:
        data, text = build(args.by, conn, since, now)
    except sqlite3.Error as exc:
        raise CcmonError(f"cannot read {args.db}: {exc}") from None
    finally:
        conn.close()
    data["since"] = iso(since)
    if args.json:
        print(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        print(text)
    return 0
