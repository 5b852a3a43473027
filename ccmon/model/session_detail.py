"""A session's raw events to the drill-down's API calls, tools, errors and cost curve."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .names import model_group
from .source import ApiCall, ApiErrorRow, SessionDetail, ToolRun
from .values import as_float, as_text


def _int(v: Any) -> int:
    f = as_float(v)
    return int(f) if f is not None else 0


def _opt_int(v: Any) -> int | None:
    f = as_float(v)
    return int(f) if f is not None else None


def build_detail(
    key: str,
    events: Iterable[tuple[int, str, dict[str, Any]]],
    cost_points: Iterable[tuple[int, float]],
    limit: int | None = None,
    interactions: Iterable[tuple[int, int]] = (),
) -> SessionDetail:
    calls: list[ApiCall] = []
    tools: list[ToolRun] = []
    errors: list[ApiErrorRow] = []
    decisions: dict[str, tuple[str, str]] = {}  # tool_use_id -> (decision, source)
    n = 0
    for t, name, a in events:
        n += 1
        if name == "api_request":
            calls.append(
                ApiCall(
                    t_ns=t,
                    model=model_group(as_text(a.get("model")) or None),
                    input_tokens=_int(a.get("input_tokens")),
                    output_tokens=_int(a.get("output_tokens")),
                    cache_read_tokens=_int(a.get("cache_read_tokens")),
                    cache_creation_tokens=_int(a.get("cache_creation_tokens")),
                    cost_usd=as_float(a.get("cost_usd")) or 0.0,
                    duration_ms=as_float(a.get("duration_ms")),
                    attempt=_opt_int(a.get("attempt")),
                )
            )
        elif name == "tool_decision":
            decisions[as_text(a.get("tool_use_id"))] = (as_text(a.get("decision")), as_text(a.get("source")))
            if a.get("decision") == "reject":
                tools.append(
                    ToolRun(t, as_text(a.get("tool_name")) or "?", None, None, "reject", as_text(a.get("source")))
                )
        elif name == "tool_result":
            success = a.get("success")
            dec, src = decisions.get(as_text(a.get("tool_use_id")), ("", ""))
            tools.append(
                ToolRun(
                    t,
                    as_text(a.get("tool_name")) or "?",
                    success if isinstance(success, bool) else None,
                    as_float(a.get("duration_ms")),
                    dec or as_text(a.get("decision_type")),
                    src or as_text(a.get("decision_source")),
                )
            )
        elif name == "api_error":
            errors.append(
                ApiErrorRow(
                    t,
                    model_group(as_text(a.get("model")) or None),
                    as_text(a.get("status_code")) or "?",
                    as_text(a.get("error")),
                    _opt_int(a.get("attempt")),
                )
            )
    total = 0.0
    curve = []
    for t, inc in cost_points:
        total += inc
        curve.append((t, total))
    return SessionDetail(
        key,
        tuple(calls),
        tuple(tools),
        tuple(errors),
        tuple(curve),
        events_available=True,
        truncated=limit is not None and n >= limit,
        interactions=tuple(interactions),
    )
