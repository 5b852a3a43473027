"""What a metric series means to ccmon, derived once per series from its attributes."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Any

from . import names

# Attributes that describe a measurement, not who or where it came from. Everything else on
# a session's first series (user.id, user.email, terminal.type, team, department, ...) is a
# label the dashboard can group by.
_MEASUREMENT_KEYS = frozenset(
    {
        "model",
        "type",
        "query_source",
        "effort",
        "decision",
        "source",
        "tool_name",
        "tool",
        "language",
        "start_type",
        "session.id",
        "speed",
    }
)
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


_INTERNED: dict[Any, Any] = {}
_INTERN_MAX = 200_000  # bounded: past this many distinct values, stop sharing (still correct)


def intern(value: Any) -> Any:
    """One shared copy of a label tuple repeated across many series (strings use sys.intern)."""
    got = _INTERNED.get(value)
    if got is None:
        if len(_INTERNED) >= _INTERN_MAX:
            return value
        got = _INTERNED[value] = value
    return got


def labels_of(attrs: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """The attributes a session can be grouped by. Interned: every series of a session has
    the same labels, and 100,000 series must not hold 100,000 copies."""
    return intern(
        tuple(
            sorted(
                (k, str(v))
                for k, v in attrs.items()
                if k not in _MEASUREMENT_KEYS and k not in _NOISE_KEYS and not isinstance(v, (list, dict))
            )
        )
    )


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
        session=sys.intern(names.session_key(attrs)),
        user=sys.intern(str(attrs.get("user.id") or attrs.get("user.email") or "")),
        model=sys.intern(names.model_group(raw_model)) if raw_model is not None else None,
        raw_model=sys.intern(str(raw_model)) if raw_model is not None else None,
        kind=kind,
        edit=edit,
        start_type=str(start_type) if start_type is not None else None,
        labels=labels_of(attrs),
    )


def to_row(info: SeriesInfo) -> tuple:
    """The series table's descriptive columns (session .. labels) for ``info``."""
    labels = _LABELS_JSON.get(id(info.labels))
    if labels is None or labels[0] is not info.labels:
        labels = (info.labels, json.dumps(info.labels))
        if len(_LABELS_JSON) < _INTERN_MAX:
            _LABELS_JSON[id(info.labels)] = labels  # keyed by identity: labels are interned
    return (
        info.session,
        info.user,
        info.model,
        info.raw_model,
        info.kind,
        json.dumps(info.edit) if info.edit else None,
        info.start_type,
        labels[1],
    )


def from_row(
    metric: str,
    session: str,
    user: str,
    model: str | None,
    raw_model: str | None,
    kind: str | None,
    edit: str | None,
    start_type: str | None,
    labels: str,
) -> SeriesInfo:
    """The inverse of ``to_row``: what start-up reads instead of re-deriving from attributes."""
    lab = _LABELS.get(labels)
    if lab is None:
        lab = intern(tuple(tuple(x) for x in json.loads(labels)))
        if len(_LABELS) < _INTERN_MAX:
            _LABELS[labels] = lab
    # sys.intern: one copy of each id string however many series repeat it, at C speed.
    return SeriesInfo(
        sys.intern(metric),
        sys.intern(session),
        sys.intern(user),
        model and sys.intern(model),
        raw_model and sys.intern(raw_model),
        kind and sys.intern(kind),
        tuple(json.loads(edit)) if edit else None,
        start_type,
        lab,
    )


_LABELS: dict[str, tuple[tuple[str, str], ...]] = {}
_LABELS_JSON: dict[int, tuple[tuple[tuple[str, str], ...], str]] = {}
