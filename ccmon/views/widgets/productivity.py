"""Productivity: lines, commits, PRs, active time, and what each of them cost."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from ...model.session_state import MIN_RATE_SPAN_S
from ...model.snapshot import Snapshot
from .. import fmt
from .pane import Pane, columns

MIN_ACTIVE_S = MIN_RATE_SPAN_S  # an hourly rate from less active time than this says nothing


def _per(cost: float, n: float) -> Text:
    """``$0.2988 (all spend ÷ 5)``: the whole spend (sessions without commits too) over the
    count, and labelled so: it is not what a commit cost."""
    if n <= 0:
        return Text(fmt.DASH, "dim")
    return Text.assemble(fmt.usd(cost / n), (f" (all spend ÷ {fmt.count(n)})", "dim"))


class ProductivityPane(Pane):
    TITLE = "Productivity"
    RANGED = True

    def select(self, snap: Snapshot) -> Any:
        return (
            snap.cost_total,
            snap.lines_added,
            snap.lines_removed,
            snap.commits,
            snap.pull_requests,
            snap.active_user_s,
            snap.active_cli_s,
            snap.sessions_started,
        )

    def draw(self, data: Any, width: int) -> Text:
        cost, added, removed, commits, prs, user_s, cli_s, started = data
        # Claude Code counts keyboard time (user) and CLI busy time (cli) separately; an
        # "active hour" is either.
        active_h = (user_s + cli_s) / 3600
        rows: list[tuple[str, str | Text]] = [
            ("Lines", Text.assemble((f"+{fmt.count(added)}", "green"), " ", (f"−{fmt.count(removed)}", "red"))),
            ("Commits", f"{fmt.plural(commits, 'commit')} · {fmt.plural(prs, 'PR')}"),
            ("$/commit", _per(cost, commits)),
            ("$/PR", _per(cost, prs)),
            ("Active", f"user {fmt.seconds(user_s)} · cli {fmt.seconds(cli_s)}"),
            (
                "$/active h",
                fmt.usd(cost / active_h)
                if user_s + cli_s >= MIN_ACTIVE_S
                else Text(f"{fmt.DASH} (from 5 min active)", "dim"),
            ),
            ("Sessions", f"{fmt.count(started)} started"),
        ]
        return columns([(Text(label, "dim"), value) for label, value in rows], "ll")
