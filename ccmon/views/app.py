"""The Textual app: runs a ``Source`` on the app's event loop and shows its snapshots.

Refreshing is driven by the data. A source that can tell when it changed (the embedded
receiver after each export, a viewer after each commit it sees) wakes the app, which then
builds one snapshot and updates every pane inside one ``batch_update``, so a refresh is one
repaint. Wake-ups that come faster than refreshes can be afforded are coalesced: the next
refresh waits ``MIN_GAP_FACTOR`` times the last one's cost (at least ``MIN_GAP_S``, at most the
refresh interval), so a flood of exports costs a bounded share of a core and a lone export is
on screen at once. A slow timer (every ``STATUS_TICK_S``; every ``refresh_interval`` for a
source that cannot wake the app, e.g. Prometheus) redraws the status bar's "N s ago" ages
when their text changes, refreshes when the wall-clock minute turns (burn rates and
sparklines slide even when nothing arrives), and catches up with any change it finds.
Paused, nothing refreshes.

The time range (key t, ``views.time_range``) is the app's. Other than "all", the source
computes the range's totals off the event loop (``ranged_snapshot``: the database's rollups on
a thread, or one Prometheus fetch), again when the source changed or the wall-clock minute
turned, at most every ``RANGE_GAP_FACTOR`` times the last computation's cost (at least
``RANGE_MIN_GAP_S``); every refresh joins the latest with the live snapshot
(``model.ranged.compose``). Until a new range's totals are ready the screen keeps the previous
range's, labelled as such, and the headline says the new one is loading.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from ..errors import CcmonError
from ..model.ranged import compose
from ..model.snapshot import SessionRow, Snapshot
from ..model.source import Source
from . import ui_state
from .screens.flow import FlowScreen
from .screens.help import HelpScreen
from .screens.main import MainScreen
from .screens.session import SessionScreen
from .time_range import RANGES, since_ns

MINUTE_NS = 60_000_000_000
STATUS_TICK_S = 1.0
MIN_GAP_S = 0.02
MIN_GAP_FACTOR = 4.0
RANGE_MIN_GAP_S = 0.5
RANGE_GAP_FACTOR = 10.0


class CcmonApp(App[None]):
    CSS_PATH = "ccmon.tcss"
    TITLE = "ccmon"
    # Below 120 columns the panes stack (``-narrow`` in ccmon.tcss); from 120 all are visible,
    # the four summaries two by two until there are 156 columns for four in a row (``-medium``).
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-medium"), (156, "-wide")]
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),  # what a terminal user tries first
        # One key, two footer labels: check_action shows the one that applies (Pause or Resume).
        Binding("p", "pause", "Pause"),
        Binding("p", "resume", "Resume"),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("f1", "help", "Help", show=False),
        Binding("f", "flow", "Flow"),
        Binding("P", "insight('prompts')", "Prompts"),  # insight screens: views/screens/insight_nav.py
    ]

    def __init__(
        self,
        source: Source,
        *,
        clock: Callable[[], int] | None = None,
        refresh_interval: float = 0.25,
        setup_hint: Callable[[], str | None] | None = None,
        state_path: Path | None = None,
    ) -> None:
        super().__init__()
        self.state_path = state_path  # theme, sort, group-by remembered here (views.ui_state); None: not
        self._remembered = ui_state.load(state_path)
        self.source = source
        self.setup_hint = setup_hint  # the `ccmon env` block for this receiver, for the waiting screen
        self.clock = clock or time.time_ns
        self.refresh_interval = refresh_interval
        self.startup_error: str | None = None  # one line for the CLI to print after exit
        self.startup_code = 1
        self.source_started = False  # the source is listening / polling
        self.paused = False
        self.watcher: Any = None  # ccmon.alerting's budget and alert watcher, set by compose.make_app
        self.snapshot: Snapshot | None = None  # the one on screen
        self.live: Snapshot | None = None  # the source's, whatever the time range (the session screen's)
        self._shown_version: int | None = None
        self._shown_minute: int | None = None
        self._frozen_ns = 0  # the time the status bar shows while paused
        self._wake_handle: asyncio.Handle | None = None  # a refresh scheduled by a wake-up
        self._refreshed_at = 0.0  # time.monotonic() at the end of the last refresh
        self._refresh_cost = 0.0  # how long it took
        # The time range: the one chosen, the one whose figures are on screen (the previous one
        # while a new one loads), and the latest totals computed for it.
        self.range_name = "all"
        self.shown_range = "all"
        self._ranged: Snapshot | None = None
        self._ranged_key: tuple[str, int, int] | None = None  # (range, source version, minute) computed
        self._ranged_task: asyncio.Task[None] | None = None
        self._ranged_handle: asyncio.TimerHandle | None = None
        self._ranged_at = 0.0  # time.monotonic() at the end of the last computation
        self._ranged_cost = 0.0
        self.range_error: str | None = None  # the last computation's failure, if it failed
        self.main = MainScreen()

    def get_default_screen(self) -> Screen:
        return self.main

    # -- lifecycle ------------------------------------------------------------------------------

    def on_mount(self) -> None:
        theme = self._remembered.get("theme")
        if theme in self.available_themes:
            self.theme = theme
        if self._remembered.get("range") in dict(RANGES) and self.has_ranges:
            self.range_name = self._remembered["range"]
        self.main.restore(self._remembered)
        # The source starts on the running loop (grpc.aio servers cannot be created before
        # it), in a worker so that the first frame does not wait for it: loading a large
        # database takes a second, and the status bar says "starting…" meanwhile.
        self.run_worker(self._start_source(), name="start source", exclusive=True)

    async def _start_source(self) -> None:
        try:
            await self.source.start()
            self.source_started = True
        except CcmonError as exc:  # a port in use: the receiver's message names it and what to do
            self.startup_error, self.startup_code = exc.message, exc.code
            self.exit(return_code=exc.code)
        except OSError as exc:
            self.startup_error = exc.strerror or str(exc)
            self.exit(return_code=1)
        except Exception as exc:  # e.g. a database that cannot be read: one line, not a traceback
            self.startup_error = f"cannot start: {exc}"
            self.exit(return_code=1)

    def on_ready(self) -> None:
        """The main screen's panes exist from here on: show the first snapshot, then tick."""
        if self.startup_error is None:
            self.refresh_now()
            # What exists now (Textual, the receivers, the totals rebuilt from the database)
            # lives as long as the app. Frozen, it is left out of the garbage collector's full
            # passes, which otherwise walk all of it every few refreshes: measured with 1,000
            # sessions, 70-90 ms pauses, the slowest refreshes by far.
            gc.freeze()
            add_listener = getattr(self.source, "add_listener", None)
            if add_listener is not None:
                add_listener(self.wake)
                self.set_interval(max(STATUS_TICK_S, self.refresh_interval), self.tick)
            else:
                self.set_interval(self.refresh_interval, self.tick)

    def exit(self, *args, **kwargs) -> None:
        """Every way out (q, Ctrl+C, the palette) comes here while the panes still exist:
        remember the theme, sort and group-by for the next run."""
        if self.state_path is not None and self.main.is_mounted:
            ui_state.save(self.state_path, {"theme": self.theme, **self.main.remembered(), "range": self.range_name})
        super().exit(*args, **kwargs)

    async def on_unmount(self) -> None:
        gc.unfreeze()
        if self._ranged_handle is not None:
            self._ranged_handle.cancel()
        if self._ranged_task is not None:
            self._ranged_task.cancel()
            try:
                await self._ranged_task
            except (asyncio.CancelledError, Exception):
                pass
        await self.source.stop()

    # -- refreshing -----------------------------------------------------------------------------

    def tick(self) -> None:
        # The timer runs in its own task and can fire while the app is shutting down and the
        # panes are already gone.
        if self.paused or not self.is_running:
            return
        now = self.clock()
        if self.source.version != self._shown_version or now // MINUTE_NS != self._shown_minute:
            self.refresh_now(now)
        elif self.snapshot is not None:
            self.main.show_status(self.snapshot, now, paused=False)

    def wake(self) -> None:
        """The source changed (called on the loop): refresh now, or as soon as the last
        refresh's cost allows."""
        if self._wake_handle is not None or self.paused or not self.is_running:
            return
        gap = min(self.refresh_interval, max(MIN_GAP_S, MIN_GAP_FACTOR * self._refresh_cost))
        delay = self._refreshed_at + gap - time.monotonic()
        loop = asyncio.get_running_loop()
        self._wake_handle = loop.call_later(delay, self._woken) if delay > 0 else loop.call_soon(self._woken)

    def _woken(self) -> None:
        self._wake_handle = None
        if self.paused or not self.is_running or self.snapshot is None:
            return
        if self.source.version != self._shown_version:
            self.refresh_now()

    def refresh_now(self, now: int | None = None) -> None:
        """Build one snapshot and show it everywhere."""
        started = time.monotonic()
        now = self.clock() if now is None else now
        version = self.source.version
        snap = self.live = self.source.snapshot(now)
        if self.shown_range != "all" and self._ranged is not None:
            snap = compose(snap, self._ranged, self.shown_range)
        self.snapshot = snap
        self._shown_version = version
        self._shown_minute = now // MINUTE_NS
        with self.batch_update():
            self.main.show(snap, self._range_pending())
            self.main.show_status(snap, now, paused=self.paused)
        if isinstance(self.screen, SessionScreen):
            self.screen.source_changed(self._session_row(self.screen.key))
        self._refreshed_at = time.monotonic()
        self._refresh_cost = self._refreshed_at - started
        self._want_ranged(now)

    # -- the time range -------------------------------------------------------------------------

    def _range_pending(self) -> str | None:
        """What the headline says while the chosen range is not the one on screen."""
        if self.range_name == self.shown_range:
            return None
        return f"{self.range_name}: failed (see the notice)" if self.range_error else f"{self.range_name} loading…"

    @property
    def has_ranges(self) -> bool:
        """The source can total a time range (every real one; some test doubles cannot)."""
        return hasattr(self.source, "ranged_snapshot")

    def set_range(self, name: str) -> None:
        """Show the dashboard over range ``name`` (``views.time_range.RANGES``)."""
        if not self.has_ranges:
            self.notify("This source cannot total a time range.", title="Time range", severity="warning")
            return
        self.range_name = name
        if self._ranged_handle is not None:  # a recomputation of the previous range, not due yet
            self._ranged_handle.cancel()
            self._ranged_handle = None
        if self._ranged_task is not None:  # one under way: abandoned (SQLite is interrupted)
            self._ranged_task.cancel()
            self._ranged_task = None
        if name == "all":  # the live snapshot: at once
            self.shown_range = "all"
            self._ranged = None
        self.range_error = None
        if self.snapshot is not None and self.is_running:
            self.refresh_now()  # "loading" in the headline, or "all" at once; starts the computation

    def _want_ranged(self, now: int) -> None:
        """Compute the range's totals if they are out of date (a new range, a change, a new
        minute), as soon as the last computation's cost allows; never two at once."""
        name = self.range_name
        if name == "all" or self._ranged_task is not None or self._ranged_handle is not None:
            return
        if self.paused and name == self.shown_range:  # a range chosen while paused still loads
            return
        if (name, self.source.version, now // MINUTE_NS) == self._ranged_key:
            return
        gap = 0.0 if name != self.shown_range else max(RANGE_MIN_GAP_S, RANGE_GAP_FACTOR * self._ranged_cost)
        delay = self._ranged_at + gap - time.monotonic()
        loop = asyncio.get_running_loop()
        if delay > 0:
            self._ranged_handle = loop.call_later(delay, self._ranged_due)
        else:
            self._ranged_task = loop.create_task(self._compute_ranged(now))

    def _ranged_due(self) -> None:
        self._ranged_handle = None
        if self.is_running:
            self._want_ranged(self.clock())

    async def _compute_ranged(self, now: int) -> None:
        name = self.range_name
        key = (name, self.source.version, now // MINUTE_NS)
        start = since_ns(name, now)
        assert start is not None
        started = time.monotonic()
        ranged: Snapshot | None = None
        try:
            ranged = await self.source.ranged_snapshot(start, now)  # type: ignore[attr-defined]
        except Exception as exc:  # a database that cannot be read, Prometheus failing: say so, keep going
            error = f"{name}: {exc}"
            if error != self.range_error:
                self.notify(error, title="Time range", severity="error")
            self.range_error = error
        finally:
            if self._ranged_task is asyncio.current_task():  # not one started after this was abandoned
                self._ranged_task = None
            self._ranged_at = time.monotonic()
            self._ranged_cost = self._ranged_at - started
        self._ranged_key = key
        if not self.is_running:
            return
        if ranged is not None and name == self.range_name:
            switched = name != self.shown_range
            self._ranged, self.shown_range = ranged, name
            self.range_error = None
            if not self.paused or switched:
                self.refresh_now()
        else:  # the range changed meanwhile (or this one failed): the next one, when due
            if self.range_error and name == self.range_name and self.snapshot is not None:
                self.refresh_now()  # the headline says it failed
            else:
                self._want_ranged(self.clock())

    def _session_row(self, key: str) -> SessionRow | None:
        if self.live is None:  # the whole session, whatever the time range
            return None
        return next((s for s in self.live.sessions if s.key == key), None)

    # -- actions --------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "pause":
            return not self.paused
        if action == "resume":
            return self.paused
        return True

    def action_resume(self) -> None:
        if self.paused:
            self.action_pause()

    def action_pause(self) -> None:
        """Pause, or resume when paused (the palette's "Pause / resume")."""
        self.paused = not self.paused
        self.refresh_bindings()  # the footer says Resume while paused
        if self.paused:
            self._frozen_ns = self.clock()
            if self.snapshot is not None:
                self.main.show_status(self.snapshot, self._frozen_ns, paused=True)
        else:
            self.refresh_now()

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_flow(self) -> None:
        """What arrives on the wire and why not (OTLP sources only; others say so)."""
        if not isinstance(self.screen, FlowScreen):
            self.push_screen(FlowScreen(getattr(self.source, "flow", None), self.clock))

    def action_insight(self, what: str) -> None:
        from .screens.insight_nav import open_insight

        open_insight(self, what)

    def open_session(self, key: str) -> None:
        self.push_screen(SessionScreen(self.source, key, self._session_row(key)))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """The palette lists the footer's actions (quit comes from Textual's own list)."""
        yield SystemCommand("Pause / resume", "Freeze every pane; resuming catches up", self.action_pause)
        if isinstance(screen, MainScreen):
            yield SystemCommand("Sort sessions", "Sort the sessions table by the next column", screen.action_sort)
            yield SystemCommand("Reverse sort", "Reverse the sessions table's order", screen.action_reverse_sort)
            yield SystemCommand("Filter", "Filter sessions and events by text", screen.action_filter)
            yield SystemCommand("Group by", "Group cost and tokens by the next dimension", screen.action_group)
            yield SystemCommand(
                "Group by (previous)",
                "Group cost and tokens by the previous dimension",
                lambda: screen.action_group(-1),
            )
            yield SystemCommand(
                "Time range",
                "Every pane and the sessions table over: all, today, 1 h, 24 h, 7 d, 30 d",
                lambda: screen.action_time_range(1),
            )
            yield SystemCommand(
                "Per day", "Cost, tokens, sessions, commits and PRs per day (7 d / 30 d)", screen.action_days
            )
            yield SystemCommand("Open session", "Open the session under the cursor", screen.action_open_session)
            yield SystemCommand("Zoom pane", "Zoom the focused pane to the whole screen", screen.action_zoom)
        yield SystemCommand("Flow", "What arrives per signal and protocol, from whom, and why not", self.action_flow)
        from .screens.insight_nav import insight_commands

        yield from insight_commands(self)
        yield SystemCommand("Next pane", "Focus the next pane", self.action_focus_next)
        yield SystemCommand("Help", "Keys and what the figures mean", self.action_help)
        for command in super().get_system_commands(screen):
            if command.title == "Screenshot":  # Textual's saves to ~/Downloads, failing where there is none
                command = SystemCommand(
                    "Screenshot",
                    f"Save an SVG of the screen in {ui_state.screenshot_dir()}",
                    lambda: self.set_timer(0.1, self.save_screenshot_and_say),
                )
            yield command

    def save_screenshot_and_say(self) -> str:
        """The screen as SVG in ``ui_state.screenshot_dir()``; a notification says where."""
        path = self.save_screenshot(path=str(ui_state.screenshot_dir()))
        self.notify(f"Screenshot saved to {path}", title="Screenshot", timeout=8)
        return path
