"""Command line. ``--help`` and ``--version`` import nothing heavy: textual, grpc and httpx are
imported only by the command that needs them."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from . import __version__
from .defaults import DEFAULT_BIND, DEFAULT_GRPC_PORT, DEFAULT_HTTP_PORT
from .errors import CcmonError

# report --by values answered by commands/insight_report.py (kept here: --help imports nothing)
INSIGHT_BY = (
    "prompt",
    "query_source",
    "effort",
    "speed",
    "agent",
    "skill",
    "plugin",
    "mcp_server",
    "repository",
    "cache",
    "money",
)


def _port(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= n <= 65535:
        raise argparse.ArgumentTypeError(f"port out of range: {n}")
    return n


def _count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"not a positive number: {text!r}")
    return int(text)


def _days(text: str) -> float:
    try:
        n = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of days: {text!r}") from None
    if n < 0:
        raise argparse.ArgumentTypeError("retention cannot be negative")
    return n


def _default_db() -> str:
    from .model.db import default_path

    return str(default_path())


# Options are accepted before or after the subcommand (`ccmon --db X report` and
# `ccmon report --db X`). Subcommands declare them with SUPPRESS defaults so that they do not
# overwrite a value given before the subcommand; the real defaults live on the top parser.
def _d(value: object, sub: bool) -> object:
    return argparse.SUPPRESS if sub else value


def _add_receiver_args(p: argparse.ArgumentParser, sub: bool = False) -> None:
    g = p.add_argument_group("OTLP receiver")
    g.add_argument(
        "--bind",
        default=_d(DEFAULT_BIND, sub),
        metavar="ADDR",
        help=f"address to listen on (default {DEFAULT_BIND}; loopback keeps telemetry private)",
    )
    g.add_argument(
        "--grpc-port",
        type=_port,
        default=_d(DEFAULT_GRPC_PORT, sub),
        metavar="PORT",
        help=f"OTLP/gRPC port (default {DEFAULT_GRPC_PORT}; 0 picks a free one)",
    )
    g.add_argument(
        "--http-port",
        type=_port,
        default=_d(DEFAULT_HTTP_PORT, sub),
        metavar="PORT",
        help=f"OTLP/HTTP port (default {DEFAULT_HTTP_PORT}; 0 picks a free one)",
    )
    g.add_argument(
        "--retention-days",
        type=_days,
        default=_d(30.0, sub),
        metavar="DAYS",
        help="keep raw events this long; totals are kept for good (default 30; 0 keeps all)",
    )
    g.add_argument(
        "--token",
        default=_d(None, sub),
        metavar="TOKEN",
        help="require 'Authorization: Bearer TOKEN' on every export (default $CCMON_TOKEN)",
    )
    g.add_argument(
        "--allow-unauthenticated",
        action="store_true",
        default=_d(False, sub),
        help="accept a non-loopback --bind without --token (anyone who can reach it may write)",
    )
    g.add_argument(
        "--tls-cert", default=_d(None, sub), metavar="PEM", help="serve both ports over TLS with this certificate"
    )
    g.add_argument("--tls-key", default=_d(None, sub), metavar="PEM", help="its private key")
    g.add_argument(
        "--max-connections",
        type=_count,
        default=_d(None, sub),
        metavar="N",
        help="open OTLP/HTTP connections at most (default 512, or half the open-files limit)",
    )
    _add_db_args(p, sub)


def _add_db_args(p: argparse.ArgumentParser, sub: bool = False) -> None:
    p.add_argument(
        "--db",
        metavar="PATH",
        default=_d(None, sub),
        help="SQLite database (default $XDG_DATA_HOME/ccmon/ccmon.db, i.e. ~/.local/share/ccmon/ccmon.db)",
    )


def _add_prometheus_args(p: argparse.ArgumentParser, sub: bool = False) -> None:
    g = p.add_argument_group("Prometheus source")
    g.add_argument(
        "--prometheus",
        metavar="URL",
        default=_d(None, sub),
        help="read a Prometheus-compatible server (Prometheus, Thanos, Mimir, VictoriaMetrics) "
        "instead of receiving OTLP",
    )
    g.add_argument(
        "--interval",
        type=float,
        default=_d(5.0, sub),
        metavar="SECONDS",
        help="poll interval in Prometheus mode (default 5)",
    )
    g.add_argument(
        "--header",
        action="append",
        default=_d([], sub),
        metavar="'NAME: VALUE'",
        help="extra HTTP header for Prometheus, e.g. 'Authorization: Bearer TOKEN' (repeatable)",
    )
    g.add_argument(
        "--match", metavar="SELECTOR", default=_d(None, sub), help="narrow the series, e.g. '{team=\"platform\"}'"
    )


def _usd(text: str) -> float:
    try:
        n = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an amount in USD: {text!r}") from None
    if n < 0:
        raise argparse.ArgumentTypeError("a budget cannot be negative")
    return n


def _add_budget_args(p: argparse.ArgumentParser, sub: bool = False, notify: bool = True) -> None:
    """Budgets over $XDG_CONFIG_HOME/ccmon/config.toml's [budgets] (see model/config.py)."""
    g = p.add_argument_group("budgets and alerts (override [budgets] in ~/.config/ccmon/config.toml)")
    for kind in ("daily", "weekly", "monthly", "session"):
        g.add_argument(f"--{kind}", type=_usd, default=_d(None, sub), metavar="USD", help=f"{kind} budget in USD")
    if notify:
        g.add_argument(
            "--no-notify",
            action="store_true",
            default=_d(False, sub),
            help="no desktop notification for alerts (the log and the banner still show them)",
        )


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ccmon",
        description="htop for Claude Code: live cost, tokens, cache efficiency, sessions and edits. "
        "Point Claude Code at it with CLAUDE_CODE_ENABLE_TELEMETRY=1 "
        "OTEL_METRICS_EXPORTER=otlp OTEL_LOGS_EXPORTER=otlp "
        "OTEL_EXPORTER_OTLP_PROTOCOL=grpc OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4317",
    )
    p.add_argument("--version", action="version", version=f"ccmon {__version__}")
    _add_receiver_args(p)
    _add_prometheus_args(p)
    _add_budget_args(p)
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    s = sub.add_parser(
        "serve",
        help="receive and store OTLP headless (no dashboard)",
        description="Receive Claude Code's OTLP export and store it, without the dashboard.",
    )
    _add_receiver_args(s, sub=True)
    _add_budget_args(s, sub=True)

    r = sub.add_parser(
        "report",
        help="print totals from the store (or from Prometheus)",
        description="Print totals from the ccmon database, or from Prometheus with --prometheus.",
    )
    _add_db_args(r, sub=True)
    r.add_argument("--json", action="store_true", help="machine-readable output")
    r.add_argument(
        "--since",
        metavar="DURATION",
        default=None,
        help="only what was spent (counted) in the last DURATION, e.g. 30m, 24h, 7d; the same in both "
        "sources: a session that started earlier adds only what it added since "
        "(Prometheus default 24h); with --by also a local date, 2026-11-01",
    )
    _add_prometheus_args(r, sub=True)
    r.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="with --prometheus: give up when the whole report is not done by then (default 30)",
    )
    g = r.add_argument_group("over time (ccmon/commands/report_over_time.py)")
    g.add_argument(
        "--by",
        choices=("day", "week", "session", "model", "user", "terminal", "repo", *INSIGHT_BY),
        default=None,
        metavar="WHAT",
        help="one row per day, week, session, model, user, terminal or repo; or the most expensive "
        "prompts (prompt); cost by query_source, effort, speed, agent, skill, plugin, mcp_server or "
        "repository (with an unattributed row); cache (the cache clock and misses); money (metric "
        "vs events, coverage)",
    )
    g.add_argument(
        "--until",
        metavar="WHEN",
        default=None,
        help="end of the window: a duration back from now (7d) or a local date (2026-11-30)",
    )
    g.add_argument(
        "--format",
        choices=("table", "json", "csv", "md"),
        default=None,
        help="md: a ROI report to paste (cost per PR/commit/hour, acceptance, where it gets stuck, ...)",
    )

    sl = sub.add_parser(
        "statusline",
        help="Claude Code's statusLine command: a fast line, and plan limits into ccmon",
        description="Read the JSON Claude Code gives a statusLine command on stdin, print a line "
        "(model, costs, context, plan limits, cache), and hand the JSON to the "
        "running ccmon. Always exits 0. Install with `ccmon setup --statusline`.",
    )
    _add_receiver_args(sl, sub=True)
    sl.add_argument(
        "--format",
        default=None,
        metavar="TEMPLATE",
        help="your own line, e.g. '{model} {five_hour_pct} {context}'; fields: model, model_id, "
        "effort, version, session, cwd, dir, repo, session_cost, today_cost, rate, lines, "
        "context, context_pct, five_hour, five_hour_pct, five_hour_reset, five_hour_pace, "
        "five_hour_projected, seven_day (and its _pct/_reset/_pace/_projected), cache, cache_left",
    )
    sl.add_argument("--lines", type=int, choices=(1, 2), default=1, help="one line (default) or two")
    sl.add_argument("--no-color", action="store_true", help="plain text (also when NO_COLOR is set)")
    _add_flow_commands(sub)
    v = sub.add_parser(
        "service",
        help="run `ccmon serve` at login (systemd user unit / launchd agent)",
        description="Install, inspect or remove `ccmon serve` as a login service, so that exports "
        "are kept while no dashboard is open. `status` exits 3 when nothing receives.",
    )
    v.add_argument("action", choices=("install", "status", "uninstall"))
    v.add_argument("--dry-run", action="store_true", help="print what would be written and run; change nothing")
    _add_receiver_args(v, sub=True)
    _add_check_args(sub.add_parser("check", help=CHECK_HELP, description=CHECK_DESCRIPTION), sub=True)
    return p


CHECK_HELP = "budget and alert state; exit 0 ok, 1 warning, 2 over (for scripts and hooks)"
CHECK_DESCRIPTION = (
    "Print budget and alert state from the store and exit 0 (ok), 1 (warning) or 2 (over). "
    "With --hook, act as a Claude Code hook: read its JSON on stdin, exit 2 with the reason "
    "on stderr when a budget is spent."
)


def _add_check_args(c: argparse.ArgumentParser, sub: bool = False) -> None:
    _add_db_args(c, sub)
    c.add_argument("--json", action="store_true", help="machine-readable output")
    c.add_argument(
        "--hook",
        action="store_true",
        help="Claude Code hook protocol (UserPromptSubmit / PreToolUse): stdin JSON, exit 2 blocks",
    )
    c.add_argument("--session-id", default=None, metavar="ID", help="check this session's budget only")
    _add_budget_args(c, sub, notify=False)


def _check_args(argv: list[str]) -> argparse.Namespace:
    """`ccmon check ...` runs before every prompt when it is a hook: parse only its options
    (building the whole parser costs ~10 ms of its 100 ms), and its usual command lines
    without a parser at all."""
    args = _quick_check_args(argv)
    if args is None:
        p = argparse.ArgumentParser(prog="ccmon check", description=CHECK_DESCRIPTION)
        _add_check_args(p)
        args = p.parse_args(argv)
    args.command = "check"
    return args


_CHECK_FLAGS = {"--json": "json", "--hook": "hook"}
_CHECK_VALUED: dict[str, tuple[str, Callable[[str], object]]] = {
    "--db": ("db", str),
    "--session-id": ("session_id", str),
    **{f"--{kind}": (kind, _usd) for kind in ("daily", "weekly", "monthly", "session")},
}


def _quick_check_args(argv: list[str]) -> argparse.Namespace | None:
    """`ccmon check`'s options spelt out in full (``--opt VALUE`` or ``--opt=VALUE``) parsed
    the way argparse parses them, without building a parser (~8 ms with its help formatter and
    translations); None for anything else (--help, an abbreviation, a value that starts with
    ``-``, a bad amount), which the real parser then reads or rejects with its message."""
    from .quickargs import parse

    ns = argparse.Namespace(
        db=None, json=False, hook=False, session_id=None, daily=None, weekly=None, monthly=None, session=None
    )
    return parse(argv, ns, _CHECK_FLAGS, _CHECK_VALUED, (argparse.ArgumentTypeError, ValueError))


def _add_flow_commands(sub) -> None:
    """env / setup / doctor: getting Claude Code's telemetry to this ccmon (ccmon/commands/)."""
    protocols = ("grpc", "http/protobuf", "http/json")
    e = sub.add_parser(
        "env",
        help="print the settings that send Claude Code's telemetry to this ccmon",
        description="The environment for Claude Code to send telemetry to this ccmon "
        "(its --bind, ports and token), one comment per variable.",
    )
    e.add_argument("--protocol", choices=protocols, default="grpc")
    e.add_argument(
        "--format",
        choices=("sh", "fish", "powershell", "json"),
        default="sh",
        help="json: the env object for ~/.claude/settings.json",
    )
    s = sub.add_parser(
        "setup",
        help="write those settings into ~/.claude/settings.json (backup, diff, --undo)",
        description="Merge the `ccmon env` block into ~/.claude/settings.json: other keys are "
        "kept, the previous file is backed up, the diff is shown.",
    )
    s.add_argument("--protocol", choices=protocols, default="grpc")
    s.add_argument(
        "--scope",
        choices=("user", "project", "local"),
        default="user",
        help="only user: Claude Code ignores exporter variables in a repository's .claude/",
    )
    s.add_argument("--dry-run", action="store_true", help="show the diff, write nothing")
    s.add_argument("--undo", action="store_true", help="restore the file from before the last change")
    s.add_argument("--statusline", action="store_true", help='set "statusLine" to the `ccmon statusline` command')
    s.add_argument("--replace", action="store_true", help="with --statusline: replace another status line")
    d = sub.add_parser(
        "doctor",
        help="check why telemetry does (not) reach this ccmon, then send a test export",
        description="Read the shell environment and Claude Code's settings files in Claude "
        "Code's precedence, report each problem with its fix, and send a marked "
        "test export. Exit 0 only when telemetry would reach this ccmon.",
    )
    d.add_argument("--json", action="store_true", help="machine-readable output")
    d.add_argument("--timeout", type=float, default=3.0, metavar="SECONDS", help="for the test export")
    for c in (e, s, d):
        _add_receiver_args(c, sub=True)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["statusline"]:  # Claude Code runs it on every change: skip building the parser
        from .commands.statusline import quick_args, run

        quick = quick_args(argv)
        if quick is not None:
            quick.db = quick.db or os.environ.get("CCMON_DB")
            return run(quick)
    args = _check_args(argv[1:]) if argv[:1] == ["check"] else build_parser().parse_args(argv)
    if getattr(args, "db", None) is None:
        # The status line and check find the default themselves: importing model.db costs them
        # ~10-20 ms of every call.
        args.db = os.environ.get("CCMON_DB") or (None if args.command in ("statusline", "check") else _default_db())
    try:
        if args.command == "serve":
            from .compose import serve

            return serve(args)
        if args.command == "statusline":
            from .commands.statusline import run

            return run(args)
        if args.command == "report":
            from .commands.report import report

            return report(args)
        if args.command == "service":
            from .commands.service import service

            return service(args)
        if args.command in ("env", "setup", "doctor", "check"):
            from importlib import import_module

            return import_module(f".commands.{args.command}", __package__).run(args)
        from .compose import dashboard

        return dashboard(args)
    except CcmonError as exc:
        return fail(exc.message, exc.code)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `ccmon report | head`: the reader left; no traceback
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # the final flush at exit must not fail again
        return 141  # 128 + SIGPIPE, as a process killed by it


def fail(message: str, code: int = 1) -> int:
    """One clear line on stderr, then a non-zero exit code. The message may quote what a
    server or a sender said: its control characters are shown, never obeyed."""
    from .model.text import clean

    print(f"ccmon: {clean(message)}", file=sys.stderr)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
