"""Untrusted text: every string that came from telemetry goes through here before it is shown.

Model names, session ids, prompts, tool names, attribute values and event summaries are
written by whoever can reach the receiver. They are shown *literally*:

* never parsed as markup: they become ``rich.text.Text`` objects, so ``[red]x[/red]`` shows
  those eleven characters;
* never passed to the terminal as control codes: C0/C1 controls and DEL are replaced by
  visible stand-ins (``\\x1b`` shows as ``␛``, ``\\x07`` as ``␇``), so ``\\x1b]0;t\\x07``
  cannot retitle the window and ``\\x1b[2J`` cannot clear the screen. The rest of such a
  sequence stays visible, which tells the user something odd was sent.
* Unicode bidi overrides and isolates are replaced too: they can make text read backwards.
"""

from __future__ import annotations

from rich.text import Text

from ..model.text import clean

__all__ = ["clean", "text"]


def text(value: object, style: str = "", *, justify: str | None = None) -> Text:
    """Untrusted ``value`` as a one-line ``Text`` (no markup, no wrapping, ``…`` when cut)."""
    return Text(clean(value), style=style, justify=justify, no_wrap=True, overflow="ellipsis")  # type: ignore[arg-type]
