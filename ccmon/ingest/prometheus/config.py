"""The command line's Prometheus options, checked once, before anything connects."""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit, urlunsplit

DEFAULT_INTERVAL_S = 5.0
DEFAULT_TIMEOUT_S = 10.0
# What "so far" covers: every series seen in this window counts with its latest value. A day
# keeps a team's sessions on screen without asking the server for its whole retention.
DEFAULT_WINDOW_S = 24 * 3600.0

_HEADER_NAME_RE = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


@dataclass(frozen=True, slots=True)
class Config:
    base_url: str  # without credentials: safe to show
    auth: tuple[str, str] | None = None  # basic auth, from user:password@ in the URL
    headers: tuple[tuple[str, str], ...] = ()
    match: str = ""  # label matchers without braces, added to every series selector
    interval_s: float = DEFAULT_INTERVAL_S
    timeout_s: float = DEFAULT_TIMEOUT_S
    window_s: float = DEFAULT_WINDOW_S

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Config:
        """Raises ValueError with a message fit for ``ccmon: ...``."""
        interval = float(getattr(args, "interval", DEFAULT_INTERVAL_S) or DEFAULT_INTERVAL_S)
        if interval <= 0:
            raise ValueError(f"--interval must be positive, not {interval:g}")
        base_url, auth = parse_url(args.prometheus)
        headers = tuple(parse_header(h) for h in getattr(args, "header", None) or ())
        return cls(
            base_url=base_url,
            auth=auth,
            headers=headers,
            match=parse_match(getattr(args, "match", None)),
            interval_s=interval,
        )


def parse_url(url: str) -> tuple[str, tuple[str, str] | None]:
    """``http://user:pass@host:9090/prefix`` -> (``http://host:9090/prefix``, (user, pass))."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"--prometheus needs an http(s) URL such as http://prometheus:9090, not {url!r}")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"--prometheus URL has a bad port: {url!r}") from None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    netloc = f"{host}:{port}" if port is not None else host
    base = urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
    auth = None
    if parts.username is not None or parts.password is not None:
        auth = (unquote(parts.username or ""), unquote(parts.password or ""))
    return base, auth


def parse_header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    name = name.strip()
    if not sep or not _HEADER_NAME_RE.match(name):
        # Not echoed: a malformed header may well be a token.
        raise ValueError("--header must look like 'Name: value', e.g. 'Authorization: Bearer TOKEN'")
    return name, value.strip()


# One PromQL label matcher: a label name, an operator, a quoted string (double, single or
# backtick quotes; backslash escapes inside the first two), then a comma or the end.
_MATCHER_RE = re.compile(
    r"""\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"""
    r"""("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)\s*""",
    re.S,
)


def parse_match(text: str | None) -> str:
    """``{team="platform", env=~"prod.*"}`` (braces optional) -> ``team="platform", env=~"prod.*"``.

    Parsed as PromQL label matchers, so any valid matcher passes (``x=~"a{1,2}"`` too) and
    anything else is refused with where it went wrong. The metric name (``up{...}`` or a
    ``__name__`` matcher) is ccmon's to choose, not the user's.
    """
    inner = (text or "").strip()
    if inner.startswith("{") and inner.endswith("}"):
        inner = inner[1:-1]
    matchers = []
    pos = 0
    while inner[pos:].strip():
        m = _MATCHER_RE.match(inner, pos)
        if m is None:
            raise ValueError(
                f"--match takes label matchers such as '{{team=\"platform\"}}'; "
                f"cannot read {inner[pos : pos + 40].strip()!r} in {text!r}"
            )
        if m.group(1) == "__name__":
            raise ValueError("--match takes label matchers only: the metric names are ccmon's to choose")
        matchers.append(f"{m.group(1)}{m.group(2)}{m.group(3)}")
        pos = m.end()
        if pos < len(inner):
            if inner[pos] != ",":
                raise ValueError(
                    f"--match: expected ',' between label matchers at {inner[pos : pos + 40]!r} in {text!r}"
                )
            pos += 1
    return ", ".join(matchers)
