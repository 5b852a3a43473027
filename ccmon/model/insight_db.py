"""Read-only queries for the insight views (prompts, attribution, cache clock, money).

Kept apart from ``db.py`` on purpose: these read the raw ``events`` and the metric ``points``
for drill-downs and reports, never the rebuild path. Every function takes an open connection
(read-only is enough) and returns plain rows; the meaning lives in the pure modules beside it.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

# Raw events read for one view at most: a day of heavy use is a few ten thousand.
EVENT_LIMIT = 200_000

Event = tuple[int, str, str, dict[str, Any]]  # (t_ns, session, name, attrs incl. resource attrs)

_SELECT = (
    "SELECT e.t_ns, e.session, e.name, e.attrs, r.attrs FROM events e LEFT JOIN resources r ON r.id = e.resource_id "
)


def _rows(cur: sqlite3.Cursor) -> list[Event]:
    resources: dict[str, dict] = {}
    out = []
    for t, session, name, attrs_json, res_json in cur:
        attrs = json.loads(attrs_json)
        if res_json:
            res = resources.get(res_json)
            if res is None:
                res = resources[res_json] = json.loads(res_json)
            attrs = {**res, **attrs}
        out.append((t, session, name, attrs))
    return out


def prompt_events(
    conn: sqlite3.Connection, *, session: str | None = None, since_ns: int = 0, limit: int = EVENT_LIMIT
) -> list[Event]:
    """Events that belong to a prompt (they carry ``prompt.id``), of one session or of every
    session since ``since_ns``, in time order."""
    has_prompt = "json_extract(e.attrs, '$.\"prompt.id\"') IS NOT NULL"
    if session is not None:
        cur = conn.execute(
            _SELECT + f"WHERE e.session = ? AND e.t_ns >= ? AND {has_prompt} ORDER BY e.t_ns, e.id LIMIT ?",
            (session, since_ns, limit),
        )
    else:
        cur = conn.execute(
            _SELECT + f"WHERE e.t_ns >= ? AND {has_prompt} ORDER BY e.t_ns, e.id LIMIT ?", (since_ns, limit)
        )
    return _rows(cur)


def one_prompt(conn: sqlite3.Connection, session: str, prompt_id: str, limit: int = EVENT_LIMIT) -> list[Event]:
    """Every event of one prompt (the session's index, then the prompt id), in time order."""
    cur = conn.execute(
        _SELECT + "WHERE e.session = ? AND json_extract(e.attrs, '$.\"prompt.id\"') = ? ORDER BY e.t_ns, e.id LIMIT ?",
        (session, prompt_id, limit),
    )
    return _rows(cur)


def api_requests(
    conn: sqlite3.Connection, *, session: str | None = None, since_ns: int = 0, limit: int = EVENT_LIMIT
) -> list[Event]:
    """``api_request`` events (the partial index), of one session or all, in time order."""
    if session is not None:
        cur = conn.execute(
            _SELECT + "WHERE e.session = ? AND e.name = 'api_request' AND e.t_ns >= ? ORDER BY e.t_ns, e.id LIMIT ?",
            (session, since_ns, limit),
        )
    else:
        cur = conn.execute(
            _SELECT + "WHERE e.name = 'api_request' AND e.t_ns >= ? ORDER BY e.t_ns, e.id LIMIT ?", (since_ns, limit)
        )
    return _rows(cur)


def metric_sums(
    conn: sqlite3.Connection, metrics: tuple[str, ...], since_ns: int = 0, session: str | None = None
) -> list[tuple[str, str, dict[str, Any], float]]:
    """Per series of ``metrics``: (metric, session, point attributes, sum of increments since
    ``since_ns``). The point attributes come from the series key (see ``otlp._series_key``)."""
    marks = ",".join("?" * len(metrics))
    sql = (
        f"SELECT s.metric, s.session, s.key, SUM(p.inc) FROM points p JOIN series s ON s.id = p.series_id "
        f"WHERE s.metric IN ({marks}) AND p.end_ns >= ?"
    )
    args: list[Any] = [*metrics, since_ns]
    if session is not None:
        sql += " AND s.session = ?"
        args.append(session)
    out = []
    for metric, sess, key, total in conn.execute(sql + " GROUP BY s.id", args):
        parts = key.split("\x1f")
        try:
            attrs = json.loads(parts[2]) if len(parts) > 2 else {}
        except ValueError:
            attrs = {}
        out.append((metric, sess, attrs, total or 0.0))
    return out


def recent_ttft(conn: sqlite3.Connection, limit: int = 2000) -> list[float]:
    """The newest API requests' ``ttft_ms`` (2.1.330+; absent before), newest first. Served by
    the ``events_api`` partial index, like the dashboard's latencies."""
    out = []
    for (v,) in conn.execute(
        "SELECT json_extract(attrs, '$.ttft_ms') FROM events WHERE name = 'api_request' "
        "ORDER BY t_ns DESC, id DESC LIMIT ?",
        (limit,),
    ):
        try:
            out.append(float(v))
        except (TypeError, ValueError):
            pass  # an older CLI: no time to first token
    return out
