"""``ccmon check``: budget and alert state for scripts and Claude Code hooks.

Exit 0 ok, 1 warning (a budget past a threshold, or a runaway rule holding), 2 over (a
budget spent). It reads the store read-only through a few narrow queries (``model.spend``),
never rebuilding the aggregates, so it answers in tens of milliseconds on a large store.

``--hook`` speaks Claude Code's hook protocol: it reads the hook's JSON on stdin (for the
session id), and when a budget is spent prints the reason on stderr and exits 2, which makes
Claude Code refuse the prompt (``UserPromptSubmit``) or the tool call (``PreToolUse``). A
warning is a ``systemMessage`` shown to the user, with exit 0 (the prompt goes on).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import time

from ..errors import CcmonError

SHOW = 20  # budget lines in the text output; --json has them all
# model.db's, spelt out: importing model.db (pathlib, and hashlib through model.counting) costs
# each hook run ~20 ms when ccmon is installed from a wheel. A test checks that they agree.
SCHEMA_VERSION = 3


def default_db() -> str:
    """``model.db.default_path()``, without importing model.db."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(base, "ccmon", "ccmon.db")


def _connect(path: str) -> sqlite3.Connection | None:
    """The store read-only, as ``model.db.connect(path, readonly=True)`` opens it, or None when
    there is none yet. A database of this ccmon's schema (the usual case) is opened here;
    anything else (an older schema to migrate once, a newer one to refuse, no schema yet, an
    empty path) goes through ``model.db.connect``."""
    if path and not os.path.exists(path):
        return None
    if path:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        try:
            found = conn.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        except sqlite3.OperationalError:  # no meta table
            found = None
        if found is not None and found[0] == str(SCHEMA_VERSION):
            conn.execute("PRAGMA busy_timeout=5000")
            return conn
        conn.close()
    from ..model import db

    try:
        return db.connect(path, readonly=True)
    except FileNotFoundError:
        return None


def evaluate(args: argparse.Namespace, now_ns: int | None = None, session: str | None = None) -> dict:
    from ..model import config, spend
    from ..model.alerts import AlertEngine
    from ..model.budgets import LEVEL_CODE, worst
    from ..model.budgets import evaluate as eval_budgets

    now_ns = time.time_ns() if now_ns is None else now_ns
    cfg = config.from_args(args)
    engine = AlertEngine(cfg.rules)
    if args.db is None:
        args.db = default_db()
    try:
        conn = _connect(args.db)  # None: nothing stored yet, nothing spent
    except sqlite3.Error as exc:
        raise CcmonError(f"cannot read {args.db}: {exc}") from None
    states = []
    sessions = 0
    try:
        if conn is not None:
            index = spend.SeriesIndex(spend.cache_path(args.db)).refresh(conn)
            spent = spend.read_spend(conn, cfg.budgets, now_ns, only_session=session, index=index)
            sessions = len(spent.sessions)
            states = eval_budgets(cfg.budgets, spent, now_ns)
            spend.feed_recent(conn, engine, now_ns, index)
    except sqlite3.Error as exc:
        raise CcmonError(f"cannot read {args.db}: {exc}") from None
    finally:
        if conn is not None:
            conn.close()
    # Budgets are listed as budgets; the alert list is the runaway rules that hold now.
    alerts = [a for a in engine.active(now_ns) if a.rule != "budget"]
    level = worst(states)
    if alerts and level == "ok":
        level = "warning"
    return {
        "status": level,
        "exit": LEVEL_CODE[level],
        "budgets": [s.as_dict() for s in states],
        "alerts": [a.as_dict() for a in alerts],
        "configured": cfg.budgets.any(),
        "now_ns": now_ns,
        "sessions_checked": sessions,
        "_lines": [s.line() for s in states if s.level != "ok"] + [a.reason for a in alerts],
        "_all": [s.line() for s in states],
    }


def _text(result: dict) -> str:
    from ..model.text import clean

    head = f"ccmon check: {result['status']}"
    if not result["configured"]:
        head += " (no budget set: --daily/--weekly/--monthly/--session or [budgets] in config.toml)"
    lines = [head]
    shown = result["_all"][:SHOW]
    lines += [f"  {line}" for line in shown]
    if len(result["_all"]) > SHOW:
        lines.append(f"  … {len(result['_all']) - SHOW} more (--json lists them)")
    quiet = result["sessions_checked"] - sum(b["kind"] == "session" for b in result["budgets"])
    if quiet > 0:
        lines.append(f"  {quiet} more running session(s) below the first threshold of the session budget")
    if result["alerts"]:
        lines.append("alerts:")
        lines += [f"  {a['reason']}" for a in result["alerts"]]
    return "\n".join(clean(line) for line in lines)  # session, user and tool names are telemetry


def _hook(args: argparse.Namespace) -> int:
    try:
        payload = json.loads(sys.stdin.read() or "{}")
    except ValueError:
        payload = {}
    session = payload.get("session_id") if isinstance(payload, dict) else None
    result = evaluate(args, session=session if isinstance(session, str) and session else None)
    if result["status"] == "over":
        from ..model.text import clean

        print(clean("ccmon: budget spent: " + "; ".join(result["_lines"])), file=sys.stderr)
        return 2
    if result["status"] == "warning":
        print(json.dumps({"systemMessage": "ccmon: " + "; ".join(result["_lines"])}))
    return 0


def run(args: argparse.Namespace) -> int:
    if args.hook:
        return _hook(args)
    result = evaluate(args, session=args.session_id)
    if args.json:
        out = {k: v for k, v in result.items() if not k.startswith("_")}
        print(json.dumps(out, indent=2, ensure_ascii=False))
    else:
        print(_text(result))
    return result["exit"]
