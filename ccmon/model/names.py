"""Claude Code's vocabulary: metric names, token types, and how identities are derived."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

COST = "claude_code.cost.usage"
TOKENS = "claude_code.token.usage"
SESSIONS = "claude_code.session.count"
LINES = "claude_code.lines_of_code.count"
EDIT_DECISION = "claude_code.code_edit_tool.decision"
COMMITS = "claude_code.commit.count"
PULL_REQUESTS = "claude_code.pull_request.count"
ACTIVE_TIME = "claude_code.active_time.total"

TOKEN_TYPES = ("input", "output", "cacheRead", "cacheCreation")
# Other tools and docs spell them snake_case; both mean the same series.
_TOKEN_ALIASES = {
    "input": "input",
    "output": "output",
    "cacheRead": "cacheRead",
    "cache_read": "cacheRead",
    "cacheCreation": "cacheCreation",
    "cache_creation": "cacheCreation",
}

_SUFFIX_RE = re.compile(r"\s*\[[^\]]*\]\s*\Z")

# Attributes that identify a process rather than describe a measurement; they are what a
# session falls back on when session.id is switched off (OTEL_METRICS_INCLUDE_SESSION_ID=false).
_IDENTITY_KEYS = (
    "host.arch",
    "os.type",
    "os.version",
    "service.name",
    "service.version",
    "host.name",
    "service.instance.id",
    "terminal.type",
)


def model_group(raw: str | None) -> str:
    """``claude-opus-4-8[1m]`` -> ``claude-opus-4-8``: the context-window suffix is one model."""
    if not raw:
        return "unknown"
    return _SUFFIX_RE.sub("", str(raw)) or str(raw)


def token_type(raw: Any) -> str | None:
    return _TOKEN_ALIASES.get(str(raw)) if raw is not None else None


def session_key(attrs: dict[str, Any]) -> str:
    """The session an observation belongs to.

    ``session.id`` when Claude Code sends it; otherwise the user plus the resource identity,
    which is the finest grain left (one key per user per machine and CLI version).
    """
    sid = attrs.get("session.id")
    if sid not in (None, ""):
        return str(sid)
    ident = {k: attrs.get(k) for k in _IDENTITY_KEYS if k in attrs}
    digest = hashlib.sha1(json.dumps(ident, sort_keys=True, default=str).encode()).hexdigest()[:8]
    user = str(attrs.get("user.id") or "anonymous")
    return f"user:{user[:12]}/{digest}"


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def canonical(obj: Any) -> str:
    """Stable JSON used as an identity (series keys) and for storage."""
    return _CANONICAL.encode(obj)


def series_digest(key: str) -> bytes:
    """16 bytes that stand for a series key (about 400 characters of JSON) in memory and in the
    unique index: 100,000 series keys would otherwise hold ~50 MB."""
    return hashlib.blake2b(key.encode(), digest_size=16).digest()
