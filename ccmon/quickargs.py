"""Options of the hot commands (``statusline``, ``check``: run by Claude Code on every refresh
or prompt) parsed without building argparse's parser, which costs ~8 ms with its help
formatter and translations.

Only the usual spelling is read: ``--flag``, ``--opt VALUE``, ``--opt=VALUE``. Anything else
(``--help``, an abbreviation, a value that starts with ``-``, a bad value) returns None, and the
caller lets argparse read it, or reject it with its message.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: importing typing costs the hot path ~4 ms
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from typing import Any


def parse(
    argv: Sequence[str],
    ns: Any,
    flags: Mapping[str, str],
    valued: Mapping[str, tuple[str, Callable[[str], Any]]],
    errors: tuple[type[Exception], ...] = (ValueError,),
) -> Any:
    """``argv`` into ``ns``: each of ``flags`` sets its attribute True, each of ``valued``
    (option -> (attribute, convert)) sets its attribute to the converted value; None when
    argparse must decide (``convert`` raising one of ``errors`` included)."""
    it = iter(argv)
    for a in it:
        flag = flags.get(a)
        if flag is not None:
            setattr(ns, flag, True)
            continue
        name, eq, value = a.partition("=")
        spec = valued.get(name)
        if spec is None:
            return None
        if not eq:
            following = next(it, None)
            if following is None or following.startswith("-"):
                return None
            value = following
        try:
            setattr(ns, spec[0], spec[1](value))
        except errors:
            return None
    return ns
