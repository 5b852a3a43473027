"""Command line. ``--help`` and ``--version`` import nothing heavy: textual, grpc and httpx are
imported only by the command that needs them."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

from . import __version__
from .errors import CcmonError

DEFAULT_BIND = "127.0.0.1"
DEFAULT_GRPC_PORT = 4317
DEFAULT_HTTP_PORT = 4318


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
    g.add_argument("--bind", default=_d(DEFAULT_BIND, sub), metavar="ADDR",
                   help=f"address to listen on (default {DEFAULT_BIND}; loopback keeps telemetry private)")
    g.add_argument("--grpc-port", type=_port, default=_d(DEFAULT_GRPC_PORT, sub), metavar="PORT",
                   help=f"OTLP/gRPC port (default {DEFAULT_GRPC_PORT}; 0 picks a free one)")
    g.add_argument("--http-port", type=_port, default=_d(DEFAULT_HTTP_PORT, sub), metavar="PORT",
                   help=f"OTLP/HTTP port (default {DEFAULT_HTTP_PORT}; 0 picks a free one)")
    g.add_argument("--retention-days", type=_days, default=_d(30.0, sub), metavar="DAYS",
                   help="keep raw events this long; totals are kept for good (default 30; 0 keeps all)")
    g.add_argument("--token", default=_d(None, sub), metavar="TOKEN",
                   help="require 'Authorization: Bearer TOKEN' on every export (default $CCMON_TOKEN)")
    g.add_argument("--allow-unauthenticated", action="store_true", default=_d(False, sub),
                   help="accept a non-loopback --bind without --token (anyone who can reach it may write)")
    g.add_argument("--tls-cert", default=_d(None, sub), metavar="PEM",
                   help="serve both ports over TLS with this certificate")
    g.add_argument("--tls-key", default=_d(None, sub), metavar="PEM", help="its private key")
    g.add_argument("--max-connections", type=_count, default=_d(None, sub), metavar="N",
                   help="open OTLP/HTTP connections at most (default 512, or half the open-files limit)")
    _add_db_args(p, sub)


def _add_db_args(p: argparse.ArgumentParser, sub: bool = False) -> None:
    p.add_argument("--db", metavar="PATH", default=_d(None, sub),
                   help="SQLite database (default $XDG_DATA_HOME/ccmon/ccmon.db, i.e. ~/.local/share/ccmon/ccmon.db)")


def _add_prometheus_args(p: argparse.ArgumentParser, sub: bool = False) -> None:
    g = p.add_argument_group("Prometheus source")
    g.add_argument("--prometheus", metavar="URL", default=_d(None, sub),
                   help="read a Prometheus-compatible server (Prometheus, Thanos, Mimir, VictoriaMetrics) "
                        "instead of receiving OTLP")
    g.add_argument("--interval", type=float, default=_d(5.0, sub), metavar="SECONDS",
                   help="poll interval in Prometheus mode (default 5)")
    g.add_argument("--header", action="append", default=_d([], sub), metavar="'NAME: VALUE'",
                   help="extra HTTP header for Prometheus, e.g. 'Authorization: Bearer TOKEN' (repeatable)")
    g.add_argument("--match", metavar="SELECTOR", default=_d(None, sub),
                   help="narrow the series, e.g. '{team=\"platform\"}'")


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
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    s = sub.add_parser("serve", help="receive and store OTLP headless (no dashboard)",
                       description="Receive Claude Code's OTLP export and store it, without the dashboard.")
    _add_receiver_args(s, sub=True)

    r = sub.add_parser("report", help="print totals from the store (or from Prometheus)",
                       description="Print totals from the ccmon database, or from Prometheus with --prometheus.")
    _add_db_args(r, sub=True)
    r.add_argument("--json", action="store_true", help="machine-readable output")
    r.add_argument("--since", metavar="DURATION", default=None,
                   help="only what happened in the last DURATION, e.g. 30m, 24h, 7d")
    _add_prometheus_args(r, sub=True)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "db", None) is None:
        args.db = os.environ.get("CCMON_DB") or _default_db()
    try:
        if args.command == "serve":
            from .compose import serve

            return serve(args)
        if args.command == "report":
            from .reporting import report

            return report(args)
        from .compose import dashboard

        return dashboard(args)
    except CcmonError as exc:
        return fail(exc.message, exc.code)
    except KeyboardInterrupt:
        return 130


def fail(message: str, code: int = 1) -> int:
    """One clear line on stderr, then a non-zero exit code. The message may quote what a
    server or a sender said: its control characters are shown, never obeyed."""
    from .model.text import clean

    print(f"ccmon: {clean(message)}", file=sys.stderr)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
