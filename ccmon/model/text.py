"""Untrusted text made safe for a terminal: control characters become visible stand-ins.

Used by every output path (the dashboard through ``views.safe``, ``ccmon report``'s text, the
CLI's error line, ``serve``'s log), so ``\x1b]0;t\x07`` can never retitle a window or ``\x1b[2J``
clear a screen. ``json_safe`` does the same for ``report --json`` without changing a value.

Three kinds of characters are never passed through as they are:

* C0 controls and DEL: shown as their "control pictures" (``\x1b`` as ``␛``);
* C1 controls (``\x9b`` is CSI on some terminals), bidi overrides and isolates (they make text
  read backwards), and invisible characters (zero-width spaces and joiners, soft hyphen,
  non-breaking and other odd spaces, tag characters, Hangul fillers): shown as ``⟨U+200B⟩``,
  so that ``abc`` and ``ab\u200bc`` (a fake session or model row) can be told apart.
"""

from __future__ import annotations

import re

# Invisible, look-alike or direction-changing characters (Unicode Cf, Zl, Zp, Zs other than
# the space and the ideographic space, and invisible letters), as ranges. Listed rather than
# derived from ``unicodedata`` at import: a table over all code points costs 0.3 s.
_INVISIBLE_RANGES = (
    (0x80, 0x9F),
    (0xA0, 0xA0),
    (0xAD, 0xAD),
    (0x34F, 0x34F),
    (0x600, 0x605),
    (0x61C, 0x61C),
    (0x6DD, 0x6DD),
    (0x70F, 0x70F),
    (0x890, 0x891),
    (0x8E2, 0x8E2),
    (0x115F, 0x1160),
    (0x1680, 0x1680),
    (0x180E, 0x180E),
    (0x2000, 0x200F),
    (0x2028, 0x202F),
    (0x205F, 0x2064),
    (0x2066, 0x206F),
    (0x3164, 0x3164),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF9, 0xFFFB),
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x13438),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0001, 0xE0001),
    (0xE0020, 0xE007F),
)


def _table() -> dict[int, str]:
    t: dict[int, str] = {c: chr(0x2400 + c) for c in range(0x20)}  # U+2400.. "control pictures"
    t[0x09] = " "  # a tab or line break inside one cell is just a gap
    t[0x0A] = " "
    t[0x7F] = "\u2421"  # ␡
    for lo, hi in _INVISIBLE_RANGES:
        for c in range(lo, hi + 1):
            t[c] = f"\u27e8U+{c:04X}\u27e9"  # ⟨U+200B⟩
    return t


_TRANSLATE = _table()
_JSON_UNSAFE = re.compile(
    "[" + "".join(f"{re.escape(chr(lo))}-{re.escape(chr(hi))}" for lo, hi in _INVISIBLE_RANGES) + "\x7f]"
)


def clean(value: object) -> str:
    """``value`` as a string that is safe to put on a terminal, one visible glyph per control."""
    return str(value).translate(_TRANSLATE)


def _escape(m: re.Match[str]) -> str:
    c = ord(m.group())
    if c > 0xFFFF:  # JSON escapes astral characters as a surrogate pair
        c -= 0x10000
        return f"\\u{0xD800 + (c >> 10):04x}\\u{0xDC00 + (c & 0x3FF):04x}"
    return f"\\u{c:04x}"


def json_safe(document: str) -> str:
    """A JSON text (``json.dumps(..., ensure_ascii=False)``) with C1 controls, bidi controls and
    invisible characters written as ``\\u202e`` escapes: the same values once parsed, but
    nothing a terminal would obey or hide. (json.dumps already escapes C0 controls.)"""
    return _JSON_UNSAFE.sub(_escape, document)
