"""Pure roll-ups of a snapshot for the group-by and edit-decision panes.

* ``group_sessions``: cost and tokens per value of one dimension (``user.id``,
  ``terminal.type``, or any ``OTEL_RESOURCE_ATTRIBUTES`` key such as ``team``), from the
  labels each ``SessionRow`` carries.
* ``edit_rates``: accept rates of Write/Edit decisions, kept apart by who decided. ``config``
  (allow-lists, acceptEdits, bypass) and ``hook`` approve without asking anyone; only the
  ``user_*`` sources are a human accepting or rejecting an edit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .snapshot import EditRow, GroupRow, SessionRow, Tokens

UNSET = "(unset)"
# Identity dimensions first, in this order, when present; then every other label by name.
PREFERRED_DIMS = ("user.id", "user.email", "terminal.type")
GROUP_LIMIT = 50  # rows shown; the rest are summed into one "(N more)" row


def dimensions(available: Iterable[str]) -> tuple[str, ...]:
    """The dimensions a user can cycle through. ``user.id`` always, as sessions carry a user
    even without labels."""
    avail = set(available)
    first = tuple(d for d in PREFERRED_DIMS if d in avail or d == "user.id")
    return first + tuple(sorted(avail - set(first)))


def _value(s: SessionRow, dim: str) -> str:
    for k, v in s.labels:
        if k == dim:
            return v
    if dim == "user.id" and s.user:
        return s.user
    return UNSET


def _row(value: str, acc: list[float]) -> GroupRow:
    return GroupRow(value, int(acc[0]), acc[1], Tokens(*acc[2:]))


def _add(acc: list[float], sessions: float, cost: float, t: Tokens) -> None:
    acc[0] += sessions
    acc[1] += cost
    acc[2] += t.input
    acc[3] += t.output
    acc[4] += t.cacheRead
    acc[5] += t.cacheCreation


def group_sessions(sessions: Iterable[SessionRow], dim: str, limit: int = GROUP_LIMIT) -> tuple[GroupRow, ...]:
    """Sessions summed per value of ``dim``, most expensive first; beyond ``limit`` groups the
    rest are one row, so the pane stays bounded and the column still sums to the total."""
    # [sessions, cost, input, output, cacheRead, cacheCreation] per value, in plain floats:
    # this runs over every session on every refresh.
    acc: dict[str, list[float]] = {}
    for s in sessions:
        value = _value(s, dim)
        a = acc.get(value)
        if a is None:
            a = acc[value] = [0.0] * 6
        _add(a, 1, s.cost, s.tokens)
    rows = sorted((_row(v, a) for v, a in acc.items()), key=lambda r: (-r.cost, r.value))
    if len(rows) <= limit:
        return tuple(rows)
    head, rest = rows[: limit - 1], rows[limit - 1 :]
    other = [0.0] * 6
    for r in rest:
        _add(other, r.sessions, r.cost, r.tokens)
    return (*head, _row(f"({len(rest)} more)", other))


def is_human(source: str) -> bool:
    """``user_temporary``, ``user_permanent``, ``user_reject``, ``user_abort``: a person chose."""
    return source.startswith("user")


@dataclass(frozen=True, slots=True)
class Rate:
    accepted: float = 0.0
    total: float = 0.0

    @property
    def share(self) -> float | None:
        return self.accepted / self.total if self.total else None

    def plus(self, accepted: bool, n: float) -> Rate:
        return Rate(self.accepted + (n if accepted else 0.0), self.total + n)


@dataclass(frozen=True, slots=True)
class EditRates:
    label: str
    auto: Rate  # config / hook: approved without a person
    human: Rate  # user_*: a person accepted or rejected


def edit_rates(rows: Iterable[EditRow], by: str) -> tuple[EditRates, ...]:
    """Accept rates per ``by`` ("tool" or "language"; anything else: one row for all edits),
    most decisions first."""
    acc: dict[str, tuple[Rate, Rate]] = {}
    for r in rows:
        label = r.tool if by == "tool" else r.language if by == "language" else "all"
        auto, human = acc.get(label, (Rate(), Rate()))
        accepted = r.decision == "accept"
        if is_human(r.source):
            human = human.plus(accepted, r.count)
        else:
            auto = auto.plus(accepted, r.count)
        acc[label] = (auto, human)
    out = (EditRates(k, a, h) for k, (a, h) in acc.items())
    return tuple(sorted(out, key=lambda e: (-(e.auto.total + e.human.total), e.label)))
