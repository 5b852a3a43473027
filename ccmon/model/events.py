"""What a Claude Code event says, in a line: the event log's text and the rollup detail."""

from __future__ import annotations

from typing import Any

from .values import as_float, as_text

REDACTED = "<REDACTED>"
# Shown for every event anyway (session, time) or pure noise in a one-line summary.
_COMMON = frozenset(
    {
        "user.id",
        "session.id",
        "terminal.type",
        "event.name",
        "event.timestamp",
        "event.sequence",
        "prompt.id",
        "host.arch",
        "os.type",
        "os.version",
        "service.name",
        "service.version",
        "anthropic.provider",
        "anthropic.custom_base_url",
        "app.version",
        "app.entrypoint",
        "trace_id",
        "span_id",
        "message.uuid",
        "request_id",
        "tool_use_id",
        "speed",
    }
)
_TOOL_DETAIL_KEYS = ("tool_input", "tool_parameters")
_MAX_TEXT = 160
ALERT = "ccmon.alert"


def _short(value: Any, limit: int = 60) -> str:
    text = as_text(value).replace("\r", " ").replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _pairs(attrs: dict[str, Any], keys: tuple[str, ...]) -> list[str]:
    return [f"{k}={_short(attrs[k])}" for k in keys if k in attrs and attrs[k] not in (None, "")]


def content_logged(a: dict[str, Any]) -> tuple[bool, bool]:
    """(prompt text is present, tool details are present): OTEL_LOG_USER_PROMPTS and
    OTEL_LOG_TOOL_DETAILS are on at the sender. The status bar must make that visible."""
    prompt = a.get("prompt", a.get("prompt_text"))
    return isinstance(prompt, str) and prompt != REDACTED, any(k in a for k in _TOOL_DETAIL_KEYS)


def summarize(name: str, a: dict[str, Any]) -> str:
    """An event's key fields as one line of plain text (untrusted: views render it literally)."""
    prompt_logged, _ = content_logged(a)
    prompt = a.get("prompt", a.get("prompt_text"))
    if name == "api_request":
        parts = [_short(a.get("model", "?"))]
        cost = as_float(a.get("cost_usd"))
        if cost is not None:
            parts.append(f"${cost:.4f}")
        parts.append(
            "in={} out={} cr={} cw={}".format(
                *(
                    _short(a.get(k, 0))
                    for k in ("input_tokens", "output_tokens", "cache_read_tokens", "cache_creation_tokens")
                )
            )
        )
        parts += _pairs(a, ("duration_ms", "attempt", "query_source"))
    elif name == "api_error":
        parts = _pairs(a, ("status_code", "error", "model", "attempt", "duration_ms"))
    elif name == "user_prompt":
        parts = _pairs(a, ("prompt_length", "command_name"))
        if prompt_logged:
            parts.append(f"prompt={_short(prompt)}")
    elif name == "tool_decision":
        parts = _pairs(a, ("tool_name", "decision", "source", "permission_mode"))
    elif name == "tool_result":
        parts = _pairs(a, ("tool_name", "success", "duration_ms", "error_type"))
    elif name == ALERT:  # ccmon's own alerts, logged by the dashboard (ccmon/alerting.py)
        parts = [_short(a.get("reason", ""), _MAX_TEXT)]
    elif name == "assistant_response":
        parts = _pairs(a, ("response_length", "model"))
    else:
        parts = [f"{k}={_short(v, 30)}" for k, v in a.items() if k not in _COMMON][:6]
    text = " ".join(parts)
    if len(text) > _MAX_TEXT:
        text = text[: _MAX_TEXT - 1] + "…"
    return text


def detail(name: str, a: dict[str, Any]) -> str:
    """The part of an event that aggregates keep after the raw event expires.

    ``api_error`` keeps its status code; a retry (``attempt`` > 1) is marked ``|retry``.
    """
    attempt = as_float(a.get("attempt"))
    retry = "|retry" if attempt is not None and attempt > 1 else ""
    if name == "api_error":
        code = a.get("status_code")
        return f"{as_text(code) if code is not None else '?'}{retry}"
    if name == "api_request":
        return retry
    return ""
