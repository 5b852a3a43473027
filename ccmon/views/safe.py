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

_REPLACEMENT = "\ufffd"


def _table() -> dict[int, str]:
    t: dict[int, str] = {c: chr(0x2400 + c) for c in range(0x20)}  # U+2400.. "control pictures"
    t[0x09] = " "  # a tab or line break inside one cell is just a gap
    t[0x0A] = " "
    t[0x7F] = "\u2421"  # ␡
    for c in range(0x80, 0xA0):  # C1 controls: 0x9b is CSI on some terminals
        t[c] = _REPLACEMENT
    for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C):
        t[c] = _REPLACEMENT
    return t


_TRANSLATE = _table()


def clean(value: object) -> str:
    """``value`` as a string that is safe to put on a terminal, one visible glyph per control."""
    return str(value).translate(_TRANSLATE)


def text(value: object, style: str = "", *, justify: str | None = None) -> Text:
    """Untrusted ``value`` as a one-line ``Text`` (no markup, no wrapping, ``…`` when cut)."""
    return Text(clean(value), style=style, justify=justify, no_wrap=True, overflow="ellipsis")  # type: ignore[arg-type]
