"""Untrusted text made safe for a terminal: control characters become visible stand-ins.

Used by every output path (the dashboard through ``views.safe``, ``ccmon report``'s text), so
``\x1b]0;t\x07`` can never retitle a window or ``\x1b[2J`` clear a screen.
"""

from __future__ import annotations

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
