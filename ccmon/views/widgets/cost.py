"""Cost: total, today, burn rate ($/h over 5 min and 1 h), cost per model, $/min sparkline.
``~`` marks totals that include provisional API calls (``model.provisional``), with a line saying how much."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from ...model.snapshot import ModelRow, Snapshot
from .. import fmt, safe
from .pane import Pane, columns, fit
from .sparkline import scaled

MODEL_ROWS = 4  # the pane is a glance: the top models, then one "(N more)" row


def _models(models: tuple[ModelRow, ...]) -> tuple[tuple[str, float], ...]:
    rows = [(m.model, m.cost) for m in models]
    if len(rows) > MODEL_ROWS:
        rest = rows[MODEL_ROWS - 1 :]
        rows = rows[: MODEL_ROWS - 1] + [(f"({len(rest)} more)", sum(c for _, c in rest))]
    return tuple(rows)


class CostPane(Pane):
    TITLE = "Cost"
    RANGED = True

    def select(self, snap: Snapshot) -> Any:
        return (
            snap.cost_total,
            snap.cost_today,
            snap.burn_5m,
            snap.burn_1h,
            snap.cost_per_minute,
            _models(snap.models),
            (snap.provisional_cost, snap.provisional_calls) if snap.provisional_included else (0.0, 0),
        )

    def draw(self, data: Any, width: int) -> Text:
        total, today, burn_5m, burn_1h, per_minute, models, (prov_cost, prov_calls) = data
        prov = prov_calls > 0
        out = columns(
            [
                (
                    Text("Total", "dim"),
                    Text(fmt.marked(fmt.usd(total), prov), "bold"),
                    Text("today", "dim"),
                    fmt.marked(fmt.usd(today), prov),
                ),
                (Text("Burn 5m", "dim"), Text(fmt.per_hour(burn_5m), "bold"), Text("1h", "dim"), fmt.per_hour(burn_1h)),
            ],
            "lrlr",
            gap=2,
        )
        if prov:
            # Why the ~: these calls' cost is Claude Code's own per-call figure; the metric's
            # next export (every 60 s by default) replaces it.
            out.append("\n")
            out.append(f"~ incl. {fmt.usd(prov_cost)} from {fmt.plural(prov_calls, 'call')}", "dim")
        if models:
            name_width = max(width - 16, 8)  # room for "  $0.0000  100%"
            rows = [
                (
                    fit(safe.text(name, "cyan"), name_width),
                    fmt.usd(cost),
                    Text(f"{cost / total:.0%}" if total > 0 else fmt.DASH, "dim"),
                )
                for name, cost in models
            ]
            out.append("\n")
            out.append_text(columns(rows, "lrr", gap=2))
        out.append("\n")
        head, line = scaled("$/min", per_minute, width, fmt.usd(max(per_minute[-max(width, 1) :], default=0.0)))
        out.append(head, "dim")
        out.append(line, "green")
        return out
