"""The budget strip: each budget for everything with its pace, and the newest alert as a banner.

Self-contained: it reads the app's alert watcher (``ccmon.alerting.Watcher``, set by
``compose.make_app`` in OTLP mode), starts it, and polls it once a second, so alerts show up,
and ring the terminal bell, even when no new telemetry triggers a refresh. Hidden when no
budget is set and nothing has fired.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from ...model.alerts import Alert
from ...model.budgets import OVER, WARNING, BudgetState
from .. import safe

BANNER_NS = 10 * 60_000_000_000  # an alert stays on the banner for ten minutes
_LEVEL_STYLE = {OVER: "bold red", WARNING: "bold yellow"}
_WORD = {"daily": "day", "weekly": "week", "monthly": "month", "session": "session"}


def strip_text(states: list[BudgetState]) -> Text:
    """``Budget  day $4.10/$10 41% on pace │ week …``, plus how many users or sessions are past
    a threshold (``ccmon check`` lists them)."""
    t = Text("Budget ", "bold", no_wrap=True, overflow="ellipsis")
    main = [s for s in states if s.scope == "all"]
    main.sort(key=lambda s: ("daily", "weekly", "monthly").index(s.kind))
    for i, s in enumerate(main):
        if i:
            t.append(" │ ", "dim")
        t.append(f"{_WORD[s.kind]} ", "dim")
        t.append(f"${s.spent:,.2f}/${s.limit:,.2f} {s.fraction * 100:.0f}%", _LEVEL_STYLE.get(s.level, "green"))
        if s.pace:
            t.append(f" {s.pace}", "yellow" if s.over_by or s.level == OVER else "dim")
    others = [s for s in states if s.scope != "all" and s.level != "ok"]
    if others:
        over = sum(s.level == OVER for s in others)
        t.append(" │ ", "dim")
        t.append(f"{len(others)} user/session budget(s) past a threshold ({over} over)", "bold yellow")
    if not main and not others:
        session = [s for s in states if s.kind == "session"]
        t.append(f"{len(session)} session(s) within ${session[0].limit:,.2f}" if session else "none set", "dim")
    return t


def banner_text(alert: Alert) -> Text:
    from .. import fmt

    t = Text("⚠ ", _LEVEL_STYLE.get(alert.level, "bold yellow"), no_wrap=True, overflow="ellipsis")
    t.append(fmt.clock_time(alert.t_ns), "dim")
    t.append_text(safe.text(f" {alert.reason}", _LEVEL_STYLE.get(alert.level, "bold yellow")))
    return t


class BudgetStrip(Static):
    DEFAULT_CSS = """
    BudgetStrip {
        height: auto;
        max-height: 2;
        padding: 0 1;
        display: none;
    }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._shown: tuple | None = None
        self._rung: Alert | None = None

    @property
    def watcher(self):
        return getattr(self.app, "watcher", None)

    def on_mount(self) -> None:
        w = self.watcher
        if w is None:
            return
        w.start()
        self._rung = w.alerts[0] if w.alerts else None
        self.set_interval(1.0, self.poll)

    async def on_unmount(self) -> None:
        if self.watcher is not None:
            await self.watcher.stop()

    def show(self, snap=None) -> None:
        self.poll()

    def poll(self) -> None:
        w = self.watcher
        if w is None:
            return
        newest = w.alerts[0] if w.alerts else None
        if newest is not None and newest is not self._rung:
            self._rung = newest
            self.app.bell()
        now = w.clock()
        banner = newest if newest is not None and now - newest.t_ns < BANNER_NS else None
        key = (w.version, banner)
        if key == self._shown:
            return
        self._shown = key
        lines = []
        if w.states:
            lines.append(strip_text(w.states))
        if banner is not None:
            lines.append(banner_text(banner))
        self.display = bool(lines)
        if lines:
            self.update(Text("\n").join(lines))
