"""Reports over time: totals per day, week, session, model, user, terminal or repository in a
window, and the ROI figures (``ccmon report --since 30d --by day [--format md]``).

Read-only and narrow: metric increments come from the per-minute rollup (``point_minutes``),
summed by SQL per series and 15-minute slot (so local days and weeks are exact in every time
zone), and events from the raw ``events`` table (kept ``--retention-days``): request and error
counts, API errors by model, rejections by tool. Never a rebuild of the dashboard's aggregates.
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import names
from .periods import LENGTH_BUCKETS, SLOT_NS, label_key, length_bucket, time_key

if TYPE_CHECKING:  # only from_snapshot's annotation: model.snapshot costs the report ~20 ms to import
    from .snapshot import Snapshot

MINUTE_NS = 60_000_000_000
DAY_NS = 86_400_000_000_000  # the event rollup's (UTC) day
_TT = names.TOKEN_TYPES
_COLS = (
    "cost_usd",
    "input",
    "output",
    "cacheRead",
    "cacheCreation",
    "lines_added",
    "lines_removed",
    "commits",
    "pull_requests",
    "active_s",
    "requests",
    "errors",
)


@dataclass(slots=True)
class _Group:
    v: dict[str, float] = field(default_factory=lambda: dict.fromkeys(_COLS, 0.0))
    sessions: set[str] = field(default_factory=set)

    def row(self, key: str) -> dict:
        v = self.v
        reads = v["input"] + v["cacheRead"] + v["cacheCreation"]
        return {
            "key": key,
            "cost_usd": round(v["cost_usd"], 10),
            "tokens": {t: int(v[t]) for t in _TT},
            "cache_hit": round(v["cacheRead"] / reads, 6) if reads else None,
            "sessions": len(self.sessions),
            "active_hours": round(v["active_s"] / 3600, 6),
            "lines_added": int(v["lines_added"]),
            "lines_removed": int(v["lines_removed"]),
            "commits": int(v["commits"]),
            "pull_requests": int(v["pull_requests"]),
            "requests": int(v["requests"]),
            "errors": int(v["errors"]),
        }


def _metric_cols(metric: str, kind: str | None) -> str | None:
    if metric == names.COST:
        return "cost_usd"
    if metric == names.TOKENS:
        return kind if kind in _TT else None
    if metric == names.LINES:
        return "lines_removed" if kind == "removed" else "lines_added"
    if metric == names.COMMITS:
        return "commits"
    if metric == names.PULL_REQUESTS:
        return "pull_requests"
    if metric == names.ACTIVE_TIME:
        return "active_s"
    return None


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 6) if b else None


def _series_slots(conn: sqlite3.Connection, lo_min: int, hi_min: int, labels: bool) -> Iterator[tuple[Any, ...]]:
    """The window's metric increments summed per series and 15-minute slot, with the series'
    columns: (id, metric, kind, session, user, model, edit, labels or None, slot, sum, first, last),
    in (series, slot) order.

    One pass over ``point_minutes`` in its primary-key order (series, minute), each row joined to
    its series by id: no temporary B-tree (GROUP BY ``minute / 15`` cannot use the key, and
    sorting every row of a month cost more than the rest of the report), and no read of the
    whole ``series`` table with its wide JSON ``key`` column. Most slots hold one minute of a
    series: that row is passed on as SQLite made it; the others are summed here in minute
    order, as SQLite's SUM adds them (before 3.43, which compensates: a difference in the last
    bit at most, far below the report's 10 decimals)."""
    rows = conn.execute(
        "SELECT p.series_id, s.metric, s.kind, s.session, s.user_id, s.model, s.edit, "
        f"{'s.labels' if labels else 'NULL'}, p.minute / ?, p.inc, p.first_ns, p.last_ns "
        "FROM point_minutes p JOIN series s ON s.id = p.series_id "
        "WHERE p.minute >= ? AND p.minute < ? ORDER BY p.series_id, p.minute",
        (SLOT_NS // MINUTE_NS, lo_min, hi_min),
    )
    prev = None
    for row in rows:
        if prev is not None and row[0] == prev[0] and row[8] == prev[8]:
            prev = (*prev[:9], prev[9] + row[9], min(prev[10], row[10]), max(prev[11], row[11]))
            continue
        if prev is not None:
            yield prev
        prev = row
    if prev is not None:
        yield prev


def build(
    conn: sqlite3.Connection,
    since_ns: int,
    until_ns: int,
    by: str,
    plans: dict[str, float] | None = None,
    top: int = 10,
) -> dict:
    lo_min, hi_min = since_ns // MINUTE_NS, -(-until_ns // MINUTE_NS)
    groups: dict[str, _Group] = defaultdict(_Group)
    total = _Group()
    sess: dict[str, dict] = {}
    edits: defaultdict[tuple[str, str, str], float] = defaultdict(float)  # (tool, who, decision) -> count
    label_cache: dict[str, dict[str, str]] = {}
    slot_keys: dict[int, str] = {}
    by_labels = by in ("terminal", "repo")
    per_slot = by in ("day", "week")
    # Per distinct value, not per row: a month has ~100,000 (series, slot) rows and a handful
    # of metrics and edit decisions.
    col_of: dict[tuple[str, str | None], str | None] = {}
    edit_of: dict[str, tuple[str, str, str]] = {}

    def slot_key(slot: int) -> str:
        k = slot_keys.get(slot)
        if k is None:
            k = slot_keys[slot] = time_key(by, slot * SLOT_NS)
        return k

    def key_of(session: str, user: str, model: str, labels: str | None, slot: int) -> str:
        if by in ("day", "week"):
            return slot_key(slot)
        if by == "session":
            return session
        if by == "model":
            return model
        if by == "user":
            return user or "(unknown)"
        lab = label_cache.get(labels or "[]")
        if lab is None:
            lab = label_cache[labels or "[]"] = {k: v for k, v in json.loads(labels or "[]")}
        return label_key(by, lab)

    for _sid, metric, kind, session, user, model, edit, labels, slot, inc, first, last in _series_slots(
        conn, lo_min, hi_min, by_labels
    ):
        st = sess.get(session)
        if st is None:
            st = sess[session] = {
                "session": session,
                "user": user,
                "first_ns": first,
                "last_ns": last,
                "cost_usd": 0.0,
                "commits": 0.0,
                "models": set(),
            }
        if first < st["first_ns"]:
            st["first_ns"] = first
        if last > st["last_ns"]:
            st["last_ns"] = last
        if metric == names.EDIT_DECISION and edit:
            decided = edit_of.get(edit)
            if decided is None:
                tool, _lang, source, decision = json.loads(edit)
                who = "human" if str(source).startswith("user") else "automatic"
                decided = edit_of[edit] = (tool, who, decision)
            edits[decided] += inc
            continue
        mk = (metric, kind)
        col = col_of.get(mk, "")
        if col == "":
            col = col_of[mk] = _metric_cols(metric, kind)
        if col is None:
            continue
        model = model or "unknown"
        if col == "cost_usd":
            st["cost_usd"] += inc
            st["models"].add(model)
        elif col == "commits":
            st["commits"] += inc
        g = groups[(slot_keys.get(slot) or slot_key(slot)) if per_slot else key_of(session, user, model, labels, slot)]
        g.v[col] += inc
        g.sessions.add(session)
        total.v[col] += inc
        total.sessions.add(session)

    # Events in the window (raw events: within retention). Requests through the partial index
    # on api_request times; errors are few: the sessions that had any come from the rollup,
    # their error events (for the model) from the per-session index. Nothing scans every event.
    session_group: dict[str, str] = {}
    # --by terminal|repo: a session's events are grouped by the labels of its first series.
    labels_of_session: dict[str, str] = {}
    if by_labels:
        for session, labels in conn.execute("SELECT session, labels FROM series ORDER BY id"):
            labels_of_session.setdefault(session, labels)
    errors_by_model: dict[str, int] = defaultdict(int)
    rejections: dict[str, int] = defaultdict(int)  # by tool: from the edit-decision metric below

    def event_key(session: str, user: str, slot: int, model: str | None) -> str:
        if by in ("day", "week"):
            return slot_key(slot)
        if by == "session":
            return session
        if by == "user":
            return user or "(unknown)"
        if by == "model":
            return str(model or "unknown")
        key = session_group.get(session)
        if key is None:
            labels = labels_of_session.get(session)
            key = session_group[session] = key_of(session, user, "", labels, 0) if labels is not None else "(unknown)"
        return key

    # Requests: from the event rollup (per UTC day and session: count, first and last time;
    # kept for good, and small) when a row lies inside the window and within one group; only
    # a row that straddles the window's edge or a local midnight, and --by model (the rollup
    # has no model), is counted from that session's raw events.
    model_col = "json_extract(attrs, '$.model')" if by == "model" else "NULL"
    slot_col = "t_ns / ?" if per_slot else "0"
    for day, session, user, n, first, last in conn.execute(
        "SELECT day, session, MAX(user_id), SUM(n), MIN(first_ns), MAX(last_ns) FROM event_rollup "
        "WHERE name = 'api_request' AND day >= ? AND day <= ? GROUP BY day, session",
        (since_ns // DAY_NS, (until_ns - 1) // DAY_NS),
    ):
        if last < since_ns or first >= until_ns:
            continue
        if (
            by != "model"
            and since_ns <= first
            and last < until_ns
            and (not per_slot or slot_key(first // SLOT_NS) == slot_key(last // SLOT_NS))
        ):
            for grp in (groups[event_key(session, user, first // SLOT_NS, None)], total):
                grp.v["requests"] += n
            continue
        lo, hi = max(since_ns, day * DAY_NS), min(until_ns, (day + 1) * DAY_NS)
        params = ((SLOT_NS,) if per_slot else ()) + (session, lo, hi)
        for slot, model, c in conn.execute(
            f"SELECT {slot_col}, {model_col}, COUNT(*) FROM events WHERE session = ? AND name = 'api_request' "
            f"AND t_ns >= ? AND t_ns < ? GROUP BY 1, 2",
            params,
        ):
            for grp in (groups[event_key(session, user, slot, model)], total):
                grp.v["requests"] += c
    erred = [
        s
        for (s,) in conn.execute(
            "SELECT DISTINCT session FROM event_rollup WHERE name = 'api_error' AND day >= ? AND day <= ?",
            (since_ns // DAY_NS, until_ns // DAY_NS),
        )
    ]
    for i in range(0, len(erred), 500):
        chunk = erred[i : i + 500]
        for session, user, t, model in conn.execute(
            f"SELECT session, user_id, t_ns, json_extract(attrs, '$.model') FROM events "
            f"WHERE session IN ({','.join('?' * len(chunk))}) AND name = 'api_error' AND t_ns >= ? AND t_ns < ?",
            (*chunk, since_ns, until_ns),
        ):
            errors_by_model[str(model or "unknown")] += 1
            for grp in (groups[event_key(session, user, t // SLOT_NS, model)], total):
                grp.v["errors"] += 1

    return _finish(groups, total, sess, edits, rejections, errors_by_model, since_ns, until_ns, by, plans, top)


def _finish(
    groups: dict[str, _Group],
    total: _Group,
    sess: dict[str, dict[str, Any]],
    edits: dict[tuple[str, str, str], float],
    rejections: dict[str, int],
    errors_by_model: dict[str, int],
    since_ns: int,
    until_ns: int,
    by: str,
    plans: dict[str, float] | None,
    top: int,
    needs_events: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The report dict from the per-group totals, per-session facts and edit decisions (the same
    for the store and for Prometheus)."""
    rows = [g.row(k) for k, g in groups.items()]
    rows.sort(key=(lambda r: r["key"]) if by in ("day", "week") else (lambda r: (-r["cost_usd"], r["key"])))
    t = total.row("total")
    if needs_events:
        for r in (*rows, t):
            r["requests"] = r["errors"] = None
    lengths = dict.fromkeys(LENGTH_BUCKETS, 0)
    for st in sess.values():
        lengths[length_bucket((st["last_ns"] - st["first_ns"]) / 1e9)] += 1
    accepted = {
        w: sum(n for (_, who, d), n in edits.items() if who == w and d == "accept") for w in ("human", "automatic")
    }
    decided = {w: sum(n for (_, who, _d), n in edits.items() if who == w) for w in ("human", "automatic")}
    edit_rejects: defaultdict[str, float] = defaultdict(float)
    for (tool, _who, decision), n in edits.items():
        if decision == "reject":
            edit_rejects[tool] += n

    def session_row(st: dict[str, Any]) -> dict[str, Any]:
        return {
            "session": st["session"],
            "user": st["user"],
            "cost_usd": round(st["cost_usd"], 10),
            "minutes": round((st["last_ns"] - st["first_ns"]) / 6e10, 3),
            "commits": int(st["commits"]),
            "models": sorted(st["models"]),
        }

    by_cost = sorted(sess.values(), key=lambda s: (-s["cost_usd"], s["session"]))
    stuck_long = [
        session_row(s) for s in by_cost if s["last_ns"] - s["first_ns"] > 30 * MINUTE_NS and s["commits"] == 0
    ][:top]
    days = max((until_ns - since_ns) / 86_400e9, 1e-9)
    users: defaultdict[str, float] = defaultdict(float)
    for s in sess.values():
        users[s["user"] or "(unknown)"] += s["cost_usd"]
    active_users = {u: c for u, c in users.items() if c > 0}
    per_user_month = (sum(active_users.values()) / len(active_users) * 30 / days) if active_users else 0.0
    plans = plans or {}
    summary = {
        **{
            k: t[k]
            for k in (
                "cost_usd",
                "tokens",
                "cache_hit",
                "sessions",
                "active_hours",
                "lines_added",
                "lines_removed",
                "commits",
                "pull_requests",
                "requests",
                "errors",
            )
        },
        "cost_per_commit": _ratio(t["cost_usd"], t["commits"]),
        "cost_per_pull_request": _ratio(t["cost_usd"], t["pull_requests"]),
        "cost_per_active_hour": _ratio(t["cost_usd"], t["active_hours"]),
        "acceptance": {
            w: {"accepted": int(accepted[w]), "decided": int(decided[w]), "rate": _ratio(accepted[w], decided[w])}
            for w in ("human", "automatic")
        },
    }
    return {
        "since_ns": since_ns,
        "until_ns": until_ns,
        "by": by,
        "rows": rows,
        "summary": summary,
        "needs_events": list(needs_events),
        "session_lengths": lengths,
        "stuck": {
            "long_sessions_without_commits": stuck_long,
            "rejections_by_tool": dict(
                sorted(
                    # An edit rejected is both a tool_decision event and an edit-decision metric: the
                    # larger of the two counts, not their sum (metrics outlive raw events).
                    (
                        (k, int(max(rejections.get(k, 0), edit_rejects.get(k, 0))))
                        for k in set(rejections) | set(edit_rejects)
                    ),
                    key=lambda kv: (-kv[1], kv[0]),
                )
            ),
            "api_errors_by_model": None
            if needs_events
            else dict(sorted(errors_by_model.items(), key=lambda kv: (-kv[1], kv[0]))),
        },
        "top_sessions": [session_row(s) for s in by_cost[:top]],
        "subscription_estimate": {
            "note": "estimate: API-equivalent spend per active user, scaled to 30 days, against plan prices",
            "active_users": len(active_users),
            "usd_per_user_per_30d": round(per_user_month, 6),
            "plans": {
                p: {"usd_per_month": price, "api_equivalent_minus_plan": round(per_user_month - price, 6)}
                for p, price in sorted(plans.items(), key=lambda kv: kv[1])
            },
        },
    }


def from_snapshot(
    snap: Snapshot, since_ns: int, until_ns: int, by: str, plans: dict[str, float] | None = None, top: int = 10
) -> dict[str, Any]:
    """The same report from a Prometheus snapshot (``--prometheus``): per-session totals only.

    Prometheus has the metrics, not the events: request and error counts and API errors by
    model are null (``needs_events``), rejections by tool come from the edit-decision metric.
    ``--by day``/``week`` puts each session's totals on the day it was last seen (Prometheus
    hands ccmon a session's running totals, not when each increment happened).
    """
    groups: dict[str, _Group] = defaultdict(_Group)
    total = _Group()
    sess: dict[str, dict] = {}
    for r in snap.sessions:
        if r.last_ns < since_ns or (r.first_ns and r.first_ns >= until_ns):
            continue
        labels = dict(r.labels)
        if by in ("day", "week"):
            keys = [time_key(by, r.last_ns)]
        elif by == "session":
            keys = [r.key]
        elif by == "user":
            keys = [r.user or "(unknown)"]
        elif by == "model":
            keys = []  # below, from the per-model totals
        else:
            keys = [label_key(by, labels)]
        v = {
            "cost_usd": r.cost,
            "input": r.tokens.input,
            "output": r.tokens.output,
            "cacheRead": r.tokens.cacheRead,
            "cacheCreation": r.tokens.cacheCreation,
            "lines_added": r.lines_added,
            "lines_removed": r.lines_removed,
            "commits": r.commits,
            "pull_requests": r.pull_requests,
            "active_s": r.active_user_s + r.active_cli_s,
        }
        for grp in [groups[k] for k in keys] + [total]:
            for col, x in v.items():
                grp.v[col] += x
            grp.sessions.add(r.key)
        sess[r.key] = {
            "session": r.key,
            "user": r.user,
            "first_ns": r.first_ns or r.last_ns,
            "last_ns": r.last_ns,
            "cost_usd": r.cost,
            "commits": r.commits,
            "models": set(r.models),
        }
    if by == "model":
        for m in snap.models:
            g = groups[m.model]
            g.v.update(
                cost_usd=m.cost,
                input=m.tokens.input,
                output=m.tokens.output,
                cacheRead=m.tokens.cacheRead,
                cacheCreation=m.tokens.cacheCreation,
            )
            g.sessions.update(k for k, st in sess.items() if m.model in st["models"])
    edits: defaultdict[tuple[str, str, str], float] = defaultdict(float)
    for e in snap.edit_decisions:
        who = "human" if str(e.source).startswith("user") else "automatic"
        edits[(e.tool, who, e.decision)] += e.count
    return _finish(
        groups,
        total,
        sess,
        edits,
        {},
        {},
        since_ns,
        until_ns,
        by,
        plans,
        top,
        needs_events=("requests", "errors", "api_errors_by_model"),
    )
