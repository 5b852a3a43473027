"""One event, every attribute: Enter on a row of the event log.

The log shows a one-line summary; this screen reads the event back from the store (off the
event loop) and lists all of its attributes and its resource's, one per line, as literal text
(telemetry is untrusted: ``views.safe`` turns control characters into visible symbols and
nothing is read as markup). Long values wrap; the box scrolls.
"""

from __future__ import annotations

import asyncio

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from ...model.snapshot import EventRow
from .. import fmt, safe

LOAD_LIMIT = 1_000_000  # events of one session read to find this one: all of them, in practice


def attributes_text(attrs: dict) -> Text:
    """``key  value`` per line, keys aligned, sorted; values literal."""
    out = Text()
    width = max((len(safe.clean(k)) for k in attrs), default=0)
    for i, key in enumerate(sorted(attrs)):
        if i:
            out.append("\n")
        out.append(safe.clean(key).ljust(width), "cyan")
        out.append("  ")
        out.append(safe.clean(str(attrs[key])))  # wraps: the whole value, never cut
    return out


class EventScreen(Screen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("backspace", "app.pop_screen", "Back", show=False),
        Binding("o", "open_session", "Open session"),
        Binding("question_mark", "app.help", "Help", key_display="?"),
    ]

    def __init__(self, source, event: EventRow) -> None:
        super().__init__()
        self.source = source
        self.event = event
        self.attributes: dict | None = None  # once loaded

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="event-detail"):
            yield Static(id="event-attrs")
        yield Footer()

    def on_mount(self) -> None:
        e = self.event
        box = self.query_one("#event-detail")
        box.border_title = Text.assemble(
            safe.text(e.name, "bold"), f" · {fmt.when(e.t_ns, e.t_ns)} · session ", safe.text(e.session)
        )
        box.border_subtitle = "Esc back · o open session"
        box.focus()
        self.query_one("#event-attrs", Static).update(Text.assemble(safe.text(e.summary), ("\n\nloading…", "dim")))
        self._load()

    @work(group="event-detail")
    async def _load(self) -> None:
        e = self.event
        store = getattr(self.source, "store", None)
        attrs = None
        if store is not None:
            try:
                events = await asyncio.to_thread(store.session_events, e.session, LOAD_LIMIT)
            except Exception as exc:  # a failed read is said on screen
                self.query_one("#event-attrs", Static).update(Text(f"Could not read the event: {safe.clean(exc)}"))
                return
            attrs = next((a for t, n, a in events if t == e.t_ns and n == e.name), None)
        self.attributes = attrs
        if attrs is None:
            text = Text.assemble(
                safe.text(e.summary), ("\n\nThe event's attributes are no longer in the store.", "dim")
            )
        else:
            text = attributes_text(attrs)
        self.query_one("#event-attrs", Static).update(text)

    def action_open_session(self) -> None:
        self.app.open_session(self.event.session)  # type: ignore[attr-defined]
