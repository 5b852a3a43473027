"""Tokens: per-minute rate and total by type, cache hit rate, cache reads per write, sparkline."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from ...model.names import TOKEN_TYPES
from ...model.snapshot import Snapshot
from .. import fmt
from .pane import Pane, columns
from .sparkline import scaled


class TokensPane(Pane):
    TITLE = "Tokens"
    RANGED = True

    def select(self, snap: Snapshot) -> Any:
        prov = snap.provisional_included and snap.provisional_tokens.total > 0
        return snap.tokens, snap.tokens_last_minute, snap.tokens_per_minute, prov

    def draw(self, data: Any, width: int) -> Text:
        total, last_minute, per_minute, prov = data
        rows: list[tuple[Text | str, ...]] = [(Text(""), Text("/min", "dim"), Text("total", "dim"))]
        for t in TOKEN_TYPES:
            rate, amount = fmt.count(getattr(last_minute, t)), fmt.marked(fmt.count(getattr(total, t)), prov)
            rows.append((Text(t, "dim"), rate, Text(amount, "bold")))
        out = columns(rows, "lrr", gap=3)
        out.append("\n")
        out.append_text(
            columns(
                [
                    (
                        Text("cache hit", "dim"),
                        Text(fmt.percent(total.cache_ratio), "bold"),
                        Text("reads/write", "dim"),
                        Text(fmt.ratio(total.reads_per_write), "bold"),
                    )
                ],
                "lrlr",
                gap=1,
            )
        )
        head, line = scaled("tok/min", per_minute, width, fmt.compact(max(per_minute[-max(width, 1) :], default=0.0)))
        out.append("\n" + head, "dim")
        out.append(line, "magenta")
        return out
