"""Prompts: what one user prompt (``prompt.id``) set off, and what it cost.

Claude Code puts the same ``prompt.id`` on every event a prompt causes (its API requests, tool
decisions and results, errors, the reply) and numbers all events of a process with
``event.sequence``. Grouping by the first and ordering by the second answers "why did that
prompt cost $4?": which calls, how many tokens of which kind, which tools in between.

A prompt's cost is the sum of its ``api_request.cost_usd``: Claude Code's own estimate per
request (the ``cost.usage`` metric carries no prompt id). Pure functions over event tuples
``(t_ns, session, name, attrs)`` as ``insight_db`` reads them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .events import REDACTED, summarize
from .names import model_group
from .snapshot import Tokens
from .values import as_float, as_text

Event = tuple[int, str, str, dict[str, Any]]

COST_SOURCE = "sum of api_request.cost_usd"


def _int(v: Any) -> int:
    f = as_float(v)
    return int(f) if f is not None else 0


def request_tokens(a: dict[str, Any]) -> Tokens:
    """An ``api_request``'s tokens by type."""
    return Tokens(
        float(_int(a.get("input_tokens"))),
        float(_int(a.get("output_tokens"))),
        float(_int(a.get("cache_read_tokens"))),
        float(_int(a.get("cache_creation_tokens"))),
    )


def _add(a: Tokens, b: Tokens) -> Tokens:
    return Tokens(a.input + b.input, a.output + b.output, a.cacheRead + b.cacheRead, a.cacheCreation + b.cacheCreation)


def is_retry(a: dict[str, Any]) -> bool:
    attempt = as_float(a.get("attempt"))
    return attempt is not None and attempt > 1


@dataclass(frozen=True, slots=True)
class PromptRow:
    prompt_id: str
    session: str
    t_ns: int  # the prompt (or, without its user_prompt event, its first event)
    last_ns: int
    length: int | None  # prompt_length; None when the user_prompt event is missing
    text: str | None  # the prompt, when OTEL_LOG_USER_PROMPTS is on; else None
    command: str | None  # a slash command's name
    api_calls: int
    tools: int
    retries: int
    errors: int
    tokens: Tokens
    cost: float
    models: tuple[str, ...] = ()
    events: int = 0

    @property
    def duration_s(self) -> float:
        return max(0, self.last_ns - self.t_ns) / 1e9

    @property
    def cache_ratio(self) -> float | None:
        return self.tokens.cache_ratio


@dataclass(slots=True)
class _Acc:
    session: str
    first: int
    last: int
    prompt_t: int | None = None
    length: int | None = None
    text: str | None = None
    command: str | None = None
    calls: int = 0
    tools: int = 0
    retries: int = 0
    errors: int = 0
    tokens: Tokens = Tokens()
    cost: float = 0.0
    models: dict[str, None] = field(default_factory=dict)
    events: int = 0


def prompt_id(a: dict[str, Any]) -> str | None:
    p = a.get("prompt.id")
    return as_text(p) if p not in (None, "") else None


def group_prompts(events: Iterable[Event]) -> list[PromptRow]:
    """One row per (session, prompt.id), most expensive first (ties: newest first).

    Tools count what ran (``tool_result``) plus what was rejected (no result follows a
    rejection). A retry is an ``api_request`` with ``attempt`` > 1.
    """
    accs: dict[tuple[str, str], _Acc] = {}
    for t, session, name, a in events:
        pid = prompt_id(a)
        if pid is None:
            continue
        acc = accs.get((session, pid))
        if acc is None:
            acc = accs[(session, pid)] = _Acc(session, t, t)
        acc.first = min(acc.first, t)
        acc.last = max(acc.last, t)
        acc.events += 1
        if name == "user_prompt":
            acc.prompt_t = t if acc.prompt_t is None else min(acc.prompt_t, t)
            length = as_float(a.get("prompt_length"))
            acc.length = int(length) if length is not None else acc.length
            text = a.get("prompt", a.get("prompt_text"))
            if isinstance(text, str) and text != REDACTED:
                acc.text = text
            if a.get("command_name"):
                acc.command = as_text(a.get("command_name"))
        elif name == "api_request":
            acc.calls += 1
            acc.retries += is_retry(a)
            acc.tokens = _add(acc.tokens, request_tokens(a))
            acc.cost += as_float(a.get("cost_usd")) or 0.0
            if a.get("model"):
                acc.models[model_group(as_text(a.get("model")))] = None
        elif name == "api_error":
            acc.errors += 1
        elif name == "tool_result" or (name == "tool_decision" and a.get("decision") == "reject"):
            acc.tools += 1
    rows = [
        PromptRow(
            pid,
            acc.session,
            acc.prompt_t if acc.prompt_t is not None else acc.first,
            acc.last,
            acc.length,
            acc.text,
            acc.command,
            acc.calls,
            acc.tools,
            acc.retries,
            acc.errors,
            acc.tokens,
            acc.cost,
            tuple(acc.models),
            acc.events,
        )
        for (_, pid), acc in accs.items()
    ]
    rows.sort(key=lambda r: (-r.cost, -r.t_ns, r.prompt_id))
    return rows


# -- one prompt, step by step ----------------------------------------------------------------

STEP_KINDS = {
    "user_prompt": "prompt",
    "api_request": "api call",
    "api_error": "error",
    "tool_decision": "decision",
    "tool_result": "tool",
    "assistant_response": "reply",
    "compaction": "compaction",
}


@dataclass(frozen=True, slots=True)
class PromptStep:
    seq: int | None
    t_ns: int
    name: str  # the event name
    kind: str  # what the row is, in a word (STEP_KINDS; other events keep their name)
    what: str  # model, tool or status: the row's subject
    cost: float | None  # api_request only
    tokens: Tokens | None  # api_request only
    cumulative_cost: float
    duration_ms: float | None
    summary: str  # the event's key fields (untrusted text)


def _subject(name: str, a: dict[str, Any]) -> str:
    if name in ("api_request", "assistant_response"):
        return model_group(as_text(a.get("model"))) if a.get("model") else ""
    if name in ("tool_decision", "tool_result"):
        tool = as_text(a.get("tool_name"))
        if name == "tool_decision":
            return f"{tool} {as_text(a.get('decision'))}".strip()
        ok = a.get("success")
        return f"{tool} {'ok' if ok is True else 'failed' if ok is False else ''}".strip()
    if name == "api_error":
        return f"{as_text(a.get('status_code'))} {as_text(a.get('error'))}".strip()
    if name == "user_prompt":
        return as_text(a.get("command_name")) or f"{as_text(a.get('prompt_length'))} chars"
    return ""


def prompt_steps(events: Iterable[Event]) -> list[PromptStep]:
    """One prompt's events in ``event.sequence`` order (time, then arrival, where a sequence is
    missing), each with its cost and tokens and the prompt's running cost."""
    indexed = list(enumerate(events))

    def order(item: tuple[int, Event]) -> tuple:
        i, (t, _, _, a) = item
        seq = a.get("event.sequence")
        return (0, seq, t, i) if isinstance(seq, int) else (1, t, i, 0)

    # Sequence numbers count per process; one prompt is one process, so they order it fully.
    indexed.sort(key=order)
    steps = []
    running = 0.0
    for _, (t, _session, name, a) in indexed:
        cost = tokens = None
        if name == "api_request":
            cost = as_float(a.get("cost_usd")) or 0.0
            tokens = request_tokens(a)
            running += cost
        seq = a.get("event.sequence")
        steps.append(
            PromptStep(
                seq if isinstance(seq, int) else None,
                t,
                name,
                STEP_KINDS.get(name, name),
                _subject(name, a),
                cost,
                tokens,
                running,
                as_float(a.get("duration_ms")),
                summarize(name, a),
            )
        )
    return steps


# -- report --------------------------------------------------------------------------------


def prompts_dict(rows: list[PromptRow], limit: int = 20) -> dict[str, Any]:
    """``ccmon report --by prompt``: the most expensive prompts, JSON-ready."""
    from .summary import iso, usd

    return {
        "by": "prompt",
        "cost_source": COST_SOURCE,
        "prompts_total": len(rows),
        "cost_usd_total": usd(sum(r.cost for r in rows)),
        "prompts": [
            {
                "prompt_id": r.prompt_id,
                "session_id": r.session,
                "time": iso(r.t_ns),
                "duration_s": round(r.duration_s, 3),
                "prompt_length": r.length,
                "prompt": r.text,
                "command": r.command,
                "api_calls": r.api_calls,
                "tools": r.tools,
                "retries": r.retries,
                "errors": r.errors,
                "tokens": r.tokens.as_dict(),
                "cache_ratio": round(r.cache_ratio, 6) if r.cache_ratio is not None else None,
                "cost_usd": usd(r.cost),
                "models": list(r.models),
            }
            for r in rows[:limit]
        ],
    }


def prompts_text(d: dict[str, Any]) -> str:
    """The same as lines of plain text (untrusted values cleaned)."""
    from .text import clean

    lines = [
        f"most expensive prompts  ({d['prompts_total']} prompts, ${d['cost_usd_total']:.4f}; "
        f"cost = {d['cost_source']}, Claude Code's own estimate)",
        "",
    ]
    lines.append(
        f"{'cost':>10}  {'time':<24} {'calls':>5} {'tools':>5} {'err':>3} {'tokens':>9} {'cache':>6}  session / prompt"
    )
    for p in d["prompts"]:
        tk = sum(p["tokens"].values())
        cache = "-" if p["cache_ratio"] is None else f"{p['cache_ratio'] * 100:.1f}%"
        length = p["prompt_length"] if p["prompt_length"] is not None else "?"
        what = p["prompt"] if p["prompt"] is not None else (f"/{p['command']}" if p["command"] else f"({length} chars)")
        what = clean(what).replace("\n", " ")
        if len(what) > 60:
            what = what[:59] + "…"
        lines.append(
            f"{'$' + format(p['cost_usd'], '.4f'):>10}  {p['time'] or '-':<24} {p['api_calls']:>5} "
            f"{p['tools']:>5} {p['errors']:>3} {tk:>9,} {cache:>6}  {clean(p['session_id'])[:8]} "
            f"{clean(p['prompt_id'])[:8]} {what}"
        )
    return "\n".join(lines)
