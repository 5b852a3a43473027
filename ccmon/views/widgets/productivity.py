"""Productivity: lines, commits, PRs, active time, and what each of them cost."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from ...model.snapshot import Snapshot
from .. import fmt
from .pane import Pane, columns


def _with_cost(what: str, cost: float, n: float) -> Text:
    """``5 commits · $0.2988 each``: what the whole spend bought, per unit."""
    out = Text(what)
    if n > 0:
        out.append(f" · {fmt.usd(cost / n)} each", "dim")
    return out


class ProductivityPane(Pane):
    TITLE = "Productivity"

    def select(self, snap: Snapshot) -> Any:
        return (snap.cost_total, snap.lines_added, snap.lines_removed, snap.commits, snap.pull_requests,
                snap.active_user_s, snap.active_cli_s, snap.sessions_started)

    def draw(self, data: Any, width: int) -> Text:
        cost, added, removed, commits, prs, user_s, cli_s, started = data
        # Claude Code counts keyboard time (user) and CLI busy time (cli) separately; an
        # "active hour" is either.
        active_h = (user_s + cli_s) / 3600
        rows: list[tuple[str, str | Text]] = [
            ("Lines", Text.assemble((f"+{fmt.count(added)}", "green"), " ", (f"−{fmt.count(removed)}", "red"))),
            ("Commits", _with_cost(fmt.plural(commits, "commit"), cost, commits)),
            ("PRs", _with_cost(fmt.plural(prs, "PR"), cost, prs)),
            ("Active", f"user {fmt.seconds(user_s)} · cli {fmt.seconds(cli_s)}"),
            ("$/active h", fmt.usd(cost / active_h) if active_h > 0 else fmt.DASH),
            ("Sessions", f"{fmt.count(started)} started"),
        ]
        return columns([(Text(label, "dim"), value) for label, value in rows], "ll")
