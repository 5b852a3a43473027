"""Composition root: the one place that wires ingest, model and views together.

``make_app`` is used by the CLI and by the tests, so both build exactly the same app.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import signal
import sqlite3
import sys

from . import __version__
from .cli import fail

def open_store(args: argparse.Namespace, *, load: bool = True):
    """The store for ``args.db``, or a one-line reason it cannot be opened."""
    from .model.db import SchemaError
    from .model.store import Store

    try:
        return Store(args.db, retention_days=args.retention_days, load=load)
    except (sqlite3.Error, OSError, SchemaError) as exc:
        raise SystemExit(fail(f"cannot open database {args.db}: {exc}")) from None


def _warn_if_public(bind: str) -> None:
    try:
        loopback = ipaddress.ip_address(bind).is_loopback
    except ValueError:
        loopback = bind == "localhost"
    if not loopback:
        print(f"ccmon: warning: listening on {bind}, not loopback: anyone who can reach this "
              "machine can send telemetry to it", file=sys.stderr)


async def _serve(args: argparse.Namespace) -> int:
    from .alerting import for_serve
    from .ingest.receiver import Receiver
    from .model.config import from_args

    cfg = from_args(args)  # a bad config.toml stops here, before any port is bound
    store = open_store(args)
    receiver = Receiver(store, bind=args.bind, grpc_port=args.grpc_port, http_port=args.http_port)
    try:
        await receiver.start()
    except OSError as exc:
        store.close()
        return fail(exc.strerror or str(exc))
    _warn_if_public(args.bind)
    print(f"ccmon {__version__} receiving OTLP on {receiver.endpoints()}; storing in {args.db}", flush=True)
    watcher = for_serve(cfg, receiver)  # budgets and alerts, to this log and the desktop
    watcher.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await watcher.stop()
    await receiver.stop()
    received = sum(receiver.stats.received().values())
    store.close()
    print(f"ccmon stopped; {received} export(s) received this run", file=sys.stderr, flush=True)
    return 0


def serve(args: argparse.Namespace) -> int:
    return asyncio.run(_serve(args))


def make_source(args: argparse.Namespace):
    """The dashboard's data source: Prometheus when asked, else the embedded OTLP receiver."""
    if getattr(args, "prometheus", None):
        from .ingest.prometheus.source import PrometheusSource

        return PrometheusSource.from_args(args)
    from .ingest.receiver import OtlpSource, Receiver

    store = open_store(args, load=False)  # the source loads it after the first frame
    return OtlpSource(store, Receiver(store, bind=args.bind, grpc_port=args.grpc_port, http_port=args.http_port))


def make_app(args: argparse.Namespace, **kwargs):
    from .views.app import CcmonApp

    from .model.config import from_args

    cfg = from_args(args)  # budgets and alerts; a bad config.toml stops here
    source = make_source(args)
    if hasattr(source, "receiver"):
        kwargs.setdefault("setup_hint", lambda: _env_block(source.receiver, args))
    app = CcmonApp(source, **kwargs)
    if hasattr(source, "receiver"):
        from .alerting import for_dashboard

        app.watcher = for_dashboard(cfg, source, kwargs.get("clock"))  # the budget strip runs it
    return app


def _env_block(receiver, args: argparse.Namespace) -> str:
    """``ccmon env`` for the ports the receiver really listens on (port 0 is resolved by then)."""
    from .commands.env import Target, render

    base = Target.from_args(args)
    return render(Target(base.bind, receiver.grpc_port or 0, receiver.http_port or 0, base.token), "grpc", "sh")


def dashboard(args: argparse.Namespace) -> int:
    if not getattr(args, "prometheus", None):
        _warn_if_public(args.bind)
    app = make_app(args)
    app.run()
    if app.startup_error:
        return fail(app.startup_error)
    return app.return_code or 0
