"""Composition root: the one place that wires ingest, model and views together.

``make_app`` is used by the CLI and by the tests, so both build exactly the same app.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import os
import signal
import sqlite3
import sys

from . import __version__
from .errors import CcmonError

LOST_WHILE_CLOSED = (
    "this dashboard was the receiver: whatever Claude Code exports while no ccmon runs is "
    "lost for good. To keep capturing all day: ccmon service install (or ccmon serve &)"
)


def open_store(args: argparse.Namespace, *, load: bool = True):
    """The store for ``args.db``, or a one-line reason it cannot be opened."""
    from .model.db import SchemaError
    from .model.store import Store

    try:
        return Store(args.db, retention_days=args.retention_days, load=load)
    except (sqlite3.Error, OSError, SchemaError) as exc:
        raise CcmonError(f"cannot open database {args.db}: {exc}") from None


def _is_loopback(bind: str) -> bool:
    try:
        return ipaddress.ip_address(bind).is_loopback
    except ValueError:
        return bind == "localhost"


def _warn_if_public(bind: str) -> None:
    if not _is_loopback(bind):
        print(
            f"ccmon: warning: listening on {bind}, not loopback: anyone who can reach this "
            "machine can send telemetry to it",
            file=sys.stderr,
        )


def own_db(args: argparse.Namespace, kind: str):
    """Lock ``args.db`` for this receiver (``CcmonError``, exit 2, when another one has it) and
    let viewers follow what it writes."""
    from .ingest.owner import DbLock
    from .model import follow

    lock = DbLock.acquire(args.db, kind=kind, bind=args.bind, grpc_port=args.grpc_port, http_port=args.http_port)
    store = None
    try:
        store = open_store(args, load=kind == "serve")
        follow.install(args.db)
    except BaseException:
        if store is not None:
            store.close()
        lock.release()
        raise
    return lock, store


def _notify_viewers(receiver, db: str) -> None:
    """After each export, tell the dashboards attached to ``db`` (``ingest.wakeup``)."""
    from .ingest.wakeup import Notifier

    try:
        receiver.listeners.append(Notifier(db).changed)
    except OSError:
        pass  # viewers then notice within their fallback interval


def security(args: argparse.Namespace):
    """Token and TLS from the flags (and $CCMON_TOKEN); refuses a non-loopback --bind that
    anyone could write to, unless the user said so with --allow-unauthenticated."""
    import os

    from .ingest.contract import Security

    token = getattr(args, "token", None) or os.environ.get("CCMON_TOKEN") or None
    cert, key = getattr(args, "tls_cert", None), getattr(args, "tls_key", None)
    if bool(cert) != bool(key):
        raise CcmonError("--tls-cert and --tls-key go together", 2)
    if token is None and not _is_loopback(args.bind) and not getattr(args, "allow_unauthenticated", False):
        raise CcmonError(
            f"--bind {args.bind} is not loopback: anyone who can reach it could write to ccmon. "
            "Set a token (--token or CCMON_TOKEN), or add --allow-unauthenticated",
            2,
        )
    return Security(token=token, tls_cert=cert, tls_key=key)


def make_receiver(args: argparse.Namespace, store, sec):
    from .ingest.receiver import Receiver

    return Receiver(
        store,
        bind=args.bind,
        grpc_port=args.grpc_port,
        http_port=args.http_port,
        security=sec,
        max_connections=getattr(args, "max_connections", None),
    )


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
    from .alerting import for_serve
    from .model.config import from_args

    _log_to_stderr()
    cfg = from_args(args)  # budgets and alerts: a bad config.toml stops here, before the database
    sec = security(args)  # refuse before opening the database
    lock, store = own_db(args, "serve")
    receiver = make_receiver(args, store, sec)
    _notify_viewers(receiver, args.db)
    try:
        await receiver.start()
    except BaseException:
        store.close()
        lock.release()
        raise
    lock.update(receiver.grpc_port, receiver.http_port)
    _warn_if_public(args.bind)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):  # before the banner: a stop right after it is clean
        loop.add_signal_handler(sig, stop.set)
    print(f"ccmon {__version__} receiving OTLP on {receiver.endpoints()}; storing in {args.db}", flush=True)
    watcher = for_serve(cfg, receiver)  # budgets and alerts, to this log and the desktop
    watcher.start()
    await stop.wait()
    await watcher.stop()
    await receiver.stop()
    received = sum(receiver.stats.received().values())
    store.close()
    lock.release()
    print(f"ccmon stopped; {received} export(s) received this run", file=sys.stderr, flush=True)
    return 0


def serve(args: argparse.Namespace) -> int:
    return asyncio.run(_serve(args))


def _running_receiver(args: argparse.Namespace):
    """The ccmon receiver this dashboard should watch instead of receiving itself: the one that
    owns ``args.db``, or (when no database was chosen) the one listening on the ports asked for."""
    from .ingest import owner
    from .model.db import default_path

    found = owner.probe(args.db)
    if found is None and os.path.abspath(args.db) == os.path.abspath(default_path()):
        found = owner.find_by_port(args.grpc_port, args.http_port)
    return found


def make_source(args: argparse.Namespace):
    """The dashboard's data source: Prometheus when asked; a viewer of the ccmon receiver
    already running; else the embedded OTLP receiver, which then owns the database."""
    if getattr(args, "prometheus", None):
        from .ingest.prometheus.source import PrometheusSource

        return PrometheusSource.from_args(args)
    from .ingest.receiver import OtlpSource
    from .ingest.viewer import ViewerSource

    sec = security(args)  # refuse before opening the database
    for attempt in range(2):  # twice: a receiver may start between looking and locking
        running = _running_receiver(args)
        if running is not None:
            return ViewerSource(running.db, running)
        try:
            lock, store = own_db(args, "dashboard")  # the source loads the store after the first frame
        except CcmonError:
            if attempt:
                raise  # it says who has the database
            continue
        receiver = make_receiver(args, store, sec)
        _notify_viewers(receiver, args.db)
        return OtlpSource(store, receiver, lock)


def make_app(args: argparse.Namespace, **kwargs):
    from .model.config import from_args
    from .views.app import CcmonApp

    cfg = from_args(args)  # budgets and alerts; a bad config.toml stops here
    source = make_source(args)
    if hasattr(source, "receiver"):
        kwargs.setdefault("setup_hint", lambda: _env_block(source.receiver, args))
    app = CcmonApp(source, **kwargs)
    if hasattr(source, "receiver"):
        from .alerting import for_dashboard

        app.watcher = for_dashboard(cfg, source, kwargs.get("clock"))  # the budget strip runs it
    elif hasattr(source, "add_listener") and hasattr(source, "db"):  # a viewer of a running receiver
        from .alerting import for_viewer

        app.watcher = for_viewer(cfg, source, kwargs.get("clock"))
    return app


def _env_block(receiver, args: argparse.Namespace) -> str | None:
    """``ccmon env`` for the ports the receiver really listens on (port 0 is resolved by then)."""
    from .commands.env import Target, render

    base = Target.from_args(args)
    if not receiver.grpc_port or not receiver.http_port:  # port 0 not bound yet: the first frame
        return None
    return render(Target(base.bind, receiver.grpc_port or 0, receiver.http_port or 0, base.token), "grpc", "sh")


def dashboard(args: argparse.Namespace) -> int:
    import logging

    if not getattr(args, "prometheus", None):
        _warn_if_public(args.bind)
    logging.getLogger("ccmon").addHandler(logging.NullHandler())  # the status bar says it, not stderr
    logging.getLogger("ccmon").propagate = False
    from .views.ui_state import default_path

    app = make_app(args, state_path=default_path())  # theme, sort, group-by remembered across runs
    app.run()
    if app.startup_error:
        raise CcmonError(app.startup_error, app.startup_code)
    from .ingest.receiver import OtlpSource

    if isinstance(app.source, OtlpSource) and app.source_started:
        print(f"ccmon: {LOST_WHILE_CLOSED}", file=sys.stderr)
    return app.return_code or 0
