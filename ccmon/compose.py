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


def _is_loopback(bind: str) -> bool:
    try:
        return ipaddress.ip_address(bind).is_loopback
    except ValueError:
        return bind == "localhost"


def _warn_if_public(bind: str) -> None:
    if not _is_loopback(bind):
        print(f"ccmon: warning: listening on {bind}, not loopback: anyone who can reach this "
              "machine can send telemetry to it", file=sys.stderr)


def security(args: argparse.Namespace):
    """Token and TLS from the flags (and $CCMON_TOKEN); refuses a non-loopback --bind that
    anyone could write to, unless the user said so with --allow-unauthenticated."""
    import os

    from .errors import CcmonError
    from .ingest.receiver import Security

    token = getattr(args, "token", None) or os.environ.get("CCMON_TOKEN") or None
    cert, key = getattr(args, "tls_cert", None), getattr(args, "tls_key", None)
    if bool(cert) != bool(key):
        raise CcmonError("--tls-cert and --tls-key go together", 2)
    if token is None and not _is_loopback(args.bind) and not getattr(args, "allow_unauthenticated", False):
        raise CcmonError(f"--bind {args.bind} is not loopback: anyone who can reach it could write to ccmon. "
                         "Set a token (--token or CCMON_TOKEN), or add --allow-unauthenticated", 2)
    return Security(token=token, tls_cert=cert, tls_key=key)


def make_receiver(args: argparse.Namespace, store, sec):
    from .ingest.receiver import Receiver

    return Receiver(store, bind=args.bind, grpc_port=args.grpc_port, http_port=args.http_port,
                    security=sec, max_connections=getattr(args, "max_connections", None))


def _log_to_stderr() -> None:
    """`serve`'s log: warnings (a storage failure and its end, accept errors once a minute),
    one line each, with anything a sender wrote shown, never obeyed."""
    import logging

    from .model.text import clean

    class Clean(logging.Formatter):
        def format(self, record: logging.LogRecord) -> str:
            return clean(super().format(record))

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(Clean("ccmon: %(message)s"))
    logger = logging.getLogger("ccmon")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.WARNING)
    logger.propagate = False


async def _serve(args: argparse.Namespace) -> int:
    _log_to_stderr()
    sec = security(args)  # refuse before opening the database
    store = open_store(args)
    receiver = make_receiver(args, store, sec)
    try:
        await receiver.start()
    except BaseException:
        store.close()
        raise
    _warn_if_public(args.bind)
    print(f"ccmon {__version__} receiving OTLP on {receiver.endpoints()}; storing in {args.db}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await receiver.stop()
    received = sum(store.received.values())
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
    from .ingest.receiver import OtlpSource

    sec = security(args)  # refuse before opening the database
    store = open_store(args, load=False)  # the source loads it after the first frame
    return OtlpSource(store, make_receiver(args, store, sec))


def make_app(args: argparse.Namespace, **kwargs):
    from .views.app import CcmonApp

    return CcmonApp(make_source(args), **kwargs)


def dashboard(args: argparse.Namespace) -> int:
    import logging

    if not getattr(args, "prometheus", None):
        _warn_if_public(args.bind)
    logging.getLogger("ccmon").addHandler(logging.NullHandler())  # the status bar says it, not stderr
    logging.getLogger("ccmon").propagate = False
    app = make_app(args)
    app.run()
    if app.startup_error:
        return fail(app.startup_error, app.startup_code)
    return app.return_code or 0
