"""Flow: is telemetry arriving, over what, from whom, and if not, why.

Per signal and protocol: the last payload, payloads and bytes in the last minute, accepted vs
rejected (with the status answered and the reason), partial successes; then the senders
(``service.name``, ``service.version``, user agent; anything that is not Claude Code is "other
telemetry"), then hints. Redrawn once a second while open, only when its text changes.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from ...model.flow import Flow, hints
from .. import fmt, safe

NOT_OTLP = (
    "The Flow view shows what ccmon's OTLP receiver gets. In Prometheus mode ccmon polls a server "
    "instead: the status bar says whether the last poll worked."
)


def _bytes(n: int) -> str:
    for limit, unit in ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
        if n >= limit:
            return f"{n / limit:.1f} {unit}"
    return f"{n} B"


def _lanes(flow: Flow, now_ns: int) -> Table:
    t = Table(
        title="Per signal and protocol",
        title_justify="left",
        title_style="bold",
        box=None,
        padding=(0, 2, 0, 0),
        header_style="bold",
    )
    for name, justify in (
        ("Signal", "left"),
        ("Protocol", "left"),
        ("Last payload", "left"),
        ("/min", "right"),
        ("Bytes/min", "right"),
        ("Accepted", "right"),
        ("Rejected", "right"),
        ("Partial", "right"),
        ("Bytes", "right"),
        ("Answered", "left"),
    ):
        t.add_column(name, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for la in flow.lanes:
        last = f"{fmt.when(la.last_ns, now_ns)} ({fmt.age(now_ns - la.last_ns)} ago)" if la.last_ns else fmt.DASH
        answered = " ".join(f"{status}×{n}" for status, n in la.statuses)
        t.add_row(
            safe.text(la.signal),
            la.protocol,
            last,
            f"{la.payloads_per_min:,}",
            _bytes(la.bytes_per_min),
            f"{la.accepted:,}",
            Text(f"{la.rejected:,}", "bold red" if la.rejected else ""),
            Text(f"{la.partial:,}", "yellow" if la.partial else ""),
            _bytes(la.bytes),
            safe.text(answered),
        )
    return t


def _rejections(flow: Flow) -> Text | None:
    rows = [la for la in flow.lanes if la.rejected or la.partial]
    if not rows:
        return None
    out = Text.assemble(("Rejected and partial\n", "bold"))
    for la in rows:
        if la.rejected:
            out.append(f"{la.signal} {la.protocol}: {la.rejected:,} rejected, last answered {la.last_status}: ")
            out.append_text(safe.text(la.last_reason, "red"))
            out.append("\n")
        if la.partial:
            out.append(
                f"{la.signal} {la.protocol}: {la.partial:,} accepted in part, {la.skipped_points:,} item(s) "
                "left out; last: ",
                "yellow",
            )
            out.append_text(safe.text(la.partial_reason, "yellow"))
            out.append("\n")
    out.rstrip()
    return out


def _senders(flow: Flow, now_ns: int) -> Table:
    t = Table(
        title="Senders", title_justify="left", title_style="bold", box=None, padding=(0, 2, 0, 0), header_style="bold"
    )
    for name, justify in (
        ("service.name", "left"),
        ("service.version", "left"),
        ("User agent", "left"),
        ("Payloads", "right"),
        ("Last", "left"),
        ("", "left"),
    ):
        t.add_column(name, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for s in flow.senders:
        kind = Text("other telemetry", "yellow") if s.other else Text("Claude Code", "green")
        t.add_row(
            safe.text(s.service_name or fmt.DASH),
            safe.text(s.service_version or fmt.DASH),
            safe.text(s.user_agent or fmt.DASH),
            f"{s.payloads:,}",
            fmt.when(s.last_ns, now_ns),
            kind,
        )
    return t


def render(flow: Flow | None, now_ns: int) -> Group:
    if flow is None:
        return Group(Text(NOT_OTLP))
    parts: list = [Text.assemble(("Receiving on ", "dim"), safe.text(flow.where or "starting…"))]
    if not flow.lanes:
        parts.append(
            Text(
                "\nNothing has arrived yet. `ccmon env` prints what Claude Code needs, `ccmon setup` "
                "writes it to ~/.claude/settings.json, `ccmon doctor` says what is wrong."
            )
        )
        return Group(*parts)
    parts += [Text(""), _lanes(flow, now_ns)]
    rejections = _rejections(flow)
    if rejections is not None:
        parts += [Text(""), rejections]
    parts += [Text(""), _senders(flow, now_ns)]
    found = hints(flow, now_ns)
    if found:
        parts += [Text(""), Text("Hints", "bold")]
        parts += [Text.assemble(("• ", "yellow"), safe.text(h)) for h in found]
    return Group(*parts)


class FlowScreen(Screen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("f", "app.pop_screen", "Back", show=False),
        Binding("q", "app.quit", "Quit"),
    ]

    def __init__(self, flow: Callable[[int], Flow] | None, clock: Callable[[], int] = time.time_ns) -> None:
        super().__init__()
        self.flow = flow
        self.clock = clock
        self._shown: tuple | None = None

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="flow"):
            yield Static(id="flow-body")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#flow").border_title = "Flow"
        self.refresh_flow()
        self.set_interval(1.0, self.refresh_flow)

    def refresh_flow(self) -> None:
        now = self.clock()
        flow = self.flow(now) if self.flow else None
        key = (flow, now // 1_000_000_000)
        if key != self._shown:  # ages move once a second: repaint at most that often
            self._shown = key
            self.query_one("#flow-body", Static).update(render(flow, now))
