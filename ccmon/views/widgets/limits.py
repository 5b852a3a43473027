"""Plan limits: the 5 h and 7 d windows of a claude.ai subscription, as bars with the reset
countdown and the pace (where use is heading at the rate so far).

They reach ccmon only through Claude Code's status line (``ccmon statusline``, installed by
``ccmon setup --statusline``): no telemetry carries them. Until a status line has arrived the
pane says how to install it instead of showing zeros; in Prometheus mode it says there is no
status line to read.
"""

from __future__ import annotations

import time
from typing import Any

from rich.text import Text

from ...model.limits import WINDOWS, window_pace
from ...model.snapshot import Snapshot
from ...model.statusline import duration, pct
from .. import safe
from .pane import Pane

PROMETHEUS = "Plan limits come from Claude Code's status line, which only the OTLP mode receives."
NOT_INSTALLED = (
    "No status line has arrived yet. Run `ccmon setup --statusline` to have Claude Code "
    "hand ccmon its 5 h and 7 d plan limits (claude.ai subscriptions)."
)
NO_LIMITS = (
    "Status lines arrive, without plan limits: Claude Code sends them only to claude.ai "
    "subscribers (not API keys), after the first reply of a session."
)


def level(p: float) -> str:
    """The colour of a use figure: green below half, yellow below 80%, red from there."""
    return "green" if p < 50 else "yellow" if p < 80 else "bold red"


def bar(p: float, width: int) -> Text:
    width = max(width, 4)
    full = min(max(round(p / 100 * width), 0), width)
    return Text.assemble(("█" * full, level(p).replace("bold ", "")), ("░" * (width - full), "dim"))


def _clock(t_s: float, now_s: float) -> str:
    """A reset time: 15:40 today, else "Thu 15:40"."""
    t = time.localtime(t_s)
    if t[:3] == time.localtime(now_s)[:3]:
        return time.strftime("%H:%M", t)
    return time.strftime("%a %H:%M", t)


def _span(s: float) -> str:
    """1 h 20 m, 2 d 03 h, 12 m."""
    return duration(s).replace("d", " d ").replace("h", " h ").replace("m", " m").replace("  ", " ").strip()


class LimitsPane(Pane):
    TITLE = "Plan limits"

    def select(self, snap: Snapshot) -> Any:
        limits = snap.limits
        now_s = snap.now_ns // 1_000_000_000
        if snap.status.kind == "prometheus":
            return ("prometheus",)
        if limits is None or not limits.received:
            return ("none",)
        plan = limits.plan
        if plan is None:
            return ("no-limits",)
        return ("plan", plan, now_s)

    def draw(self, data: Any, width: int) -> Text:
        kind = data[0]
        if kind == "prometheus":
            return Text(PROMETHEUS, style="dim italic")
        if kind == "none":
            return Text(NOT_INSTALLED, style="dim")
        if kind == "no-limits":
            return Text(NO_LIMITS, style="dim")
        _, plan, now_s = data
        out = Text()
        for name, label, length in WINDOWS:
            w, p = window_pace(plan.window(name), length, now_s)
            if out:
                out.append("\n")
            out.append(f"{label:<4}", "bold")
            raw = plan.window(name)
            if w is None:
                if raw is not None:
                    out.append(f"reset at {_clock(raw.resets_at, now_s)}; no reading since", "dim")
                else:
                    out.append("not reported", "dim")
                continue
            figure = pct(w.used_pct)
            out.append_text(bar(w.used_pct, width - 4 - 7))
            out.append(f" {figure:>6}", level(w.used_pct))
            out.append(f"\n  resets in {_span(w.resets_at - now_s)} ({_clock(w.resets_at, now_s)})")
            out.append("\n  ")
            if p is None:
                out.append("pace: too early in the window to tell", "dim")
            elif p.hit_at is not None:
                early = _span(w.resets_at - p.hit_at)
                at = _clock(p.hit_at, now_s)
                out.append(
                    f"at this rate you hit 100% at {at}, {early} before the reset"
                    if width >= 64
                    else f"pace: 100% at {at}, {early} before reset",
                    "bold red",
                )
            else:
                out.append(f"pace: {pct(p.projected_pct)} at the reset", level(p.projected_pct))
        account = plan.account if len(plan.account) <= 13 else plan.account[:12] + "…"
        who = f"{safe.clean(account)} · " if account else ""
        out.append(f"\n{who}reading {_span(max(now_s - plan.t_ns / 1e9, 0))} old", "dim")
        return out
