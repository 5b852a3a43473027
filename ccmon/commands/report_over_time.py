"""``ccmon report --by day|week|session|model|user|terminal|repo [--format table|json|csv|md]``:
totals over time from the store, and with ``--format md`` a ROI report a lead can paste.

The figures come from ``model.over_time``; this module only renders them. Text from telemetry
(session ids, users, models, tools) is shown literally: Rich ``Text`` cells (no markup) and
``model.text.clean`` (no terminal escapes); Markdown cells also escape ``|``.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sqlite3
import sys
import time

from ..errors import CcmonError
from ..model.text import clean

CSV_COLUMNS = (
    "key",
    "cost_usd",
    "input",
    "output",
    "cacheRead",
    "cacheCreation",
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


def _flat(row: dict) -> dict:
    return {**{k: v for k, v in row.items() if k != "tokens"}, **row["tokens"]}


def _fmt_date(t_ns: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(t_ns / 1e9))


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x * 100:.1f}%"


def _n(x) -> str:
    return "—" if x is None else f"{x:,}"


def _usd(x: float | None) -> str:
    if x is None:
        return "—"
    return f"-${-x:,.4f}" if x < 0 else f"${x:,.4f}"


def render_csv(data: dict) -> str:
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in data["rows"]:
        w.writerow({k: ("" if v is None else v) for k, v in _flat(r).items()})
    return out.getvalue()


def render_table(data: dict, file=None) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    file = file or sys.stdout
    tty = file.isatty()
    # Piped: no colour, plain ASCII rules and a width that fits every column (no wrapped cells).
    console = Console(
        file=file, width=None if tty else 160, no_color=not tty, highlight=False, color_system="auto" if tty else None
    )
    t = Table(
        title=f"{data['by']} · {_fmt_date(data['since_ns'])} – {_fmt_date(data['until_ns'])}",
        box=box.SIMPLE_HEAD if tty else box.ASCII,
        title_justify="left",
    )
    for name, justify in (
        (data["by"], "left"),
        ("cost", "right"),
        ("input", "right"),
        ("output", "right"),
        ("cache read", "right"),
        ("cache hit", "right"),
        ("sessions", "right"),
        ("active h", "right"),
        ("lines +/-", "right"),
        ("commits", "right"),
        ("PRs", "right"),
        ("requests", "right"),
        ("errors", "right"),
    ):
        t.add_column(name, justify="left" if justify == "left" else "right", no_wrap=name != data["by"])

    def cells(r: dict) -> list:
        tk = r["tokens"]
        return [
            Text(clean(r["key"])),
            _usd(r["cost_usd"]),
            f"{tk['input']:,}",
            f"{tk['output']:,}",
            f"{tk['cacheRead']:,}",
            _pct(r["cache_hit"]),
            str(r["sessions"]),
            f"{r['active_hours']:.2f}",
            f"+{r['lines_added']:,}/-{r['lines_removed']:,}",
            str(r["commits"]),
            str(r["pull_requests"]),
            _n(r["requests"]),
            _n(r["errors"]),
        ]

    for r in data["rows"]:
        t.add_row(*cells(r))
    s = data["summary"]
    t.add_section()
    t.add_row(*cells({"key": "total", **s}))
    console.print(t)


def _md_cell(v) -> str:
    return clean(v).replace("|", "\\|")


def render_md(data: dict) -> str:
    s = data["summary"]
    tk = s["tokens"]
    out = [f"# Claude Code report: {_fmt_date(data['since_ns'])} to {_fmt_date(data['until_ns'])}", ""]
    out += ["## Summary", "", "| figure | value |", "| --- | ---: |"]
    acc = s["acceptance"]
    for name, value in (
        ("Cost", _usd(s["cost_usd"])),
        (
            "Tokens (input / output / cache read / cache write)",
            f"{tk['input']:,} / {tk['output']:,} / {tk['cacheRead']:,} / {tk['cacheCreation']:,}",
        ),
        ("Cache hit rate", _pct(s["cache_hit"])),
        ("Sessions", str(s["sessions"])),
        ("Active hours", f"{s['active_hours']:.2f}"),
        ("Commits", str(s["commits"])),
        ("Pull requests", str(s["pull_requests"])),
        ("Lines added / removed", f"+{s['lines_added']:,} / -{s['lines_removed']:,}"),
        ("Cost per pull request", _usd(s["cost_per_pull_request"])),
        ("Cost per commit", _usd(s["cost_per_commit"])),
        ("Cost per active hour", _usd(s["cost_per_active_hour"])),
        (
            "Edit acceptance, by a person",
            f"{_pct(acc['human']['rate'])} ({acc['human']['accepted']} of {acc['human']['decided']})",
        ),
        (
            "Edit acceptance, automatic (config / mode)",
            f"{_pct(acc['automatic']['rate'])} ({acc['automatic']['accepted']} of {acc['automatic']['decided']})",
        ),
        (
            "API requests / errors",
            f"{_n(s['requests'])} / {_n(s['errors'])}"
            if s["requests"] is not None
            else "n/a (needs events: OTEL_LOGS_EXPORTER=otlp into ccmon)",
        ),
    ):
        out.append(f"| {name} | {value} |")
    out += [
        "",
        f"## By {data['by']}",
        "",
        "| " + " | ".join((data["by"], "cost", "tokens", "cache hit", "sessions", "active h", "commits", "PRs")) + " |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in data["rows"]:
        tokens = sum(r["tokens"].values())
        out.append(
            f"| {_md_cell(r['key'])} | {_usd(r['cost_usd'])} | {tokens:,} | {_pct(r['cache_hit'])} | "
            f"{r['sessions']} | {r['active_hours']:.2f} | {r['commits']} | {r['pull_requests']} |"
        )
    out += ["", "## Session length", "", "| length | sessions |", "| --- | ---: |"]
    out += [f"| {k} | {n} |" for k, n in data["session_lengths"].items()]
    stuck = data["stuck"]
    out += ["", "## Where it gets stuck", "", "### Long sessions (> 30 min) without a commit", ""]
    out += [
        f"- {_md_cell(x['session'])}: {x['minutes']:.0f} min, {_usd(x['cost_usd'])}"
        for x in stuck["long_sessions_without_commits"]
    ] or ["- none"]
    out += ["", "### Rejections by tool", ""]
    out += [f"- {_md_cell(k)}: {n}" for k, n in stuck["rejections_by_tool"].items()] or ["- none"]
    out += ["", "### API errors by model", ""]
    if stuck["api_errors_by_model"] is None:
        out += ["- n/a: needs events (the Prometheus export has no API error events)"]
    else:
        out += [f"- {_md_cell(k)}: {n}" for k, n in stuck["api_errors_by_model"].items()] or ["- none"]
    out += [
        "",
        "## Top sessions by cost",
        "",
        "| session | user | cost | minutes | commits | models |",
        "| --- | --- | ---: | ---: | ---: | --- |",
    ]
    for x in data["top_sessions"]:
        out.append(
            f"| {_md_cell(x['session'])} | {_md_cell(x['user'][:12])} | {_usd(x['cost_usd'])} | "
            f"{x['minutes']:.1f} | {x['commits']} | {_md_cell(', '.join(x['models']))} |"
        )
    sub = data["subscription_estimate"]
    out += [
        "",
        "## Subscription comparison (an estimate)",
        "",
        f"API-equivalent spend per active user, scaled to 30 days: **{_usd(sub['usd_per_user_per_30d'])}** "
        f"({sub['active_users']} active user(s)). Plan prices are from `[plans]` in config.toml; "
        "API-equivalent cost is what the same tokens cost at API prices, and plan limits are not modelled.",
        "",
        "| plan | USD / month | API-equivalent minus plan |",
        "| --- | ---: | ---: |",
    ]
    for p, v in sub["plans"].items():
        out.append(f"| {_md_cell(p)} | {_usd(v['usd_per_month'])} | {_usd(v['api_equivalent_minus_plan'])} |")
    return "\n".join(out) + "\n"


def run(args: argparse.Namespace) -> int:
    from ..model import config, db
    from ..model.over_time import build
    from ..model.periods import parse_when

    now = time.time_ns()
    try:
        since = parse_when(args.since, now) if args.since else now - 30 * 86_400_000_000_000
        until = parse_when(args.until, now) if args.until else now
    except ValueError as exc:
        raise CcmonError(str(exc), 2) from None
    if until <= since:
        raise CcmonError("--until must be after --since", 2)
    plans = config.load().plans
    if getattr(args, "prometheus", None):
        if args.until:
            raise CcmonError("--until reads the ccmon store; with --prometheus the window ends now", 2)
        data = _from_prometheus(args, since, now, plans)
        return _print(args, data)
    try:
        conn = db.connect(args.db, readonly=True)
    except FileNotFoundError:
        raise CcmonError(f"no ccmon database at {args.db}: run `ccmon` or `ccmon serve` first, or pass --db") from None
    try:
        data = build(conn, since, until, args.by or "day", plans)
    except sqlite3.Error as exc:
        raise CcmonError(f"cannot read {args.db}: {exc}") from None
    finally:
        conn.close()
    return _print(args, data)


def _from_prometheus(args: argparse.Namespace, since: int, now: int, plans: dict) -> dict:
    """One poll of Prometheus over the window, then the same report from its snapshot."""
    import asyncio
    import dataclasses

    from ..ingest.prometheus.config import Config
    from ..ingest.prometheus.source import PrometheusSource
    from ..model.over_time import from_snapshot

    try:
        cfg = Config.from_args(args)
    except ValueError as exc:
        raise CcmonError(str(exc), 2) from None
    now_s = now / 1e9
    cfg = dataclasses.replace(cfg, timeout_s=30.0, window_s=max(1.0, now_s - since / 1e9))

    async def poll():
        source = PrometheusSource(cfg, clock=lambda: now_s)
        try:
            ok = await source.poll()
        finally:
            await source.stop()
        return ok, source.snapshot()

    ok, snap = asyncio.run(poll())
    if not ok:
        raise CcmonError(f"prometheus at {cfg.base_url}: {snap.status.last_error}")
    return from_snapshot(snap, since, now, args.by or "day", plans)


def _print(args: argparse.Namespace, data: dict) -> int:
    fmt = args.format or ("json" if args.json else "table")
    if fmt == "json":
        print(json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False))
    elif fmt == "csv":
        sys.stdout.write(render_csv(data))
    elif fmt == "md":
        sys.stdout.write(render_md(data))
    else:
        render_table(data)
    return 0
