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


def _add(a: Tokens, b: Tokens) -> Tokens:
    return Tokens(a.input + b.input, a.output + b.output, a.cacheRead + b.cacheRead,
                  a.cacheCreation + b.cacheCreation)


def group_sessions(sessions: Iterable[SessionRow], dim: str, limit: int = GROUP_LIMIT) -> tuple[GroupRow, ...]:
    """Sessions summed per value of ``dim``, most expensive first; beyond ``limit`` groups the
    rest are one row, so the pane stays bounded and the column still sums to the total."""
    acc: dict[str, list] = {}
    for s in sessions:
        g = acc.setdefault(_value(s, dim), [0, 0.0, Tokens()])
        g[0] += 1
        g[1] += s.cost
        g[2] = _add(g[2], s.tokens)
    rows = sorted((GroupRow(v, n, c, t) for v, (n, c, t) in acc.items()), key=lambda r: (-r.cost, r.value))
    if len(rows) <= limit:
        return tuple(rows)
    head, rest = rows[: limit - 1], rows[limit - 1:]
    tokens = Tokens()
    for r in rest:
        tokens = _add(tokens, r.tokens)
    other = GroupRow(f"({len(rest)} more)", sum(r.sessions for r in rest), sum(r.cost for r in rest), tokens)
    return (*head, other)


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

    def plus(self, accepted: bool, n: float) -> "Rate":
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
