"""What a metric series means to ccmon, derived once per series from its attributes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import names

# Attributes that describe a measurement, not who or where it came from. Everything else on
# a session's first series (user.id, user.email, terminal.type, team, department, ...) is a
# label the dashboard can group by.
_MEASUREMENT_KEYS = frozenset({
    "model", "type", "query_source", "effort", "decision", "source", "tool_name", "tool",
    "language", "start_type", "session.id", "speed",
})
# Resource attributes that every Claude Code process sends; constant noise for grouping
# but kept (service.version is worth grouping by).
_NOISE_KEYS = frozenset({"service.name", "host.arch", "os.type"})


@dataclass(frozen=True, slots=True)
class SeriesInfo:
    metric: str
    session: str
    user: str
    model: str | None  # grouped (suffix removed)
    raw_model: str | None
    kind: str | None  # the normalised `type` attribute (token type, added/removed, user/cli)
    edit: tuple[str, str, str, str] | None  # (tool, language, source, decision)
    start_type: str | None
    labels: tuple[tuple[str, str], ...]


_INTERNED: dict[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]] = {}


def labels_of(attrs: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """The attributes a session can be grouped by. Interned: every series of a session has
    the same labels, and 100,000 series must not hold 100,000 copies."""
    labels = tuple(sorted(
        (k, str(v)) for k, v in attrs.items()
        if k not in _MEASUREMENT_KEYS and k not in _NOISE_KEYS and not isinstance(v, (list, dict))
    ))
    got = _INTERNED.get(labels)
    if got is None:
        if len(_INTERNED) > 200_000:  # bounded: past this many distinct sessions, stop sharing
            return labels
        got = _INTERNED[labels] = labels
    return got


def describe(metric: str, attrs: dict[str, Any]) -> SeriesInfo:
    raw_model = attrs.get("model")
    kind_raw = attrs.get("type")
    if metric == names.TOKENS:
        kind = names.token_type(kind_raw)
    else:
        kind = str(kind_raw) if kind_raw is not None else None
    edit = None
    if metric == names.EDIT_DECISION:
        edit = (
            str(attrs.get("tool_name", attrs.get("tool", "?"))),
            str(attrs.get("language", "")),
            str(attrs.get("source", "")),
            str(attrs.get("decision", "?")),
        )
    start_type = attrs.get("start_type")
    return SeriesInfo(
        metric=metric,
        session=names.session_key(attrs),
        user=str(attrs.get("user.id") or attrs.get("user.email") or ""),
        model=names.model_group(raw_model) if raw_model is not None else None,
        raw_model=str(raw_model) if raw_model is not None else None,
        kind=kind,
        edit=edit,
        start_type=str(start_type) if start_type is not None else None,
        labels=labels_of(attrs),
    )
