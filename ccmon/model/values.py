"""Attribute values: OTLP ``AnyValue`` to plain Python, and Claude Code's type quirks.

Claude Code sends numbers as strings on some events (``prompt_length`` "5",
``tool_result.duration_ms`` "9", ``success`` "true") and as ints or doubles on others; 2.1.330
adds booleans and arrays. Everything downstream wants one type per key, so known keys are
coerced here. Unknown keys keep the type they came with: we never guess on free text such as a
prompt, which may well be the string "5".
"""

from __future__ import annotations

import math
import re
from typing import Any

# Keys whose string values are numbers. Matched exactly, then by suffix.
_NUMERIC_KEYS = frozenset(
    {
        "prompt_length",
        "response_length",
        "user_prompt_length",
        "input_tokens",
        "output_tokens",
        "cache_read_tokens",
        "cache_creation_tokens",
        "cost_usd",
        "cost_usd_micros",
        "status_code",
        "attempt",
        "event.sequence",
        "interaction.sequence",
        "period_days",
        "error_count",
        "queued_sends",
    }
)
_NUMERIC_SUFFIXES = (
    "_ms",
    "_bytes",
    "_tokens",
    "_count",
    "_days",
    "_deleted",
    "_pruned",
    "_exempted_desktop",
    "_past_cutoff",
    "_retained_fresh",
)
_BOOL_KEYS = frozenset(
    {"success", "used_default", "safe_mode", "has_hooks", "has_mcp", "host_owned_mcp", "anthropic.custom_base_url"}
)

_INT_RE = re.compile(r"-?\d+\Z")
_FLOAT_RE = re.compile(r"-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\Z")


def any_value(v: Any) -> Any:
    """Convert an OTLP ``AnyValue`` message (protobuf, duck-typed) to Python.

    bytes become lower-case hex so that every value survives a JSON round trip.
    """
    kind = v.WhichOneof("value")
    if kind == "string_value":
        return v.string_value
    if kind == "int_value":
        return v.int_value
    if kind == "double_value":
        return _finite(v.double_value)
    if kind == "bool_value":
        return v.bool_value
    if kind == "array_value":
        return [any_value(x) for x in v.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: any_value(kv.value) for kv in v.kvlist_value.values}
    if kind == "bytes_value":
        return v.bytes_value.hex()
    return None  # an empty AnyValue is legal OTLP


def is_numeric_key(key: str) -> bool:
    return key in _NUMERIC_KEYS or key.endswith(_NUMERIC_SUFFIXES)


def coerce(key: str, value: Any) -> Any:
    """Give a known key its one true type; leave everything else as sent."""
    if isinstance(value, str):
        if key in _BOOL_KEYS:
            low = value.strip().lower()
            if low == "true":
                return True
            if low == "false":
                return False
            return value
        if is_numeric_key(key):
            s = value.strip()
            if _INT_RE.match(s):
                return int(s)
            if _FLOAT_RE.match(s):
                f = float(s)
                return f if math.isfinite(f) else value  # "1e400" stays text: JSON has no Infinity
            return value
        return value
    if isinstance(value, float) and is_numeric_key(key) and value.is_integer() and key != "cost_usd":
        return int(value)
    return value


_COERCERS: dict[str, Any] = {}


def _coercer(key: str) -> Any:
    """Per key, the function that fixes its string values (or None), decided once per key:
    attribute decoding is the hot loop of ingestion."""
    try:
        return _COERCERS[key]
    except KeyError:
        if key in _BOOL_KEYS or is_numeric_key(key):
            fn = lambda v, _k=key: coerce(_k, v)  # noqa: E731
        else:
            fn = None
        if len(_COERCERS) < 10_000:  # keys are few; never let hostile input grow this
            _COERCERS[key] = fn
        return fn


def attributes(kvs: Any) -> dict[str, Any]:
    """Repeated ``KeyValue`` to a dict with coerced values (the last duplicate key wins)."""
    out: dict[str, Any] = {}
    for kv in kvs:
        key = kv.key
        v = kv.value
        kind = v.WhichOneof("value")
        if kind == "string_value":
            val: Any = v.string_value
            fn = _coercer(key)
            if fn is not None:
                val = fn(val)
        elif kind == "int_value":
            val = v.int_value
        elif kind == "double_value":
            val = _finite(v.double_value)
            fn = _coercer(key)
            if fn is not None:
                val = fn(val)
        else:
            val = coerce(key, any_value(v))
        out[key] = val
    return out


def _finite(value: float) -> Any:
    """A double attribute JSON can hold: NaN and +-Inf are kept as their text ("inf")."""
    return value if math.isfinite(value) else str(value)


def as_float(value: Any) -> float | None:
    """Best-effort finite number for display and aggregation; None when it is not one."""
    if isinstance(value, bool):
        return None
    try:
        if isinstance(value, (int, float, str)):
            f = float(value)
            return f if math.isfinite(f) else None
    except (ValueError, OverflowError):
        return None
    return None


def as_text(value: Any) -> str:
    """A value as the short plain text a table cell shows (never markup: see views)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (list, dict)):
        import json

        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)
