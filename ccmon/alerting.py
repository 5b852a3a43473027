"""The alert watcher: budgets and runaway rules evaluated as exports arrive, delivered to sinks.

Wired by ``compose`` for ``ccmon serve`` (its log and a desktop notification, so alerts fire
with no dashboard open) and for the dashboard (the banner, the event log, the bell, the
notification). It listens to the committer's ``on_commit`` (what each commit added feeds the
rules' rolling window), and re-evaluates at most once a second while data arrives, and every
``idle_s`` otherwise (a pace moves and windows slide with the clock). Budgets are read from
SQLite with ``model.spend``'s narrow queries on a thread, like ``ccmon check`` does.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable

from .aio import stop_task
from .model.alerts import Alert, AlertEngine
from .model.budgets import BudgetState, evaluate
from .model.config import Config
from .model.spend import SeriesIndex, Spend

Sink = Callable[[Alert], None]


MINUTE_NS = 60_000_000_000


class Watcher:
    def __init__(
        self,
        cfg: Config,
        db_path,
        *,
        clock: Callable[[], int] = time.time_ns,
        busy_s: float = 1.0,
        idle_s: float = 30.0,
    ) -> None:
        self.cfg = cfg
        self.db_path = db_path
        self.clock = clock
        self.engine = AlertEngine(cfg.rules)
        self.states: list[BudgetState] = []
        self.alerts: deque[Alert] = deque(maxlen=50)  # newest first
        self.sinks: list[Sink] = []
        self.version = 0  # grows whenever states or alerts change (the dashboard redraws)
        self.busy_s = busy_s
        self.idle_s = idle_s
        self._dirty = asyncio.Event()
        self.reread = False  # a viewer: the rules' window is read from the database at each evaluation
        self._conn: sqlite3.Connection | None = None
        # Reads run on a worker thread and outlive a cancelled evaluation: closing the
        # connection under a query crashes SQLite (seen as a segfault on SIGTERM). One lock.
        self._db_lock = threading.Lock()
        self._closed = False
        self._index: SeriesIndex | None = None  # kept between evaluations
        self._read_key: tuple[int, int] | None = None  # (data_version, minute) of the last read
        self._spend: Spend | None = None  # what that read found
        self._task: asyncio.Task[None] | None = None

    # -- feeding (the loop's thread) -----------------------------------------------------------

    def on_commit(self, acc) -> None:
        for info, t, inc, _first in acc.points:
            self.engine.add_point(info.metric, t, inc)
        for _session, _user, name, _det, t, attrs in acc.events:
            self.engine.add_event(t, name, attrs)
        if acc.points or acc.events:
            self._dirty.set()

    def attach(self, committer) -> None:
        committer.on_commit.append(self.on_commit)

    # -- evaluating ----------------------------------------------------------------------------

    def _read(self, now_ns: int, prime: bool):
        with self._db_lock:
            return [] if self._closed else self._read_locked(now_ns, prime)

    def _read_locked(self, now_ns: int, prime: bool):
        from .model import db, spend

        if self._conn is None:
            try:
                self._conn = db.connect(self.db_path, readonly=True)
            except FileNotFoundError:
                return []
            self._index = spend.SeriesIndex()
        # Nothing committed since the last read (SQLite's data_version: no table is read) and
        # the same minute (the windows read are whole minutes): what was read still holds, and
        # ``evaluate`` and the rules' windows take the moving clock from ``now_ns``. An idle
        # dashboard then reads once a minute, not every few seconds.
        key = (self._conn.execute("PRAGMA data_version").fetchone()[0], now_ns // MINUTE_NS)
        fresh = key != self._read_key
        self._read_key = key
        if self.reread and (fresh or prime):  # no commits seen here: the window is what the database holds now
            e = self.engine
            e.minutes.clear()
            e.errors.clear()
            e.tool_failures.clear()
            e.rejections.clear()
        if prime or (self.reread and fresh):  # the last minutes from before this process started
            spend.feed_recent(self._conn, self.engine, now_ns, self._index)
        if not self.cfg.budgets.any():
            return []
        if fresh or self._spend is None:
            self._spend = spend.read_spend(self._conn, self.cfg.budgets, now_ns, index=self._index)
        return evaluate(self.cfg.budgets, self._spend, now_ns)

    async def evaluate(self, prime: bool = False) -> list[Alert]:
        now = self.clock()
        states = await asyncio.to_thread(self._read, now, prime)
        fired = self.engine.due(now, states)
        if states != self.states or fired:
            self.states = states
            self.version += 1
        for a in fired:
            self.alerts.appendleft(a)
            for sink in self.sinks:
                try:
                    sink(a)
                except Exception:  # a broken notifier must not stop the watcher
                    pass
        return fired

    async def run(self) -> None:
        await self.evaluate(prime=True)
        while True:
            try:
                await asyncio.wait_for(self._dirty.wait(), self.idle_s)
            except TimeoutError:
                pass
            self._dirty.clear()
            await self.evaluate()
            await asyncio.sleep(self.busy_s)  # at most one evaluation a second under load

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self.run())

    async def stop(self) -> None:
        if self._task is not None:
            await stop_task(self._task)
            self._task = None
        await asyncio.to_thread(self._close)  # after any read still running on its thread

    def _close(self) -> None:
        with self._db_lock:
            self._closed = True
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def log_sink(write: Callable[[str], None]) -> Sink:
    from .model.text import clean

    def sink(a: Alert) -> None:
        stamp = time.strftime("%H:%M:%S", time.localtime(a.t_ns / 1e9))
        write(clean(f"{stamp} alert {a.level} [{a.rule}] {a.reason}"))

    return sink


def notify_sink(a: Alert) -> None:
    import threading

    from .notify import notify

    # On a thread: the loop must not wait for a notification daemon.
    threading.Thread(target=notify, args=(f"ccmon: {a.level}", a.reason), daemon=True).start()


def for_serve(cfg: Config, receiver) -> Watcher:
    """The watcher ``ccmon serve`` runs: alerts to its log (stdout) and the desktop."""
    w = Watcher(cfg, receiver.store.path)
    w.sinks.append(log_sink(lambda line: print(line, flush=True)))
    if cfg.notify:
        w.sinks.append(notify_sink)
    w.attach(receiver.committer)
    return w


def for_dashboard(cfg: Config, source, clock: Callable[[], int] | None = None) -> Watcher:
    """The dashboard's watcher: the event log (and the budget strip's banner and bell, which
    read ``watcher.alerts``) and the desktop."""
    from .model.events import ALERT

    store = source.store
    w = Watcher(cfg, store.path, clock=clock or time.time_ns)

    def to_event_log(a: Alert) -> None:
        store.aggs.log_event(a.t_ns, "ccmon", ALERT, {"rule": a.rule, "level": a.level, "reason": a.reason})
        store.version += 1  # the app redraws on a new version

    w.sinks.append(to_event_log)
    if cfg.notify:
        w.sinks.append(notify_sink)
    w.attach(source.receiver.committer)
    return w


def for_viewer(cfg: Config, source, clock: Callable[[], int] | None = None) -> Watcher:
    """A dashboard attached to a running ``ccmon serve``: that receiver logs and notifies; this
    one re-reads budgets and rules from the database when the viewer sees new data (and every
    few seconds), for the strip, the banner and the bell."""
    w = Watcher(cfg, source.db, clock=clock or time.time_ns, idle_s=5.0)
    w.reread = True
    source.add_listener(w._dirty.set)
    return w
