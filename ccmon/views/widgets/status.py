"""The status bar: where data comes from, how fresh it is, what was received and rejected, and
flags that must not be missed (PAUSED, stale source, prompt or tool content being logged)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

from ...model.snapshot import Snapshot, SourceStatus
from .. import fmt, safe
from .text_view import TextView

_SEP = (" │ ", "dim")


def _signals(status: SourceStatus) -> list[str]:
    """OTLP always lists metrics and logs, so "logs never" tells a user their logs exporter is
    off; anything else is listed once seen."""
    base = ["metrics", "logs"] if status.kind in ("otlp", "viewer") else []
    return base + sorted(s for s in status.last_payload_ns if s not in base)


def info(status: SourceStatus, now_ns: int, other: int = 0) -> Text:
    """Freshness and counts first (they matter most and survive a narrow terminal), then the
    last rejection or failure, if any, then where the data comes from. ``other``: items from
    senders that are not Claude Code (kept apart, never counted as usage; the Flow view names
    them)."""
    t = Text.assemble(("ccmon", "bold"), _SEP)
    for i, signal in enumerate(_signals(status)):
        if i:
            t.append(" · ", "dim")
        last = status.last_payload_ns.get(signal)
        t.append(f"{signal} ", "dim")
        t.append(f"{fmt.age(now_ns - last)} ago" if last else "never")
    if status.kind == "viewer":  # an attached dashboard: the receiver's counts live in its process
        t.append(*_SEP)
        t.append_text(safe.text(status.where))
        return t
    rejected = sum(status.rejected.values())
    ok_word, bad_word = ("polls ok", "failed") if status.kind == "prometheus" else ("received", "rejected")
    t.append(*_SEP)
    t.append(f"{sum(status.received.values()):,} {ok_word}")
    t.append(" · ", "dim")
    t.append(f"{rejected:,} {bad_word}", "bold red" if rejected else "")
    if other:
        t.append(" · ", "dim")
        t.append(f"{other:,} other telemetry", "yellow")
    if status.last_error:  # before where-from: a long URL or naming must not push it off screen
        t.append(*_SEP)
        t.append_text(safe.text(status.last_error, "red"))
    t.append(*_SEP)
    t.append("Prometheus " if status.kind == "prometheus" else "OTLP ", "dim")
    t.append_text(safe.text(status.where or "starting…"))
    if status.naming:
        t.append_text(safe.text(f" ({status.naming})", "dim"))
    return t


def flags(snap: Snapshot, paused: bool) -> Text:
    out = Text(justify="right")
    for on, label, style in (
        (snap.prompts_logged, "PROMPTS LOGGED", "bold black on magenta"),
        (snap.tool_details_logged, "TOOL DETAILS LOGGED", "bold black on magenta"),
        (snap.status.stale, "STALE", "bold white on red"),
        (paused, "PAUSED", "bold black on yellow"),
    ):
        if on:
            out.append(" ")
            out.append(f" {label} ", style)
    return out


class StatusBar(Horizontal):
    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._shown: dict[str, Text] = {}

    def compose(self) -> ComposeResult:
        yield TextView(id="status-info")
        yield Static(id="status-flags")

    def show(self, snap: Snapshot, now_ns: int, paused: bool) -> None:
        """Called every tick for the ages; redraws only what reads differently."""
        for wid, content in (
            ("status-info", info(snap.status, now_ns, snap.other_telemetry)),
            ("status-flags", flags(snap, paused)),
        ):
            if self._shown.get(wid) != content:
                self._shown[wid] = content
                if wid == "status-info":
                    self.query_one("#status-info", TextView).set_text(content)
                else:  # the flags' width follows their text: a layout change, but a rare one
                    self.query_one("#status-flags", Static).update(content)
