"""A figure: one absolute number, the limit it is judged against, their ratio and the goal.

``limit`` is what the issue compares against. Where the issue names a reference to measure
(the decode-only server, a bare Textual app, a bare ``python -c pass``), the limit is that
reference *measured in the same run*, so machine noise moves both sides together. Where it
names a fixed budget (30 ms, 200 MB, 2 s, 0.15 s), the limit is that budget.
``detail`` carries the secondary numbers that explain a figure (CPU use, checks, baselines).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Figure:
    name: str
    value: float | None
    unit: str
    limit: float | None
    ratio: float | None
    goal: str
    met: bool | None  # None: no goal in the issue (an informational figure), or not measured
    detail: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _ratio(value: float | None, limit: float | None) -> float | None:
    if value is None or not limit:
        return None
    return value / limit


def at_most(
    name: str,
    value: float | None,
    unit: str,
    limit: float | None,
    *,
    max_ratio: float = 1.0,
    goal: str | None = None,
    **detail: Any,
) -> Figure:
    """Lower is better: met when value / limit <= max_ratio."""
    r = _ratio(value, limit)
    goal = goal or (f"≤ {max_ratio:g}× limit" if max_ratio != 1.0 else "≤ limit")
    return Figure(name, value, unit, limit, r, goal, None if r is None else r <= max_ratio, detail)


def at_least(
    name: str,
    value: float | None,
    unit: str,
    limit: float | None,
    *,
    min_ratio: float,
    goal: str | None = None,
    **detail: Any,
) -> Figure:
    """Higher is better: met when value / limit >= min_ratio."""
    r = _ratio(value, limit)
    goal = goal or f"≥ {min_ratio:g}× limit"
    return Figure(name, value, unit, limit, r, goal, None if r is None else r >= min_ratio, detail)


def info(
    name: str, value: float | None, unit: str, limit: float | None = None, goal: str = "(no goal)", **detail: Any
) -> Figure:
    return Figure(name, value, unit, limit, _ratio(value, limit), goal, None, detail)


def missing(name: str, unit: str, why: str) -> Figure:
    """A figure that could not be measured in this run (say why instead of leaving it out)."""
    return Figure(name, None, unit, None, None, "not measured", None, {"why": why})
