"""The attached dashboard's source: a read-only view of a database another ccmon receives into.

Several dashboards can watch one ``ccmon serve`` (or one dashboard that is the receiver):
each follows the database with ``model.follow.Follower``. The receiver sends a notice after
its commits (``ingest.wakeup``); on one, the viewer asks SQLite whether anything was committed
(``PRAGMA data_version``: no table is read) and only then reads, on a worker thread, what the
new commits added, and wakes the app. Without notices (another ccmon version, a socket that
could not be made) it checks every ``FALLBACK_S`` anyway, and every ``OWNER_CHECK_S`` it
checks that the receiver still holds the database, and says so when it stops. Nothing here
writes the database: the connections are read-only and the lock is only tested.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..aio import stop_task
from ..model.aggregate import Aggregates
from ..model.follow import Follower
from ..model.limits import LimitsView
from ..model.limits_store import load_view
from ..model.snapshot import Snapshot, SourceStatus
from . import owner as owners

if TYPE_CHECKING:
    from .wakeup import Listener

FALLBACK_S = 1.0  # with notices: only a safety net for a lost one
FALLBACK_NO_NOTICES_S = 0.1  # when this viewer could not listen for notices
OWNER_CHECK_S = 2.0


class ViewerSource:
    def __init__(self, db: str | os.PathLike[str], owner: owners.OwnerInfo) -> None:
        self.db = os.fspath(db)
        self.owner: owners.OwnerInfo | None = owner
        self.last_owner = owner
        self.aggs = Aggregates()
        self.version = 0
        self._follower: Follower | None = None
        self._task: asyncio.Task[None] | None = None
        self._listeners: list[Callable[[], None]] = []
        self._kicked = asyncio.Event()
        self._notices: Listener | None = None
        self._reading: asyncio.Future | None = None
        self.limits = LimitsView()  # the receiver's status lines (plan limits), read with the rest

    @property
    def description(self) -> str:
        if self.owner is not None:
            return f"watching {self.owner.describe()}"
        gone = self.last_owner
        what = "ccmon serve" if gone.kind == "serve" else "the ccmon dashboard"
        return f"nothing receives: {what} (pid {gone.pid}) stopped"

    def add_listener(self, callback: Callable[[], None]) -> None:
        """``callback()`` runs on the loop whenever the next snapshot would differ."""
        self._listeners.append(callback)

    def _changed(self) -> None:
        self.version += 1
        for cb in self._listeners:
            cb()

    async def start(self) -> None:
        from .wakeup import Listener

        self._follower = await asyncio.to_thread(Follower, self.db)
        try:
            self._notices = Listener(self.db)
            self._notices.attach(self._kicked.set)
        except OSError:
            self._notices = None  # e.g. a runtime directory path too long for a socket: check more often
        seen = self._follower.data_version()  # before the first look: a commit made during it is not missed
        await self._look()
        self._task = asyncio.get_running_loop().create_task(self._follow(seen))

    async def _look(self) -> None:
        assert self._follower is not None
        # Shielded and remembered: ``stop`` waits for a read in flight before it closes the
        # connection that read is using (closing it under a running query can crash SQLite).
        follower = self._follower

        def read():
            # The status-line tables are a row per session: read whole, compared with the last.
            return follower.read(), load_view(follower.conn)

        self._reading = asyncio.ensure_future(asyncio.to_thread(read))
        ch, limits = await asyncio.shield(self._reading)
        changed = limits != self.limits
        self.limits = limits
        if not ch.empty:
            self.aggs = follower.apply(self.aggs, ch)
            changed = True
        if changed:
            self._changed()

    async def _follow(self, seen: int) -> None:
        follower = self._follower
        assert follower is not None
        loop = asyncio.get_running_loop()
        wait = FALLBACK_S if self._notices is not None else FALLBACK_NO_NOTICES_S
        next_check = loop.time() + OWNER_CHECK_S
        while True:
            try:
                await asyncio.wait_for(self._kicked.wait(), wait)
            except TimeoutError:
                pass
            self._kicked.clear()
            v = follower.data_version()
            if v != seen:
                seen = v
                await self._look()
            if loop.time() >= next_check:
                next_check = loop.time() + OWNER_CHECK_S
                found = await asyncio.to_thread(owners.probe, self.db)
                if found != self.owner:
                    self.owner = found
                    if found is not None:
                        self.last_owner = found
                    self._changed()

    async def stop(self) -> None:
        await stop_task(self._task)  # cancelled for sure (a wake-up may land at the same time)
        self._task = None
        if self._reading is not None and not self._reading.done():
            await asyncio.wait([self._reading])
        if self._notices is not None:
            self._notices.close()
            self._notices = None
        if self._follower is not None:
            self._follower.close()
            self._follower = None

    def status(self) -> SourceStatus:
        f = self._follower
        last = {}
        if f is not None:
            if f.newest_point_ns:
                last["metrics"] = f.newest_point_ns
            if f.newest_event_ns:
                last["logs"] = f.newest_event_ns
        return SourceStatus(kind="viewer", where=self.description, last_payload_ns=last, stale=self.owner is None)

    def snapshot(self, now_ns: int | None = None) -> Snapshot:
        import time
        from dataclasses import replace

        snap = self.aggs.snapshot(self.version, self.status(), now_ns if now_ns is not None else time.time_ns())
        return replace(snap, limits=self.limits)

    # -- the dashboard's time range (model.ranged): off the loop, on their own connections ----

    async def ranged_snapshot(self, since_ns: int, now_ns: int) -> Snapshot:
        """The totals from ``since_ns`` on, from the rollups (``report --since``)."""
        from ..model.ranged import snapshot_since
        from .ranged import off_loop

        return await off_loop(self.db, snapshot_since, since_ns, now_ns, self.status())

    async def per_day(self, since_ns: int, until_ns: int) -> dict:
        """``ccmon report --by day`` over the window."""
        from ..model.ranged import per_day
        from .ranged import off_loop

        return await off_loop(self.db, per_day, since_ns, until_ns)

    async def session_detail(self, key: str):
        from ..model import db
        from ..model.session_detail import build_detail

        limit = 5000

        def load():
            conn = db.connect(self.db, readonly=True)
            try:
                return build_detail(
                    key,
                    db.session_events(conn, key, limit),
                    db.session_cost_points(conn, key),
                    limit,
                    db.session_interactions(conn, key),
                )
            finally:
                conn.close()

        return await asyncio.to_thread(load)
