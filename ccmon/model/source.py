"""What the dashboard needs from a data source, whichever it is (OTLP store or Prometheus).

The views depend on this protocol and on ``snapshot`` types only; ``ccmon.compose`` picks the
implementation. A source is started and stopped on the app's event loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from .snapshot import Snapshot


@dataclass(frozen=True, slots=True)
class ApiCall:
    t_ns: int
    model: str
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_creation_tokens: int
    cost_usd: float
    duration_ms: float | None
    attempt: int | None = None


@dataclass(frozen=True, slots=True)
class ToolRun:
    t_ns: int
    tool: str
    success: bool | None
    duration_ms: float | None
    decision: str = ""  # accept / reject, when a decision event was seen
    source: str = ""


@dataclass(frozen=True, slots=True)
class ApiErrorRow:
    t_ns: int
    model: str
    status_code: str
    message: str
    attempt: int | None


@dataclass(frozen=True, slots=True)
class SessionDetail:
    """One session, for the drill-down screen. Lists are in time order."""

    key: str
    api_calls: tuple[ApiCall, ...] = ()
    tools: tuple[ToolRun, ...] = ()
    errors: tuple[ApiErrorRow, ...] = ()
    cost_over_time: tuple[tuple[int, float], ...] = ()  # (t_ns, cumulative USD)
    events_available: bool = True  # False in Prometheus mode: only cost_over_time is known
    truncated: bool = False  # the session had more events than were loaded
    interactions: tuple[tuple[int, int], ...] = ()  # (start, end) per prompt, from trace spans (beta)

    def interactions_line(self) -> str:
        """The trace spans in one line ("" without any): how long prompts took end to end."""
        if not self.interactions:
            return ""
        took = sorted(max(0, end - start) / 1e9 for start, end in self.interactions)
        median = took[(len(took) - 1) // 2]
        return (
            f"Traces: {len(took)} prompt(s) end to end, median {median:.1f} s, longest {took[-1]:.1f} s "
            "(Claude Code's tracing beta)"
        )


class Source(Protocol):
    """A live data source for the dashboard."""

    @property
    def version(self) -> int:
        """Changes whenever the next snapshot would differ; the app redraws only then."""
        ...

    @property
    def description(self) -> str:
        """Where the data comes from, for the status bar (endpoints or URL)."""
        ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def snapshot(self, now_ns: int | None = None) -> Snapshot: ...

    async def session_detail(self, key: str) -> SessionDetail | None: ...
